/**
 * The step's learning rates and the optimizers' step counts, from the `step` input (updates
 * already applied) and, for a warmup or decaying schedule, its length inputs. Emitted into the
 * train graph and into the split update graph alike, so both compute the same doubles.
 */
import { DataType } from '../onnx/dtype.ts';
import type { ScheduleSpec } from './schedules.ts';
import { emitScheduleFactor } from './schedules.ts';
import type { StepGraph } from './step-graph.ts';

/** The int64 scalar inputs holding the warmup and total step counts, and the values the spec implied. */
export interface ScheduleInputs {
  warmupInput: string;
  totalInput: string;
  warmupSteps: number;
  totalSteps: number;
}

export interface LearningRates {
  /** The learning rate for an lr scale (float64 scalar), emitted once per scale. */
  lrOf(scale: number): string;
  /** The learning rate for an lr scale held in a float64 scalar value (the same double as lrOf's). */
  lrTimes(scale: string): string;
  /** 1-based step t (float64) and whether this is the first update (the optimizers' bias corrections). */
  t: string;
  first: string;
  inputs?: ScheduleInputs;
}

export const STEP = 'step';
const WARMUP = 'warmup_steps';
const TOTAL = 'total_steps';

/** The schedule's factor at step `counter`, with the warmup and total lengths as inputs when it has them. */
export function learningRates(step: StepGraph, lr: number, schedule: ScheduleSpec, counter: string): LearningRates {
  const { e } = step;
  const stepD = e.op('Cast', [counter], { to: DataType.DOUBLE });
  const t = e.op('Add', [stepD, e.constant(1, DataType.DOUBLE)]);
  const first = e.op('Equal', [counter, e.int(0)]);
  let inputs: ScheduleInputs | undefined;
  let lengths: { warmup: string; total: string } | undefined;
  if (schedule.kind !== 'constant') {
    const warmupInput = step.input(WARMUP, { dtype: DataType.INT64, shape: [] }, { role: 'schedule', slot: 'warmup_steps' });
    const totalInput = step.input(TOTAL, { dtype: DataType.INT64, shape: [] }, { role: 'schedule', slot: 'total_steps' });
    inputs = { warmupInput, totalInput, warmupSteps: schedule.warmupSteps, totalSteps: schedule.kind === 'constant_with_warmup' ? 0 : schedule.totalSteps };
    lengths = { warmup: e.op('Cast', [warmupInput], { to: DataType.DOUBLE }), total: e.op('Cast', [totalInput], { to: DataType.DOUBLE }) };
  }
  const factor = emitScheduleFactor(e, schedule, stepD, lengths);
  const lrFor = new Map<number, string>();
  const lrOf = (scale: number) => {
    let v = lrFor.get(scale);
    // lr x scale in JS doubles: the product lrTimes forms in the graph.
    if (!v) lrFor.set(scale, (v = e.op('Mul', [e.constant(lr * scale, DataType.DOUBLE), factor])));
    return v;
  };
  const lrTimes = (scale: string) => e.op('Mul', [e.op('Mul', [e.constant(lr, DataType.DOUBLE), scale]), factor]);
  return { lrOf, lrTimes, t, first, inputs };
}
