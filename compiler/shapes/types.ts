/**
 * ValueType: what inference knows about a tensor (element type and, where known, shape), and
 * its conversion to and from ONNX's ValueInfoProto / TypeProto.
 */
import {
  copyMessage, create, TensorShapeProto_DimensionSchema, TensorShapeProtoSchema, TypeProto_TensorSchema, TypeProtoSchema, ValueInfoProtoSchema,
  type TensorProto, type TypeProto, type ValueInfoProto,
} from '../onnx/proto.ts';
import { DataType } from '../onnx/dtype.ts';
import { normalizeDim, type Dim } from './dim.ts';

export type { Dim } from './dim.ts';

export interface ValueType {
  /** DataType; UNDEFINED (0) when not known. */
  dtype: number;
  /** undefined = unknown rank. */
  shape?: Dim[];
}

export const UNKNOWN: ValueType = Object.freeze({ dtype: DataType.UNDEFINED }) as ValueType;

/** The tensor type a TypeProto declares (undefined for sequences, maps, optionals or no type). */
export function valueTypeFromTypeProto(t: TypeProto | undefined): ValueType | undefined {
  if (!t || t.value.case !== 'tensorType') return undefined;
  const tt = t.value.value;
  const type: ValueType = { dtype: tt.elemType };
  if (tt.shape) {
    let n = 0;
    type.shape = tt.shape.dim.map((d) => {
      if (d.value.case === 'dimValue') return Number(d.value.value);
      if (d.value.case === 'dimParam' && d.value.value !== '') return normalizeDim(d.value.value);
      // A dimension with neither value nor name: unknown but distinct from every other.
      return `?${n++}`;
    });
  }
  return type;
}

/** The type a ValueInfoProto declares (undefined for non-tensor or untyped values). */
export function valueTypeFromInfo(v: ValueInfoProto): ValueType | undefined {
  return valueTypeFromTypeProto(v.type);
}

export function valueTypeOfTensor(t: TensorProto): ValueType {
  return { dtype: t.dataType, shape: t.dims.map(Number) };
}

/** A TypeProto for this type; anonymous dims ('?n' and unknowns) are written with neither value nor name. */
export function typeProtoFromValueType(type: ValueType): TypeProto {
  const tensor = create(TypeProto_TensorSchema, { elemType: type.dtype });
  if (type.shape) {
    tensor.shape = create(TensorShapeProtoSchema, {
      dim: type.shape.map((d) => {
        if (typeof d === 'number') return create(TensorShapeProto_DimensionSchema, { value: { case: 'dimValue', value: BigInt(d) } });
        if (d.startsWith('?')) return create(TensorShapeProto_DimensionSchema, {});
        return create(TensorShapeProto_DimensionSchema, { value: { case: 'dimParam', value: d } });
      }),
    });
  }
  return create(TypeProtoSchema, { value: { case: 'tensorType', value: tensor } });
}

/** A ValueInfoProto for `name` with this type (keeping the doc string and other fields of `previous`). */
export function valueInfoFromType(name: string, type: ValueType, previous?: ValueInfoProto): ValueInfoProto {
  const typeProto = typeProtoFromValueType(type);
  if (previous) return copyMessage(previous, { name, type: typeProto });
  return create(ValueInfoProtoSchema, { name, type: typeProto });
}

export function formatShape(shape: readonly Dim[] | undefined): string {
  return shape ? `[${shape.join(', ')}]` : '[?]';
}

export function sameType(a: ValueType, b: ValueType): boolean {
  if (a.dtype !== b.dtype) return false;
  if (!a.shape || !b.shape) return a.shape === b.shape;
  return a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape![i]);
}
