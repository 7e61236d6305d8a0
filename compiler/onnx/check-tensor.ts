/**
 * What a TensorProto read from an untrusted file must satisfy before anything looks at its
 * values: a rank and dims a machine can hold (counted exactly, so no product overflows into
 * Infinity or NaN), a known element type, and exactly as much data as its dims say, held in
 * raw_data or in the one typed field ONNX assigns to its type. A tensor with dims but no data
 * is refused rather than read as zeros: it is a damaged or half-written file, and zeros would
 * train silently (or, for large dims, be written out as gigabytes of weights).
 */
import { DataLocation, type TensorProto } from './proto.ts';
import { DataType, dataTypeInfo, dataTypeName, rawByteLength } from './dtype.ts';
import { UserError } from '../../contract/errors.ts';

export interface TensorLimits {
  /** Largest number of elements one tensor may declare. */
  maxElements: number;
  /** Largest rank a tensor may declare. */
  maxRank: number;
}

/** Rank, dims and element type; `name` says which tensor, where, in which file. */
export function checkTensorHeader(t: TensorProto, name: string, limits: TensorLimits): void {
  if (t.dims.length > limits.maxRank) throw new UserError(`${name} has rank ${t.dims.length}, over the limit of ${limits.maxRank}`);
  const max = BigInt(limits.maxElements);
  const absurd = 'the file is corrupt or not a model lor2c can hold';
  // Counted in bigint: in doubles, 2^62 x ... x 0 overflows to Infinity x 0 = NaN, which passes every comparison.
  let count = 1n;
  for (const d of t.dims) {
    if (d < 0n) throw new UserError(`${name} has a negative dimension ${d} (dims ${t.dims.join('x')})`, 'the file is corrupt: ONNX dims are never negative');
    if (d > max) throw new UserError(`${name} has a dimension of ${d} (dims ${t.dims.join('x')}), an absurd size`, absurd);
    count *= d;
  }
  if (count > max) throw new UserError(`${name} declares ${count} elements (dims ${t.dims.join('x')}), an absurd size (the limit is ${limits.maxElements})`, absurd);
  if (t.dataType === DataType.UNDEFINED) throw new UserError(`${name} has no data type (UNDEFINED)`, 'the file is corrupt: every ONNX tensor states its element type');
  if (!dataTypeInfo(t.dataType)) throw new UserError(`${name} has unknown data type ${t.dataType}`);
}

/** The typed field ONNX stores each element type in when raw_data is not used. */
type TypedField = 'floatData' | 'doubleData' | 'int32Data' | 'int64Data' | 'uint64Data' | 'stringData';
const TYPED_FIELDS: readonly TypedField[] = ['floatData', 'doubleData', 'int32Data', 'int64Data', 'uint64Data', 'stringData'];

function typedFieldOf(dtype: DataType): TypedField {
  switch (dtype) {
    case DataType.FLOAT: case DataType.COMPLEX64: return 'floatData';
    case DataType.DOUBLE: case DataType.COMPLEX128: return 'doubleData';
    case DataType.INT64: return 'int64Data';
    case DataType.UINT32: case DataType.UINT64: return 'uint64Data';
    case DataType.STRING: return 'stringData';
    // int32_data holds the 8- and 16-bit integers, bool, float16/bfloat16/float8 bit patterns, and packed sub-byte types.
    default: return 'int32Data';
  }
}

/** Entries the typed field needs for `count` elements. */
function typedEntries(dtype: DataType, count: number): number {
  if (dtype === DataType.COMPLEX64 || dtype === DataType.COMPLEX128) return 2 * count;
  const bits = dataTypeInfo(dtype)?.bits ?? 8;
  // Sub-byte types are packed into int32_data one byte per entry (ONNX: "packed to 4bitx2").
  return bits > 0 && bits < 8 ? rawByteLength(dtype, count) : count;
}

const FIELD_NAMES: Record<TypedField, string> = {
  floatData: 'float_data', doubleData: 'double_data', int32Data: 'int32_data', int64Data: 'int64_data', uint64Data: 'uint64_data', stringData: 'string_data',
};

/**
 * The tensor's data matches its header: after external data is loaded (deferred tensors were
 * sized when they were deferred), exactly one field holds it, the right one for its type, with
 * exactly the entries its dims need. A tensor of zero elements needs no data.
 */
export function checkTensorData(t: TensorProto, name: string): void {
  if (t.dataLocation === DataLocation.EXTERNAL) return; // deferred: its byte range was checked against its dims
  const dtype = t.dataType as DataType;
  let count = 1;
  for (const d of t.dims) count *= Number(d); // bounded by checkTensorHeader
  const shape = `${dataTypeName(dtype)}[${t.dims.join(',')}]`;
  const filled = TYPED_FIELDS.filter((f) => t[f].length > 0);
  const holders = [...(t.rawData.length > 0 ? ['raw_data'] : []), ...filled.map((f) => FIELD_NAMES[f])];
  if (holders.length > 1) {
    throw new UserError(`${name} holds data in several fields (${holders.join(', ')}); ONNX allows one`, 'the file is corrupt, or was written by a broken exporter');
  }
  if (holders.length === 0) {
    if (count === 0) return;
    throw new UserError(`${name} declares ${shape} but holds no data`, 'the file is damaged or was written without its weights: re-export the model (weights in the file or as external data)');
  }
  if (t.rawData.length > 0) {
    if (dtype === DataType.STRING) throw new UserError(`${name} is a string tensor stored in raw_data, which ONNX does not allow`);
    const want = rawByteLength(dtype, count);
    if (t.rawData.length !== want) throw new UserError(`${name} has ${t.rawData.length} bytes of data but ${shape} needs ${want}`);
    return;
  }
  const field = filled[0]!;
  const expected = typedFieldOf(dtype);
  if (field !== expected) {
    throw new UserError(`${name} is ${dataTypeName(dtype)} but holds its data in ${FIELD_NAMES[field]} (ONNX stores ${dataTypeName(dtype)} in ${FIELD_NAMES[expected]} or raw_data)`, 'the file is corrupt, or was written by a broken exporter');
  }
  const want = typedEntries(dtype, count);
  if (t[field].length !== want) throw new UserError(`${name} has ${t[field].length} entries in ${FIELD_NAMES[field]} but ${shape} needs ${want}`);
}
