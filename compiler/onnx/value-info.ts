/**
 * ValueInfoProto for a tensor of a given element type and shape (numbers: sizes, strings:
 * symbolic dims, null: a dim left unnamed). Without a shape, the rank is left unknown.
 */
import { create, TensorShapeProtoSchema, TensorShapeProto_DimensionSchema, TypeProtoSchema, TypeProto_TensorSchema, ValueInfoProtoSchema, type ValueInfoProto } from './proto.ts';

export function makeValueInfo(name: string, elemType: number, shape?: readonly (number | string | null)[]): ValueInfoProto {
  const dims = shape?.map((d) =>
    create(TensorShapeProto_DimensionSchema, {
      value: d === null ? { case: undefined } : typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d },
    }),
  );
  const tensor = create(TypeProto_TensorSchema, dims ? { elemType, shape: create(TensorShapeProtoSchema, { dim: dims }) } : { elemType });
  return create(ValueInfoProtoSchema, { name, type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensor } }) });
}
