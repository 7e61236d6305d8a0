/** ValueInfoProto for a tensor of a given element type and shape (numbers: sizes, strings: symbolic dims). */
import { create, TensorShapeProtoSchema, TensorShapeProto_DimensionSchema, TypeProtoSchema, TypeProto_TensorSchema, ValueInfoProtoSchema, type ValueInfoProto } from './proto.ts';

export function makeValueInfo(name: string, elemType: number, shape: (number | string)[]): ValueInfoProto {
  const dim = shape.map((d) => create(TensorShapeProto_DimensionSchema, { value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d } }));
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, { value: { case: 'tensorType', value: create(TypeProto_TensorSchema, { elemType, shape: create(TensorShapeProtoSchema, { dim }) }) } }),
  });
}
