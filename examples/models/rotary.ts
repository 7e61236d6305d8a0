/**
 * Rotary position embeddings (LLaMA, Hugging Face's rotate_half convention): cos/sin tables
 * precomputed for every position as Constants, gathered by position id once per model, and
 * applied to queries and keys in every layer.
 */
import { DataType } from '../../compiler/onnx/index.ts';
import type { Net } from './net.ts';

export interface RotaryTables {
  /** [seq, headDim] */
  cos: string;
  sin: string;
}

/** cos/sin of position * inv_freq, inv_freq[i] = theta^(-2i/headDim), halves concatenated. */
export function rotaryTables(net: Net, positionIds: string, headDim: number, theta: number, maxPositions: number): RotaryTables {
  const half = headDim / 2;
  const cos = new Float32Array(maxPositions * headDim);
  const sin = new Float32Array(maxPositions * headDim);
  for (let p = 0; p < maxPositions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * theta ** (-(2 * i) / headDim);
      for (const j of [i, i + half]) {
        cos[p * headDim + j] = Math.cos(angle);
        sin[p * headDim + j] = Math.sin(angle);
      }
    }
  }
  const gather = (table: Float32Array) => net.op('Gather', [net.constant(DataType.FLOAT, [maxPositions, headDim], table), positionIds], { axis: 0 });
  return { cos: gather(cos), sin: gather(sin) };
}

/** x * cos + rotate_half(x) * sin for x [batch, heads, seq, headDim]; rotate_half(x) = cat(-x2, x1). */
export function applyRotary(net: Net, x: string, tables: RotaryTables, headDim: number): string {
  const half = headDim / 2;
  const x1 = net.op('Slice', [x, net.ints([0]), net.ints([half]), net.ints([-1]), net.ints([1])]);
  const x2 = net.op('Slice', [x, net.ints([half]), net.ints([headDim]), net.ints([-1]), net.ints([1])]);
  const rotated = net.op('Concat', [net.op('Neg', [x2]), x1], { axis: -1 });
  return net.op('Add', [net.op('Mul', [x, tables.cos]), net.op('Mul', [rotated, tables.sin])]);
}
