/**
 * Whether any element of a set of tensors is NaN or infinite, as one bool scalar: the sum of
 * every element, and whether it is finite. A NaN or infinity anywhere makes the sum NaN or infinite,
 * so a false flag proves every element finite; a true one may also be finite values whose sum
 * overflowed (the runtime then looks element by element). The graph's reductions are
 * vectorised and threaded, where a JS scan of a large step's outputs took longer than the
 * optimizer itself.
 */
import type { Emitter } from '../graph/emitter.ts';
import { DataType } from '../onnx/dtype.ts';

export function anyNonFinite(e: Emitter, values: readonly string[]): string {
  // Half values summed in float32, where their sum cannot overflow as soon.
  const wide = (v: string) => { const dt = e.dtype(v); return dt === undefined || dt === DataType.FLOAT ? v : e.op('Cast', [v], { to: DataType.FLOAT }); };
  const sums = values.map((v) => e.op('ReduceSum', [wide(v)], { keepdims: 0 }));
  const total = sums.length === 1 ? sums[0]! : e.op('Sum', sums);
  // |total| < inf is false for NaN and for either infinity, with ops of opset 7 (IsInf needs 10).
  return e.op('Not', [e.op('Less', [e.op('Abs', [total]), e.constant(Infinity, DataType.FLOAT)])]);
}

/** The metric output that carries the flag over a graph's updated values or gradients. */
export const NONFINITE = 'nonfinite';
