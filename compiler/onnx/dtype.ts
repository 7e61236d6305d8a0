/**
 * ONNX element types (TensorProto.DataType): names, sizes and the JS arrays that hold them.
 * Sub-byte types (4- and 2-bit) are packed; their `bits` is below 8.
 */
export enum DataType {
  UNDEFINED = 0, FLOAT = 1, UINT8 = 2, INT8 = 3, UINT16 = 4, INT16 = 5, INT32 = 6, INT64 = 7,
  STRING = 8, BOOL = 9, FLOAT16 = 10, DOUBLE = 11, UINT32 = 12, UINT64 = 13, COMPLEX64 = 14,
  COMPLEX128 = 15, BFLOAT16 = 16, FLOAT8E4M3FN = 17, FLOAT8E4M3FNUZ = 18, FLOAT8E5M2 = 19,
  FLOAT8E5M2FNUZ = 20, UINT4 = 21, INT4 = 22, FLOAT4E2M1 = 23, FLOAT8E8M0 = 24, UINT2 = 25, INT2 = 26,
}

export interface DataTypeInfo {
  readonly name: string;
  /** Bits per element; 0 for STRING (variable length). */
  readonly bits: number;
  /** The name onnxruntime-common uses for this type, where the Node binding supports it. */
  readonly ort?: string;
}

const INFO: Record<number, DataTypeInfo> = {
  [DataType.FLOAT]: { name: 'float32', bits: 32, ort: 'float32' },
  [DataType.UINT8]: { name: 'uint8', bits: 8, ort: 'uint8' },
  [DataType.INT8]: { name: 'int8', bits: 8, ort: 'int8' },
  [DataType.UINT16]: { name: 'uint16', bits: 16, ort: 'uint16' },
  [DataType.INT16]: { name: 'int16', bits: 16, ort: 'int16' },
  [DataType.INT32]: { name: 'int32', bits: 32, ort: 'int32' },
  [DataType.INT64]: { name: 'int64', bits: 64, ort: 'int64' },
  [DataType.STRING]: { name: 'string', bits: 0, ort: 'string' },
  [DataType.BOOL]: { name: 'bool', bits: 8, ort: 'bool' },
  [DataType.FLOAT16]: { name: 'float16', bits: 16, ort: 'float16' },
  [DataType.DOUBLE]: { name: 'float64', bits: 64, ort: 'float64' },
  [DataType.UINT32]: { name: 'uint32', bits: 32, ort: 'uint32' },
  [DataType.UINT64]: { name: 'uint64', bits: 64, ort: 'uint64' },
  [DataType.COMPLEX64]: { name: 'complex64', bits: 64 },
  [DataType.COMPLEX128]: { name: 'complex128', bits: 128 },
  [DataType.BFLOAT16]: { name: 'bfloat16', bits: 16 },
  [DataType.FLOAT8E4M3FN]: { name: 'float8e4m3fn', bits: 8 },
  [DataType.FLOAT8E4M3FNUZ]: { name: 'float8e4m3fnuz', bits: 8 },
  [DataType.FLOAT8E5M2]: { name: 'float8e5m2', bits: 8 },
  [DataType.FLOAT8E5M2FNUZ]: { name: 'float8e5m2fnuz', bits: 8 },
  [DataType.UINT4]: { name: 'uint4', bits: 4, ort: 'uint4' },
  [DataType.INT4]: { name: 'int4', bits: 4, ort: 'int4' },
  [DataType.FLOAT4E2M1]: { name: 'float4e2m1', bits: 4 },
  [DataType.FLOAT8E8M0]: { name: 'float8e8m0', bits: 8 },
  [DataType.UINT2]: { name: 'uint2', bits: 2 },
  [DataType.INT2]: { name: 'int2', bits: 2 },
};

export function dataTypeInfo(dtype: number): DataTypeInfo | undefined {
  return INFO[dtype];
}

export function dataTypeName(dtype: number): string {
  return INFO[dtype]?.name ?? `dtype#${dtype}`;
}

/** Bytes taken by `count` elements stored densely in raw_data (sub-byte types packed, rounded up). */
export function rawByteLength(dtype: number, count: number): number {
  const bits = INFO[dtype]?.bits ?? 0;
  return Math.ceil((count * bits) / 8);
}

export function isFloatType(dtype: number): boolean {
  return dtype === DataType.FLOAT || dtype === DataType.DOUBLE || dtype === DataType.FLOAT16 || dtype === DataType.BFLOAT16;
}

/** Looks an ONNX type up by its lor2c / ORT name ('float32', 'int64', ...). */
export function dataTypeFromName(name: string): DataType | undefined {
  for (const [k, v] of Object.entries(INFO)) if (v.name === name || v.ort === name) return Number(k) as DataType;
  return undefined;
}
