/**
 * fp16's dynamic loss scaling, in the train graph (torch.cuda.amp.GradScaler's rule):
 * - the backward starts from loss x scale, so gradients too small for float16 do not flush to
 *   zero; each gradient (float32: the trainable tensors are) is divided by the scale again;
 * - overflow: one sum over every (accumulated) gradient, IsInf / IsNaN on it: an inf or NaN
 *   anywhere makes the sum inf or NaN;
 * - on overflow the update is the identity (the parameters' and moments' Where gate), the scale
 *   halves and the overflow-free count restarts; after `growthInterval` steps without one the
 *   scale doubles. With gradient accumulation this happens on the micro-batch that applies.
 * The scale is carried as optimizer state of the pseudo-parameter `loss_scale`, which starts at
 * zeros as every state slot does: `exponent` (log2 of scale / initial) and `good_steps`, so a
 * checkpoint keeps it and a resumed run continues with it.
 */
import type { Model } from '../graph/graph.ts';
import { Emitter } from '../graph/emitter.ts';
import { DataType } from '../onnx/dtype.ts';
import { valueInfoFromType } from '../shapes/types.ts';
import type { StepGraph } from './step-graph.ts';
import { anyNonFinite } from './nonfinite.ts';

export interface LossScaleSpec {
  /** The scale at the first step (GradScaler's init_scale: 65536). */
  initial: number;
  /** Steps without overflow before the scale doubles (GradScaler's growth_interval: 2000). */
  growthInterval: number;
}

export interface LossScale {
  spec: LossScaleSpec;
  exponent: string;
  goodSteps: string;
  /** The scale of this step (float32 scalar) and loss x scale, where the backward starts. */
  scale: string;
  scaledLoss: string;
}

/** The name the loss scale's state is kept under, as a parameter's optimizer state is. */
export const LOSS_SCALE_OWNER = 'loss_scale';

/** The scale's state inputs and loss x scale, before the backward is formed. */
export function addLossScaleInputs(train: Model, opset: number, spec: LossScaleSpec): LossScale {
  const g = train.graph;
  const taken = g.definedNames();
  const exponent = `${LOSS_SCALE_OWNER}.exponent`;
  const goodSteps = `${LOSS_SCALE_OWNER}.good_steps`;
  for (const n of [exponent, goodSteps, 'overflow', LOSS_SCALE_OWNER]) {
    if (taken.has(n)) throw new Error(`internal error: the train graph already has a value '${n}', the name of a loss scale input or output`);
  }
  for (const n of [exponent, goodSteps]) g.inputs.push(valueInfoFromType(n, { dtype: DataType.FLOAT, shape: [] }));
  const e = new Emitter(g, opset, new Map(), 'loss_scale/');
  const scale = e.op('Mul', [e.constant(spec.initial, DataType.FLOAT), e.op('Pow', [e.constant(2, DataType.FLOAT), exponent])]);
  return { spec, exponent, goodSteps, scale, scaledLoss: e.op('Mul', ['loss', scale]) };
}

/** Each gradient in float32, divided by the scale. */
export function unscaleGradients(step: StepGraph, ls: LossScale, grads: readonly string[]): string[] {
  const { e } = step;
  const inverse = e.op('Div', [e.constant(1, DataType.FLOAT), ls.scale]);
  return grads.map((g) => e.op('Mul', [e.dtype(g) === DataType.FLOAT ? g : e.op('Cast', [g], { to: DataType.FLOAT }), inverse]));
}

/**
 * Overflow over the gradients the optimizer would apply, the scale's next state, and the flag
 * the update is gated on (no overflow, and the apply flag with accumulation).
 */
export function emitScaleUpdate(step: StepGraph, ls: LossScale, grads: readonly string[], apply: string | undefined): string {
  const { e } = step;
  step.io.inputs.set(ls.exponent, { role: 'state', of: LOSS_SCALE_OWNER, slot: 'exponent' });
  step.io.inputs.set(ls.goodSteps, { role: 'state', of: LOSS_SCALE_OWNER, slot: 'good_steps' });
  const overflow = anyNonFinite(e, grads);
  const ok = e.op('Not', [overflow]);
  const f = (v: number) => e.constant(v, DataType.FLOAT);
  const good = e.op('Where', [ok, e.op('Add', [ls.goodSteps, f(1)]), f(0)]);
  const grow = e.op('Not', [e.op('Less', [good, f(ls.spec.growthInterval)])]);
  let exponent = e.op('Where', [overflow, e.op('Sub', [ls.exponent, f(1)]), e.op('Where', [grow, e.op('Add', [ls.exponent, f(1)]), ls.exponent])]);
  let goodNext = e.op('Where', [grow, f(0), good]);
  if (apply) {
    exponent = e.op('Where', [apply, exponent, ls.exponent]);
    goodNext = e.op('Where', [apply, goodNext, ls.goodSteps]);
  }
  step.output(exponent, `${ls.exponent}.next`, { role: 'state.next', of: LOSS_SCALE_OWNER, slot: 'exponent' });
  step.output(goodNext, `${ls.goodSteps}.next`, { role: 'state.next', of: LOSS_SCALE_OWNER, slot: 'good_steps' });
  step.output(overflow, 'overflow', { role: 'metric', metric: 'overflow' });
  step.output(ls.scale, LOSS_SCALE_OWNER, { role: 'metric', metric: 'loss_scale' });
  return apply ? e.op('And', [apply, ok]) : ok;
}
