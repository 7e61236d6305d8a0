/**
 * Optimizer updates as plain ops, step for step like torch.optim (1.13, single-tensor path).
 * Per-step scalars (learning rate, bias corrections) are computed in float64 from `step` and
 * cast once to the parameter's type, as torch computes them in Python doubles.
 *
 * AdamW (t = step + 1):
 *   p  <- p * (1 - lr wd)                                  decoupled weight decay first
 *   m  <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
 *   p  <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * SGD:
 *   d  <- g + wd p
 *   buf <- d on the first step, else momentum buf + (1 - dampening) d
 *   d  <- nesterov ? d + momentum buf : buf;   p <- p - lr d
 */
import { DataType } from '../onnx/dtype.ts';
import type { Emitter } from '../graph/emitter.ts';

export type OptimizerSpec =
  | { kind: 'adamw'; lr: number; betas?: [number, number]; eps?: number; weightDecay?: number }
  | { kind: 'sgd'; lr: number; momentum?: number; dampening?: number; nesterov?: boolean; weightDecay?: number };

/**
 * Optimizer state slots per parameter, by suffix (`<param>.adam_m`). All start at zero.
 * `adam_t` is the parameter's own update count (a scalar): a tensor created mid-run by Merge or
 * Inject starts its bias correction at t = 1, as a fresh torch.optim state does.
 */
export function stateSlots(spec: OptimizerSpec): string[] {
  if (spec.kind === 'adamw') return ['adam_m', 'adam_v', 'adam_t'];
  if ((spec.momentum ?? 0) === 0) return [];
  // With dampening, torch's first momentum step differs from the rest: count each tensor's own.
  return (spec.dampening ?? 0) !== 0 ? ['momentum', 'sgd_t'] : ['momentum'];
}

/** Shape of a state slot: the parameter's, or a scalar for the update count. */
export function slotDims(slot: string, paramDims: number[]): number[] {
  return slot === 'adam_t' || slot === 'sgd_t' ? [] : paramDims;
}

export interface UpdateInputs {
  param: string;
  grad: string;
  /** State values by slot. */
  state: Record<string, string>;
  /** Element type of the parameter. */
  dtype: number;
  /** float64 scalar: the learning rate of this parameter's group at this step. */
  lr: string;
  /** float64 scalar: step + 1 (used when the parameter has no update count of its own). */
  t: string;
  /** bool scalar: step == 0 (SGD's first momentum step). */
  first: string;
  /** A constant (0: none), or a float64 scalar value (the split update's per-parameter decay: always applied, 0 leaves the parameter exactly as it is). */
  weightDecay: number | string;
}

export interface UpdateOutputs {
  param: string;
  state: Record<string, string>;
}

export function emitUpdate(e: Emitter, spec: OptimizerSpec, u: UpdateInputs): UpdateOutputs {
  const d = (v: number) => e.constant(v, DataType.DOUBLE);
  const typed = (doubleScalar: string) => e.op('Cast', [doubleScalar], { to: u.dtype });
  const c = (v: number) => e.constant(v, u.dtype);
  const decay = (wd: number | string) => (typeof wd === 'number' ? d(wd) : wd);
  if (spec.kind === 'adamw') {
    const [b1, b2] = spec.betas ?? [0.9, 0.999];
    const eps = spec.eps ?? 1e-8;
    const decayed = u.weightDecay !== 0 ? e.op('Mul', [u.param, typed(e.op('Sub', [d(1), e.op('Mul', [u.lr, decay(u.weightDecay)])]))]) : u.param;
    const m = e.op('Add', [e.op('Mul', [u.state.adam_m!, c(b1)]), e.op('Mul', [u.grad, c(1 - b1)])]);
    const v = e.op('Add', [e.op('Mul', [u.state.adam_v!, c(b2)]), e.op('Mul', [e.op('Mul', [u.grad, u.grad]), c(1 - b2)])]);
    // t counts this parameter's updates, this one included.
    const count = u.state.adam_t;
    const t = count ? e.op('Add', [e.op('Cast', [count], { to: DataType.DOUBLE }), d(1)]) : u.t;
    const bc1 = e.op('Sub', [d(1), e.op('Pow', [d(b1), t])]);
    const bc2 = e.op('Sub', [d(1), e.op('Pow', [d(b2), t])]);
    const stepSize = typed(e.op('Div', [u.lr, bc1]));
    const denom = e.op('Add', [e.op('Div', [e.op('Sqrt', [v]), typed(e.op('Sqrt', [bc2]))]), c(eps)]);
    const param = e.op('Sub', [decayed, e.op('Mul', [stepSize, e.op('Div', [m, denom])])]);
    return { param, state: count ? { adam_m: m, adam_v: v, adam_t: e.op('Add', [count, c(1)]) } : { adam_m: m, adam_v: v } };
  }
  const momentum = spec.momentum ?? 0;
  const dampening = spec.dampening ?? 0;
  let dp = u.weightDecay !== 0 ? e.op('Add', [u.grad, e.op('Mul', [u.param, typeof u.weightDecay === 'number' ? c(u.weightDecay) : typed(u.weightDecay)])]) : u.grad;
  const state: Record<string, string> = {};
  if (momentum !== 0) {
    const running = e.op('Add', [e.op('Mul', [u.state.momentum!, c(momentum)]), e.op('Mul', [dp, c(1 - dampening)])]);
    const count = u.state.sgd_t;
    const first = count ? e.op('Equal', [count, c(0)]) : u.first;
    const buf = dampening === 0 ? running : e.op('Where', [first, dp, running]);
    state.momentum = buf;
    if (count) state.sgd_t = e.op('Add', [count, c(1)]);
    dp = spec.nesterov ? e.op('Add', [dp, e.op('Mul', [buf, c(momentum)])]) : buf;
  }
  return { param: e.op('Sub', [u.param, e.op('Mul', [typed(u.lr), dp])]), state };
}
