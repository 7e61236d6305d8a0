/**
 * Examples -> one batch of onnxruntime tensors. Symbolic dims take the longest size in the
 * batch and shorter examples are padded at the end with the input's pad value (0 for ids and
 * attention masks, the ignore index for LM labels: see schema.ts). Every input's dim named by one
 * symbol gets that symbol's one size: the train graph relies on it, reading symbolic sizes off
 * whichever batch input carries them (compiler/graph/emitter.ts, readSizesFrom).
 */
import { tensor, type TensorValue } from '../engine/engine.ts';
import type { CheckedExample, DataSchema, InputSpec } from './schema.ts';

export interface Batch {
  feeds: Record<string, TensorValue>;
  /** Number of examples. */
  examples: number;
  /** Sum of the examples' lengths (largest symbolic dim), the tokens of tokens/s; 0 without sequence dims. */
  tokens: number;
}

export function collate(examples: readonly CheckedExample[], schema: DataSchema): Batch {
  if (examples.length === 0) throw new Error('collate: an empty batch');
  const sizes: Record<string, number> = {};
  for (const ex of examples) for (const [sym, n] of Object.entries(ex.sizes)) sizes[sym] = Math.max(sizes[sym] ?? 0, n);
  const feeds: Record<string, TensorValue> = {};
  for (const spec of schema.inputs) {
    if (typeof spec.batchDim === 'number' && spec.batchDim !== examples.length) {
      throw new Error(`input '${spec.name}' has a fixed batch size of ${spec.batchDim}, but the batch has ${examples.length} examples`);
    }
    feeds[spec.name] = tensorFor(spec, examples, sizes);
  }
  return { feeds, examples: examples.length, tokens: examples.reduce((s, e) => s + e.length, 0) };
}

function tensorFor(spec: InputSpec, examples: readonly CheckedExample[], sizes: Record<string, number>): TensorValue {
  const dims = spec.dims.map((d) => (typeof d === 'number' ? d : sizes[d] ?? 0));
  const perExample = dims.reduce((a, b) => a * b, 1);
  const total = perExample * examples.length;
  // Strides of the padded layout, so each example's nested arrays land at the right place.
  const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const shape = [examples.length, ...dims];
  switch (spec.dtype) {
    case 'int64': {
      const data = new BigInt64Array(total).fill(BigInt(spec.pad));
      examples.forEach((ex, i) => fill(ex.values[spec.key], 0, i * perExample, strides, (at, v) => (data[at] = BigInt(v as number))));
      return tensor('int64', data, shape);
    }
    case 'bool': {
      const data = new Uint8Array(total).fill(spec.pad ? 1 : 0);
      examples.forEach((ex, i) => fill(ex.values[spec.key], 0, i * perExample, strides, (at, v) => (data[at] = v ? 1 : 0)));
      return tensor('bool', data, shape);
    }
    default: {
      const Cls = spec.dtype === 'float32' ? Float32Array : spec.dtype === 'float64' ? Float64Array : Int32Array;
      const data = new Cls(total).fill(spec.pad);
      examples.forEach((ex, i) => fill(ex.values[spec.key], 0, i * perExample, strides, (at, v) => (data[at] = v as number)));
      return tensor(spec.dtype, data, shape);
    }
  }
}

function fill(v: unknown, depth: number, at: number, strides: number[], put: (at: number, v: unknown) => void): void {
  if (depth === strides.length) {
    put(at, v);
    return;
  }
  const items = v as unknown[];
  for (let i = 0; i < items.length; i++) fill(items[i], depth + 1, at + i * strides[depth]!, strides, put);
}
