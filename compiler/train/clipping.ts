/**
 * Global-norm gradient clipping, like torch.nn.utils.clip_grad_norm_ (norm type 2):
 *   total = || [||g_1||, ..., ||g_n||] ||,  coef = min(max_norm / (total + 1e-6), 1),  g_i <- g_i coef
 */
import { DataType } from '../onnx/dtype.ts';
import type { Emitter } from '../graph/emitter.ts';

/** The global L2 norm (float32 scalar) of a set of gradients. */
export function globalNorm(e: Emitter, grads: readonly string[]): string {
  const norms = grads.map((g) => e.op('Reshape', [e.op('Cast', [e.op('ReduceL2', [g], { keepdims: 0 })], { to: DataType.FLOAT }), e.ints([1])]));
  return e.op('ReduceL2', [norms.length === 1 ? norms[0]! : e.op('Concat', norms, { axis: 0 })], { keepdims: 0 });
}

/** Scales every gradient by the clip coefficient; returns the clipped gradients and the pre-clip norm. */
export function clipByGlobalNorm(e: Emitter, grads: readonly { grad: string; dtype: number }[], maxNorm: number): { grads: string[]; norm: string } {
  const norm = globalNorm(e, grads.map((g) => g.grad));
  const f = (v: number) => e.constant(v, DataType.FLOAT);
  const coef = e.op('Min', [e.op('Div', [f(maxNorm), e.op('Add', [norm, f(1e-6)])]), f(1)]);
  return { grads: grads.map((g) => e.op('Mul', [g.grad, g.dtype === DataType.FLOAT ? coef : e.op('Cast', [coef], { to: g.dtype })])), norm };
}
