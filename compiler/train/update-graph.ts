/**
 * The split update: for trainable sets too large to cross the JS boundary three times a step
 * (full fine-tuning, large adapters), the train graph ends at the gradients the optimizer would
 * apply, and this small graph applies the optimizer to one flat chunk of one parameter at a
 * time, run by the trainer over the parameters in place (runtime/split-update.ts).
 *
 * Why: onnxruntime-node returns every fetched output in a fresh JS buffer, copied from ORT's
 * own. A fused step that returns the parameters and both Adam moments holds the old ones, ORT's
 * new ones and their JS copies at once (nine copies of the trainable values); split, the
 * process holds the parameters, their state, and the gradients with their one copy (five), and
 * the updates come back in chunks small enough to reuse the heap (docs/performance.md, "The
 * split update").
 *
 * It is the fused update's arithmetic, op for op (optimizers.ts, learning-rates.ts): the same
 * doubles for the learning rate and bias corrections, the same float ops per element, so a
 * split run reaches bit-identical parameters. What differs per parameter (its lr scale,
 * whether it is decayed) is an input instead of a constant.
 *
 * Inputs   `param`, `grad` and each tensor-shaped state slot: float32 [n]; a scalar slot (the
 *          parameter's update count) as the train graph has it; `step` and the schedule's
 *          lengths as the train graph has them; `lr_scale` (float64 scalar) and `decay` (bool
 *          scalar): the parameter's group.
 * Outputs  `param.next`, `<slot>.next`, and `nonfinite` (nonfinite.ts) over them.
 */
import { Graph, Model } from '../graph/graph.ts';
import { DataType } from '../onnx/dtype.ts';
import type { Dim } from '../shapes/dim.ts';
import { valueInfoFromType, type ValueType } from '../shapes/types.ts';
import { learningRates, STEP } from './learning-rates.ts';
import { emitUpdate, stateSlots, slotDims, type OptimizerSpec } from './optimizers.ts';
import type { ScheduleSpec } from './schedules.ts';
import { StepGraph, type GraphInterface } from './step-graph.ts';
import { anyNonFinite, NONFINITE } from './nonfinite.ts';

export interface UpdateGraph {
  model: Model;
  io: GraphInterface;
}

/** The length of a chunk: one symbolic dim, whatever the parameter's shape. */
const CHUNK: Dim = 'chunk';

const UPDATE_PARAM = 'param';
const UPDATE_GRAD = 'grad';
const LR_SCALE = 'lr_scale';
const DECAY = 'decay';

/** `weightDecay`: the optimizer's decay, applied where `decay` is true. */
export function buildUpdateGraph(opset: number, optimizer: OptimizerSpec, weightDecay: number, schedule: ScheduleSpec): UpdateGraph {
  const model = new Model(new Graph());
  model.graph.name = 'lor2c_update';
  model.opsets.set('', opset);
  const step = new StepGraph(model, opset, new Map(), { inputs: new Map(), outputs: new Map() });
  const { e } = step;
  const flat: ValueType = { dtype: DataType.FLOAT, shape: [CHUNK] };
  const scalar: ValueType = { dtype: DataType.FLOAT, shape: [] };
  const param = step.input(UPDATE_PARAM, flat, { role: 'param' });
  const grad = step.input(UPDATE_GRAD, flat, { role: 'grad' });
  const slots = stateSlots(optimizer);
  const state: Record<string, string> = {};
  for (const slot of slots) state[slot] = step.input(slot, scalarSlot(slot) ? scalar : flat, { role: 'state', slot });
  const counter = step.input(STEP, { dtype: DataType.INT64, shape: [] }, { role: 'step' });
  const lrScale = step.input(LR_SCALE, { dtype: DataType.DOUBLE, shape: [] }, { role: 'hyper', slot: LR_SCALE });
  const decay = step.input(DECAY, { dtype: DataType.BOOL, shape: [] }, { role: 'hyper', slot: DECAY });
  const rates = learningRates(step, optimizer.lr, schedule, counter);
  // AdamW's decay factor is (1 - lr x 0) = 1 where a parameter is not decayed: p x 1 is p
  // exactly. (SGD's p x 0 added to the gradient can differ from none in a zero's sign alone.)
  // An optimizer without decay has no decay ops, as in the fused graph.
  const decayOf = weightDecay === 0 ? 0 : e.op('Where', [decay, e.constant(weightDecay, DataType.DOUBLE), e.constant(0, DataType.DOUBLE)]);
  const updated = emitUpdate(e, optimizer, { param, grad, state, dtype: DataType.FLOAT, lr: rates.lrTimes(lrScale), t: rates.t, first: rates.first, weightDecay: decayOf });
  const outputs = [valueInfoFromType(step.output(updated.param, `${UPDATE_PARAM}.next`, { role: 'param.next' }), flat)];
  for (const slot of slots) outputs.push(valueInfoFromType(step.output(updated.state[slot]!, `${slot}.next`, { role: 'state.next', slot }), scalarSlot(slot) ? scalar : flat));
  const flag = step.output(anyNonFinite(e, outputs.map((o) => o.name)), NONFINITE, { role: 'metric', metric: NONFINITE });
  model.graph.outputs = [...outputs, valueInfoFromType(flag, { dtype: DataType.BOOL, shape: [] })];
  return { model, io: step.io };
}

/** A state slot that is one number per parameter (its update count), not one per element. */
function scalarSlot(slot: string): boolean {
  return slotDims(slot, [1]).length === 0;
}
