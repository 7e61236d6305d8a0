/**
 * LayerNorm and RMSNorm in the ops torch.onnx.export writes for them: one LayerNormalization
 * from opset 17, written out before (ReduceMean, Sub, Pow, Add, Sqrt, Div, Mul, Add), so block
 * discovery reads a lowered norm exactly as it reads a torch export's.
 */
import { float } from '../../graph/attributes.ts';
import type { Emitter } from '../../graph/emitter.ts';

export interface Normalized {
  y: string;
  /** The mean over the normalised axes (kept as size-1 axes); LayerNorm only. */
  mean?: string;
  /** 1 / sqrt(variance + epsilon), written on demand (kept axes). */
  invStd: () => string;
}

/** Which of the statistics a caller reads besides the normalised value. */
export interface Wanted {
  mean?: boolean;
  invStd?: boolean;
}

/**
 * (x - mean) / sqrt(var + eps) * scale + bias over `axes` (the trailing ones), or, when
 * `rms`, x / sqrt(mean(x^2) + eps) * scale. Constants take the element type of `like`.
 */
export function normalize(e: Emitter, x: string, like: string, axes: number[], epsilon: number, scale: string | undefined, bias: string | undefined, rms: boolean, wanted: Wanted = {}): Normalized {
  // From opset 17 a LayerNorm is one op, as torch writes it there (and as the fused model's
  // other norms are), when its statistics are not read.
  if (e.opset >= 17 && !rms && scale && !wanted.mean && !wanted.invStd && (axes.length === 1 || axes.every((a, i) => i === 0 || a === axes[i - 1]! + 1))) {
    const y = e.op('LayerNormalization', bias ? [x, scale, bias] : [x, scale], { axis: axes[0]!, epsilon: float(epsilon), stash_type: 1 });
    return { y, invStd: () => { throw new Error('internal error: the one-op LayerNorm was written without its statistics'); } };
  }
  let centred = x;
  let mean: string | undefined;
  if (!rms) {
    mean = e.reduceMean(x, axes, true);
    centred = e.op('Sub', [x, mean]);
  }
  const variance = e.reduceMean(e.op('Pow', [centred, e.constLike(2, like)]), axes, true);
  const std = e.op('Sqrt', [e.op('Add', [variance, e.constLike(epsilon, like)])]);
  let y = e.op('Div', [centred, std]);
  if (scale) y = e.op('Mul', [y, scale]);
  if (bias) y = e.op('Add', [y, bias]);
  let invStd: string | undefined;
  return { y, ...(mean ? { mean } : {}), invStd: () => (invStd ??= e.op('Reciprocal', [std])) };
}
