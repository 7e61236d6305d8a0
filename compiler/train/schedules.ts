/**
 * Learning-rate schedules computed in-graph from the `step` input (the number of optimizer
 * updates already applied, 0-based: what a torch LambdaLR has counted when optimizer.step()
 * runs). Computed in float64 and cast once, so the value matches Python's double arithmetic.
 * Formulas are Hugging Face's (transformers.optimization):
 *   constant:               1
 *   constant_with_warmup:   step < W ? step / max(1, W) : 1
 *   linear:                 step < W ? step / max(1, W) : max(0, (T - step) / max(1, T - W))
 *   cosine:                 step < W ? step / max(1, W)
 *                           : max(0, 0.5 (1 + cos(pi * cycles * 2 * (step - W) / max(1, T - W))))   (cycles 0.5)
 */
import { DataType } from '../onnx/dtype.ts';
import type { Emitter } from '../graph/emitter.ts';

export type ScheduleSpec =
  | { kind: 'constant' }
  | { kind: 'constant_with_warmup'; warmupSteps: number }
  | { kind: 'linear'; warmupSteps: number; totalSteps: number }
  | { kind: 'cosine'; warmupSteps: number; totalSteps: number; cycles?: number };

/** The schedule's multiplier as a JS number (for tests and logs): the same formulas. */
export function scheduleFactor(spec: ScheduleSpec, step: number): number {
  if (spec.kind === 'constant') return 1;
  const w = spec.warmupSteps;
  if (step < w) return step / Math.max(1, w);
  if (spec.kind === 'constant_with_warmup') return 1;
  const span = Math.max(1, spec.totalSteps - w);
  if (spec.kind === 'linear') return Math.max(0, (spec.totalSteps - step) / span);
  const progress = (step - w) / span;
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * (spec.cycles ?? 0.5) * 2 * progress)));
}

/**
 * The multiplier as a float64 scalar value, from a float64 scalar step. `lengths` gives the
 * warmup and total step counts as float64 scalar VALUES (graph inputs), so one compiled graph
 * serves any run length; without it the spec's numbers are baked in as constants.
 */
export function emitScheduleFactor(e: Emitter, spec: ScheduleSpec, step: string, lengths?: { warmup: string; total: string }): string {
  const d = (v: number) => e.constant(v, DataType.DOUBLE);
  if (spec.kind === 'constant') return d(1);
  const w = lengths?.warmup ?? d(spec.warmupSteps);
  const warm = e.op('Div', [step, e.op('Max', [w, d(1)])]);
  let after: string;
  if (spec.kind === 'constant_with_warmup') after = d(1);
  else {
    const total = lengths?.total ?? d(spec.totalSteps);
    const span = e.op('Max', [e.op('Sub', [total, w]), d(1)]);
    if (spec.kind === 'linear') after = e.op('Max', [d(0), e.op('Div', [e.op('Sub', [total, step]), span])]);
    else {
      const progress = e.op('Div', [e.op('Sub', [step, w]), span]);
      const angle = e.op('Mul', [d(Math.PI * (spec.cycles ?? 0.5) * 2), progress]);
      after = e.op('Max', [d(0), e.op('Mul', [d(0.5), e.op('Add', [d(1), e.op('Cos', [angle])])])]);
    }
  }
  if (!lengths && spec.warmupSteps <= 0) return after;
  return e.op('Where', [e.op('Less', [step, w]), warm, after]);
}
