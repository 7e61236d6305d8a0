/** Running models in onnxruntime-node from tests. */
import * as ort from 'onnxruntime-node';
import { dataTypeInfo, tensorArray, type TensorProto } from '../../compiler/onnx/index.ts';
import { DataType } from '../../compiler/onnx/dtype.ts';

// ORT warns about harmless things in corpus models (initializers listed as inputs); keep test output readable.
ort.env.logLevel = 'error';

/** An ort.Tensor with the contents of a TensorProto, or undefined for types the Node binding lacks. */
export function ortTensor(t: TensorProto): ort.Tensor | undefined {
  const type = dataTypeInfo(t.dataType)?.ort;
  if (!type || t.dataType === DataType.STRING) {
    if (t.dataType === DataType.STRING) return new ort.Tensor('string', t.stringData.map((s) => new TextDecoder().decode(s)), t.dims.map(Number));
    return undefined;
  }
  if (type === 'int4' || type === 'uint4') return undefined;
  const data = tensorArray(t);
  const values = t.dataType === DataType.BOOL ? Uint8Array.from(data as Uint8Array) : data;
  return new ort.Tensor(type as 'float32', values as Float32Array, t.dims.map(Number));
}

export async function runModel(model: Uint8Array | string, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** Largest absolute difference between two tensors' values (Infinity when shapes differ). */
export function maxAbsDiff(a: ort.Tensor, b: ort.Tensor): number {
  if (a.dims.join() !== b.dims.join()) return Infinity;
  let worst = 0;
  const x = a.data as ArrayLike<number | bigint>;
  const y = b.data as ArrayLike<number | bigint>;
  for (let i = 0; i < x.length; i++) {
    const xi = Number(x[i]);
    const yi = Number(y[i]);
    if (Number.isNaN(xi) && Number.isNaN(yi)) continue;
    if (xi === yi) continue;
    worst = Math.max(worst, Math.abs(xi - yi));
  }
  return worst;
}
