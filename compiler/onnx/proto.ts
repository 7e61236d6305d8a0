/**
 * The ONNX protobuf schema, generated from ONNX 1.20 (IR 13) by protobuf-es (package onnx-buf).
 * Every other module imports ONNX message types from here, so the choice of protobuf library
 * stays in one place (see docs/decisions/onnx-protobuf.md).
 */
export {
  type AttributeProto,
  AttributeProtoSchema,
  AttributeProto_AttributeType as AttributeType,
  type FunctionProto,
  type GraphProto,
  GraphProtoSchema,
  type ModelProto,
  ModelProtoSchema,
  type NodeProto,
  NodeProtoSchema,
  type OperatorSetIdProto,
  OperatorSetIdProtoSchema,
  type SparseTensorProto,
  type StringStringEntryProto,
  StringStringEntryProtoSchema,
  type TensorProto,
  TensorProtoSchema,
  TensorProto_DataLocation as DataLocation,
  type TensorShapeProto,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  type TypeProto,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from 'onnx-buf';
export { create, clone, fromBinary, toBinary } from '@bufbuild/protobuf';

/**
 * A shallow copy of a protobuf message with some fields changed. ONNX's schema is proto2:
 * protobuf-es keeps default values on the message's prototype and marks a field present by
 * making it an own property, so a plain `{...msg}` would lose the prototype and turn every
 * unset field into a present one. Scalar fields equal to the original keep their presence.
 */
export function copyMessage<T extends object>(msg: T, changes: Partial<T> = {}): T {
  const out = Object.assign(Object.create(Object.getPrototypeOf(msg)) as T, msg);
  for (const key of Object.keys(changes) as (keyof T)[]) {
    const value = changes[key];
    if (value !== msg[key]) out[key] = value as T[keyof T];
  }
  return out;
}
