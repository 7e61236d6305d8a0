/**
 * TensorProto <-> JavaScript arrays. ONNX stores tensor contents either densely in raw_data
 * (little endian) or in one of the typed repeated fields; these helpers hide the difference.
 */
import { create, DataLocation, TensorProtoSchema, type TensorProto } from './proto.ts';
import { deferredBytes, pagedElements, readDeferred } from './deferred.ts';
import { DataType, dataTypeName, rawByteLength } from './dtype.ts';
import { UserError } from '../../contract/errors.ts';

export type NumericArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

export function elementCount(dims: readonly (number | bigint)[]): number {
  let n = 1;
  for (const d of dims) n *= Number(d);
  return n;
}

export function tensorDims(t: TensorProto): number[] {
  return t.dims.map(Number);
}

/** The typed-array class that views raw bytes of this element type (packed and 8-bit float types: bytes). */
function arrayClass(dtype: number) {
  switch (dtype) {
    case DataType.FLOAT: case DataType.COMPLEX64: return Float32Array;
    case DataType.DOUBLE: case DataType.COMPLEX128: return Float64Array;
    case DataType.INT8: return Int8Array;
    case DataType.INT16: return Int16Array;
    case DataType.UINT16: case DataType.FLOAT16: case DataType.BFLOAT16: return Uint16Array;
    case DataType.INT32: return Int32Array;
    case DataType.UINT32: return Uint32Array;
    case DataType.INT64: return BigInt64Array;
    case DataType.UINT64: return BigUint64Array;
    default: return Uint8Array;
  }
}

/** Number of array elements per tensor element (complex types hold two floats). */
function lanes(dtype: number): number {
  return dtype === DataType.COMPLEX64 || dtype === DataType.COMPLEX128 ? 2 : 1;
}

/**
 * The dense little-endian bytes of a tensor, whichever field holds them. External data must
 * be loaded (readModel does that) or deferred (then it is read from its file, each call
 * anew: callers that only look should not keep it). STRING tensors have no dense form and throw.
 */
export function tensorRawBytes(t: TensorProto): Uint8Array {
  if (t.dataType === DataType.STRING) throw new UserError(`tensor '${t.name}' holds strings, which have no raw byte form`);
  if (t.rawData.length > 0) return t.rawData;
  if (t.dataLocation === DataLocation.EXTERNAL) {
    const d = deferredBytes(t);
    if (!d) throw new UserError(`tensor '${t.name}' refers to external data that was never read`, 'read the model from its file with readModel');
    return readDeferred(d);
  }
  const count = elementCount(t.dims) * lanes(t.dataType);
  const Cls = arrayClass(t.dataType);
  const dtype = t.dataType;
  let out: NumericArray;
  if (t.floatData.length) out = Float32Array.from(t.floatData);
  else if (t.doubleData.length) out = Float64Array.from(t.doubleData);
  else if (t.int64Data.length) out = BigInt64Array.from(t.int64Data);
  else if (t.uint64Data.length) {
    out = Cls === BigUint64Array ? BigUint64Array.from(t.uint64Data) : Uint32Array.from(t.uint64Data, Number);
  } else if (t.int32Data.length) {
    // int32_data holds one element per entry, except packed sub-byte types, which hold one byte.
    if (Cls === Uint8Array && rawByteLength(dtype, count) !== count) out = Uint8Array.from(t.int32Data);
    else out = (Cls as typeof Int32Array).from(t.int32Data);
  } else if (count === 0) {
    out = new Uint8Array(0);
  } else {
    // readModel refuses such tensors in files; one built in memory without data is a bug, not zeros.
    throw new Error(`internal error: tensor '${t.name}' declares ${dataTypeName(dtype)}[${t.dims.join(',')}] but holds no data`);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * The tensor's elements as a typed array (a copy when the raw bytes are not aligned).
 * float16/bfloat16 come back as their uint16 bit patterns, bool as uint8.
 */
export function tensorArray(t: TensorProto): NumericArray {
  const bytes = tensorRawBytes(t);
  const Cls = arrayClass(t.dataType);
  const size = Cls.BYTES_PER_ELEMENT;
  if (bytes.byteLength % size !== 0) {
    throw new UserError(`tensor '${t.name}' (${dataTypeName(t.dataType)}) has ${bytes.byteLength} bytes, not a multiple of ${size}`);
  }
  if (bytes.byteOffset % size === 0) return new Cls(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / size);
  // Copy into a fresh, aligned buffer (Buffer.prototype.slice would only make a view).
  return new Cls(new Uint8Array(bytes).buffer as ArrayBuffer);
}

/**
 * The tensor's elements for looking, not keeping: tensorArray for a tensor in memory; for a
 * deferred one (bytes left in the base model's data file), a view that reads pages on demand.
 */
export function tensorElements(t: TensorProto): ArrayLike<number | bigint> {
  const d = deferredBytes(t);
  if (!d || t.dataType === DataType.STRING) return tensorArray(t);
  return pagedElements(d, arrayClass(t.dataType) as unknown as Parameters<typeof pagedElements>[1]);
}

/** tensorArray as plain numbers (int64 converted; precision beyond 2^53 is lost). */
export function tensorNumbers(t: TensorProto): number[] {
  return Array.from(tensorArray(t) as ArrayLike<number | bigint>, Number);
}

/** A new TensorProto holding `data` as raw_data. */
export function makeTensor(name: string, dtype: DataType, dims: readonly number[], data: NumericArray | Uint8Array): TensorProto {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return create(TensorProtoSchema, { name, dataType: dtype, dims: dims.map(BigInt), rawData: bytes as Uint8Array<ArrayBuffer> });
}

export function scalarTensor(name: string, dtype: DataType.FLOAT | DataType.INT64 | DataType.DOUBLE | DataType.INT32, value: number, dims: number[] = []): TensorProto {
  const n = elementCount(dims);
  if (dtype === DataType.INT64) return makeTensor(name, dtype, dims, new BigInt64Array(n).fill(BigInt(value)));
  if (dtype === DataType.INT32) return makeTensor(name, dtype, dims, new Int32Array(n).fill(value));
  if (dtype === DataType.DOUBLE) return makeTensor(name, dtype, dims, new Float64Array(n).fill(value));
  return makeTensor(name, dtype, dims, new Float32Array(n).fill(value));
}

/** Byte size of a tensor's contents (for parameter reports and the external-data threshold). */
export function tensorByteLength(t: TensorProto): number {
  if (t.dataType === DataType.STRING) return t.stringData.reduce((s, x) => s + x.length, 0);
  return rawByteLength(t.dataType, elementCount(t.dims)); // a complex element's bits cover both of its parts
}
