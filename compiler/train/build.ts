/**
 * The fused training graph and its eval / inference siblings, from a forward model and a
 * training spec. Trainable tensors become graph inputs (fed each step with their optimizer
 * state); frozen weights stay initializers, so their gradients are never formed.
 *
 * Train graph interface (names are fixed so the runtime can bind them):
 *   inputs   the model's own inputs; the labels input; `<param>` per trainable tensor;
 *            `<param>.<slot>` per optimizer state slot (adam_m, adam_v / momentum);
 *            `step` (int64 scalar: updates already applied);
 *            with gradient accumulation also `<param>.grad_accum` and `apply_update` (bool scalar)
 *   outputs  `loss`; `lr` (float32, the schedule's lr for multiplier 1);
 *            `grad_norm` when clipping; `<param>.next`; `<param>.<slot>.next`;
 *            `<param>.grad_accum.next` with accumulation.
 *
 * Gradient accumulation is ONE graph with a flag: every call adds grad / N to the
 * accumulator; when `apply_update` is true it also clips and applies the optimizer to the
 * accumulated gradient and returns a zeroed accumulator; when false parameters and state
 * pass through unchanged. One compiled session serves both kinds of micro-step.
 *
 * What each input and output IS (parameter, optimizer slot, batch, loss ...) is recorded here,
 * where the graph gains it, as a typed Binding per name (TrainingGraphs.interfaces); the
 * manifest is written from those, never from the names.
 */
import { UserError } from '../../contract/errors.ts';
import type { Model } from '../graph/graph.ts';
import { eliminateCommonSubexpressions } from '../passes/cse.ts';
import { eliminateDeadCode } from '../passes/dce.ts';
import { toposort } from '../passes/toposort.ts';
import { removeOutputCopies } from '../passes/output-copies.ts';
import { fuseActivations } from '../passes/fuse-activations.ts';
import { selectRowsEarly } from '../passes/select-rows-early.ts';
import { fuseOneHotSoftmaxGradients } from '../passes/one-hot-softmax-gradient.ts';
import { accumulateIntoGemm } from '../passes/accumulate-into-gemm.ts';
import { DataType, isFloatType } from '../onnx/dtype.ts';
import { inferShapes } from '../shapes/infer.ts';
import { valueInfoFromType, valueTypeFromInfo, type ValueType } from '../shapes/types.ts';
import type { Dim } from '../shapes/dim.ts';
import { differentiate } from '../autodiff/differentiate.ts';
import { Emitter } from '../graph/emitter.ts';
import { inferDtypes } from '../graph/dtypes.ts';
import { create, ValueInfoProtoSchema } from '../onnx/proto.ts';
import { clipByGlobalNorm } from './clipping.ts';
import { cloneModel } from '../graph/clone.ts';
import { widenUncoveredHalf } from '../passes/op-coverage.ts';
import { enableTrainingDropout } from './dropout.ts';
import { classificationLoss, lmLoss, mseLoss, type LossHead, type LossSpec } from './losses.ts';
import { emitUpdate, slotDims, stateSlots, type OptimizerSpec } from './optimizers.ts';
import type { ScheduleSpec } from './schedules.ts';
import { computeInHalf, type HalfType } from '../passes/compute-in-half.ts';
import { StepGraph, type Binding, type GraphInterface } from './step-graph.ts';
import { learningRates, STEP, type LearningRates, type ScheduleInputs } from './learning-rates.ts';
import { buildUpdateGraph } from './update-graph.ts';
import { deriveUpdateKernel } from './update-kernel.ts';
import type { UpdateKernel } from '../../contract/manifest.ts';
import { anyNonFinite, NONFINITE } from './nonfinite.ts';
import { addLossScaleInputs, emitScaleUpdate, unscaleGradients, type LossScale, type LossScaleSpec } from './loss-scale.ts';

export interface ParamGroup {
  /** Parameter names, or a predicate. The first group that matches a parameter wins. */
  params: readonly string[] | ((param: string) => boolean);
  /** Multiplies the optimizer's lr (a classifier head at lr / 2: 0.5). Default 1. */
  lrScale?: number;
  /** Overrides the optimizer's weight decay (0 excludes biases and norms). */
  weightDecay?: number;
}

export interface TrainingSpec {
  /** Tensors to train: initializer names (any subset, up to every weight). */
  trainable: readonly string[];
  loss: LossSpec;
  optimizer: OptimizerSpec;
  schedule?: ScheduleSpec;
  /** Clip the global gradient norm to this (torch.nn.utils.clip_grad_norm_). */
  maxGradNorm?: number;
  /** Micro-batches per optimizer update (default 1: no accumulation inputs). */
  accumulationSteps?: number;
  groups?: readonly ParamGroup[];
  /** Turns Dropout nodes to training mode in the train graph with masks seeded from this. */
  dropoutSeed?: number;
  /**
   * Half-precision forward and backward (compute-in-half.ts); the trainable tensors and the
   * optimizer stay float32. `lossScale`: fp16's dynamic loss scaling (loss-scale.ts).
   */
  precision?: { type: HalfType; lossScale?: LossScaleSpec };
  /**
   * 'fused' (the default): the train graph applies the optimizer and returns the updated
   * parameters and state. 'split': it returns the gradients the optimizer would apply, and
   * the update graph applies it chunk by chunk (update-graph.ts: for large trainable sets).
   */
  update?: 'fused' | 'split';
}

export interface ParameterInfo {
  name: string;
  dtype: number;
  dims: number[];
  lrScale: number;
  weightDecay: number;
  /** Train-graph output holding the updated value. */
  next: string;
  /** Optimizer state: input name, output name and shape per slot; every slot starts at zeros. */
  state: { slot: string; input: string; next: string; dims: number[] }[];
}

export type { Binding, GraphInterface };

export interface TrainingGraphs {
  train: Model;
  eval: Model;
  infer: Model;
  /** With the split update: the optimizer over one chunk of one parameter (update-graph.ts). */
  update?: Model;
  /** The update graph's element-wise arithmetic as code (update-kernel.ts), where it has that form. */
  updateKernel?: UpdateKernel;
  parameters: ParameterInfo[];
  /** The model's own inputs (what the data provides, besides labels). */
  batchInputs: string[];
  /** The labels input of the train and eval graphs. */
  labels: string;
  /** The data key the labels come from (the input's own name, or a model input it shares). */
  labelKey: string;
  step: string;
  /** Present with gradient accumulation. */
  applyUpdate?: string;
  /** With gradient accumulation: int64 scalar, the micro-batch's index within its update (0..N-1). */
  microStep?: string;
  /**
   * With a warmup or decaying LR schedule: the int64 scalar inputs holding the warmup and
   * total step counts (fed by the runtime from the run's real length), and the values the
   * spec implied, for callers without a better figure.
   */
  schedule?: ScheduleInputs;
  /** Every input and output of each graph, bound to what it carries. */
  interfaces: { train: GraphInterface; eval: GraphInterface; infer: GraphInterface; update?: GraphInterface };
  stats: { forwardNodes: number; backwardNodes: number; trainNodes: number; evalNodes: number; inferNodes: number; compileMs: number };
}

const APPLY = 'apply_update';
const MICRO = 'micro_step';
const DROPOUT_KEY = 'dropout_key';

/**
 * The three graphs, phase by phase: the parameters and the model's own inputs; infer (forward)
 * and eval (forward + loss); then train: forward + loss, backward, the step's inputs, the
 * effective gradients (accumulated, clipped), the learning rates, and the update of every
 * parameter and its optimizer state. Each phase adds its inputs and outputs with their bindings.
 */
export function buildTrainingGraphs(model: Model, spec: TrainingSpec): TrainingGraphs {
  const started = performance.now();
  const opset = model.opset('');
  if (opset === undefined) throw new UserError('the model does not import the default ONNX domain');
  const params = describeParameters(model, spec);
  const originalOutputs = model.graph.outputNames();
  const feeds = model.graph.feedInputs().map((v) => v.name).filter((n) => !params.some((p) => p.name === n));

  // One forward rewrite (parameters as inputs, half compute), copied for each graph.
  const forward = forwardGraph(model, params, spec);
  const infer = cloneModel(forward);
  const evaluation = buildEvalGraph(model, forward, opset, spec);

  const train = forward;
  const head = attachLoss(train, opset, spec.loss);
  const forwardNodes = train.graph.nodes.length;
  const accumulation = accumulationOf(spec);
  const scaling = spec.precision?.lossScale ? addLossScaleInputs(train, opset, spec.precision.lossScale) : undefined;
  const backward = addBackward(train, params, opset, spec, accumulation, scaling, [...feeds, head.labels]);
  const step = new StepGraph(train, opset, backward.shapes, forwardInterface(feeds, head, params));
  step.io.outputs.set('loss', { role: 'loss' });
  const counters = addStepInputs(step, accumulation);
  let gradients = backward.gradients;
  let updateGate = counters.apply;
  if (scaling) {
    const unscaled = unscaleGradients(step, scaling, params.map((p) => backward.gradients.get(p.name)!));
    gradients = new Map(params.map((p, i) => [p.name, unscaled[i]!]));
  }
  // Overflow is judged on the gradients the update would apply (accumulated ones included).
  const checkOverflow = scaling && ((applied: string[]) => (updateGate = emitScaleUpdate(step, scaling, applied, counters.apply)));
  const grads = effectiveGradients(step, params, gradients, counters.apply, accumulation, spec.maxGradNorm, checkOverflow || undefined);
  const schedule = spec.schedule ?? { kind: 'constant' };
  const rates = learningRates(step, spec.optimizer.lr, schedule, counters.step);
  step.output(step.e.op('Cast', [rates.lrOf(1)], { to: DataType.FLOAT }), 'lr', { role: 'metric', metric: 'lr' });
  const split = spec.update === 'split' ? buildSplitUpdate(opset, spec, params, schedule) : undefined;
  const returned = split ? addGradientOutputs(step, params, grads, counters.apply) : addUpdates(step, params, grads, rates, spec.optimizer, counters.apply, updateGate);
  // What the runtime must find finite before it commits the step, checked in the graph.
  step.output(anyNonFinite(step.e, returned), NONFINITE, { role: 'metric', metric: NONFINITE });
  train.graph.outputs = typedOutputs(train, [...step.io.outputs.keys()]);
  finish(train);
  removeOutputCopies(train.graph);

  finish(infer);
  let updateKernel: UpdateKernel | undefined;
  if (split) {
    finish(split.model);
    removeOutputCopies(split.model.graph);
    updateKernel = deriveUpdateKernel(split.model, split.io);
  }
  if (spec.precision) for (const m of [train, evaluation.model, infer]) widenUncoveredHalf(m.graph, m.opsets);
  const ms = performance.now() - started;
  const evalIO = forwardInterface(feeds, evaluation.head, params);
  evalIO.outputs.set('loss', { role: 'loss' });
  const inferIO = forwardInterface(feeds, undefined, params);
  for (const o of originalOutputs) {
    evalIO.outputs.set(o, { role: 'output' });
    inferIO.outputs.set(o, { role: 'output' });
  }
  return {
    train, eval: evaluation.model, infer, ...(split ? { update: split.model } : {}), ...(updateKernel ? { updateKernel } : {}), parameters: params, batchInputs: feeds, labels: head.labels, labelKey: head.labelKey ?? head.labels,
    step: STEP, applyUpdate: counters.apply, microStep: counters.micro, schedule: rates.inputs,
    interfaces: { train: step.io, eval: evalIO, infer: inferIO, ...(split ? { update: split.io } : {}) },
    stats: { forwardNodes, backwardNodes: backward.nodesAdded, trainNodes: train.graph.nodes.length, evalNodes: evaluation.model.graph.nodes.length, inferNodes: infer.graph.nodes.length, compileMs: ms },
  };
}

/** eval.onnx: forward and loss, with the loss and the model's outputs as graph outputs. */
function buildEvalGraph(model: Model, forward: Model, opset: number, spec: TrainingSpec): { model: Model; head: LossHead } {
  const evalModel = cloneModel(forward);
  const head = attachLoss(evalModel, opset, spec.loss);
  evalModel.graph.outputs = [...typedOutputs(evalModel, ['loss']), ...model.graph.outputs];
  // As in the train graph: a classifier's last block computes the rows it reads (the model's
  // outputs are kept whole). Not in infer.onnx, whose LoRA paths the PEFT export traces.
  selectRowsEarly(evalModel);
  finish(evalModel);
  return { model: evalModel, head };
}

function accumulationOf(spec: TrainingSpec): number {
  const accumulation = spec.accumulationSteps ?? 1;
  if (!Number.isInteger(accumulation) || accumulation < 1) throw new UserError(`accumulationSteps must be a positive integer, not ${accumulation}`);
  return accumulation;
}

/** Training-mode dropout (when seeded) and the backward pass of the loss with respect to every parameter. */
/** `batchInputs`: what the data layer feeds (the model's inputs and the labels), one size per symbolic dim. */
function addBackward(train: Model, params: readonly ParameterInfo[], opset: number, spec: TrainingSpec, accumulation: number, scaling: LossScale | undefined, batchInputs: readonly string[]): { gradients: ReadonlyMap<string, string>; shapes: Map<string, ValueType>; nodesAdded: number } {
  const g = train.graph;
  // The train graph's outputs are the step's, set once it is built; the model's own outputs
  // (a last hidden state beside the logits) are not among them, so no pass keeps a value for them.
  g.outputs = [];
  // Dropout masks are keyed by the step; with accumulation by step * N + micro-step, so the
  // micro-batches of one update draw different masks.
  const dropoutKey = accumulation > 1 ? DROPOUT_KEY : STEP;
  if (spec.dropoutSeed !== undefined) enableTrainingDropout(g, new Emitter(g, opset, new Map(), 'dropout/'), spec.dropoutSeed, dropoutKey);
  // With loss scaling the backward starts from loss x scale, so small half gradients do not underflow.
  // One node per written-out GELU / SiLU: their intermediates would stay alive until the backward.
  fuseActivations(train);
  // A classifier reads some rows of the last hidden state: the ops below it compute only those.
  selectRowsEarly(train);
  // The batch inputs give each symbolic dim one size: the data layer checks and pads examples per symbol.
  const wrt = params.map((p) => p.name);
  const diff = differentiate(g, { loss: scaling?.scaledLoss ?? 'loss', wrt, opset, opsets: train.opsets, sizesFrom: batchInputs });
  // The loss's gradient through its log-softmax without a logits-sized tensor of zeros and its sum.
  fuseOneHotSoftmaxGradients(g, opset, diff.emitter.shapes);
  // A layer input's gradient summed over its readers' projections: the Gemms add into one another.
  accumulateIntoGemm(g, diff.emitter.shapes);
  return { gradients: diff.gradients, shapes: diff.emitter.shapes, nodesAdded: diff.nodesAdded };
}

/** The step counter; with accumulation the apply flag, the micro-step index and the dropout key they make. */
function addStepInputs(step: StepGraph, accumulation: number): { step: string; apply?: string; micro?: string } {
  const { e } = step;
  const counter = step.input(STEP, { dtype: DataType.INT64, shape: [] }, { role: 'step' });
  if (accumulation === 1) return { step: counter };
  const apply = step.input(APPLY, { dtype: DataType.BOOL, shape: [] }, { role: 'apply' });
  const micro = step.input(MICRO, { dtype: DataType.INT64, shape: [] }, { role: 'micro' });
  e.b.op('Add', [e.op('Mul', [counter, e.int(accumulation)]), micro], undefined, { outputs: [e.b.claim(DROPOUT_KEY)] });
  return { step: counter, apply, micro };
}

/** Per parameter, the gradient the optimizer applies: this batch's, or the accumulated mean over micro-batches; clipped by the global norm. */
function effectiveGradients(step: StepGraph, params: readonly ParameterInfo[], gradients: ReadonlyMap<string, string>, apply: string | undefined, accumulation: number, maxGradNorm: number | undefined, beforeClipping?: (grads: string[]) => void): { grad: string; accumulator?: { input: string; next: string } }[] {
  const { e } = step;
  let out = params.map((p) => ({ grad: gradients.get(p.name)!, accumulator: undefined as { input: string; next: string } | undefined }));
  if (apply) {
    out = params.map((p, i) => {
      // The gradient accumulator is optimizer state of its parameter.
      const acc = step.input(`${p.name}.grad_accum`, { dtype: p.dtype, shape: p.dims }, { role: 'state', of: p.name, slot: 'grad_accum' });
      const sum = e.op('Add', [acc, e.op('Mul', [out[i]!.grad, e.constant(1 / accumulation, p.dtype)])]);
      return { grad: sum, accumulator: { input: acc, next: sum } };
    });
  }
  beforeClipping?.(out.map((x) => x.grad));
  if (maxGradNorm !== undefined) {
    const clipped = clipByGlobalNorm(e, params.map((p, i) => ({ grad: out[i]!.grad, dtype: p.dtype })), maxGradNorm);
    out = out.map((x, i) => ({ ...x, grad: clipped.grads[i]! }));
    step.output(clipped.norm, 'grad_norm', { role: 'metric', metric: 'grad_norm' });
  }
  return out;
}

/** Each parameter's optimizer update and its state's, gated by the apply flag with accumulation (which also zeroes the accumulator). */
/** `gate`: the flag under which the update applies (the apply flag, and no fp16 overflow); absent: always. */
function addUpdates(step: StepGraph, params: readonly ParameterInfo[], grads: ReturnType<typeof effectiveGradients>, rates: LearningRates, optimizer: OptimizerSpec, apply: string | undefined, gate: string | undefined): string[] {
  const { e } = step;
  const returned: string[] = [];
  params.forEach((p, i) => {
    const state: Record<string, string> = {};
    for (const s of p.state) state[s.slot] = step.input(s.input, { dtype: p.dtype, shape: s.dims }, { role: 'state', of: p.name, slot: s.slot });
    const updated = emitUpdate(e, optimizer, { param: p.name, grad: grads[i]!.grad, state, dtype: p.dtype, lr: rates.lrOf(p.lrScale), t: rates.t, first: rates.first, weightDecay: p.weightDecay });
    const gated = (next: string, old: string) => (gate ? e.op('Where', [gate, next, old]) : next);
    returned.push(step.output(gated(updated.param, p.name), p.next, { role: 'param.next', of: p.name }));
    for (const s of p.state) returned.push(step.output(gated(updated.state[s.slot]!, state[s.slot]!), s.next, { role: 'state.next', of: p.name, slot: s.slot }));
    const acc = grads[i]!.accumulator;
    if (apply && acc) returned.push(accumulatorOutput(step, p, apply, acc.next));
  });
  return returned;
}

/** The accumulator's next value: zeroed on the micro-batch that applies the update. */
function accumulatorOutput(step: StepGraph, p: ParameterInfo, apply: string, sum: string): string {
  const { e } = step;
  return step.output(e.op('Where', [apply, e.zerosLike(p.name), sum]), `${p.name}.grad_accum.next`, { role: 'state.next', of: p.name, slot: 'grad_accum' });
}

/**
 * The split update's train-graph end: each parameter's effective gradient as `<param>.grad`
 * (read back only on the micro-batch that applies), and with accumulation the accumulator,
 * zeroed where the update applies. Under fp16's loss scaling the runtime skips the update
 * where the `overflow` output says so.
 */
function addGradientOutputs(step: StepGraph, params: readonly ParameterInfo[], grads: ReturnType<typeof effectiveGradients>, apply: string | undefined): string[] {
  const returned: string[] = [];
  params.forEach((p, i) => {
    returned.push(step.output(grads[i]!.grad, `${p.name}.grad`, { role: 'grad', of: p.name }));
    const acc = grads[i]!.accumulator;
    if (apply && acc) returned.push(accumulatorOutput(step, p, apply, acc.next));
  });
  return returned;
}

/** The update graph of a split update; every parameter's group must be one it can express. */
function buildSplitUpdate(opset: number, spec: TrainingSpec, params: readonly ParameterInfo[], schedule: ScheduleSpec) {
  const decay = defaultWeightDecay(spec.optimizer);
  for (const p of params) {
    if (p.dtype !== DataType.FLOAT) throw new UserError(`the split update trains float32 tensors; '${p.name}' is not`);
    if (p.weightDecay !== 0 && p.weightDecay !== decay) throw new UserError(`the split update decays a parameter by the optimizer's weight decay (${decay}) or not at all; '${p.name}' asks for ${p.weightDecay}`);
  }
  return buildUpdateGraph(opset, spec.optimizer, decay, schedule);
}

/** The optimizer's weight decay where the spec gives none (torch.optim.AdamW's 0.01, SGD's 0). */
function defaultWeightDecay(o: OptimizerSpec): number {
  return o.weightDecay ?? (o.kind === 'adamw' ? 0.01 : 0);
}

function describeParameters(model: Model, spec: TrainingSpec): ParameterInfo[] {
  const g = model.graph;
  const seen = new Set<string>();
  return spec.trainable.map((name) => {
    if (seen.has(name)) throw new UserError(`trainable tensor '${name}' is listed twice`);
    seen.add(name);
    const t = g.initializers.get(name);
    if (!t) {
      const near = [...g.initializers.keys()].filter((k) => k.includes(name) || name.includes(k)).slice(0, 5);
      throw new UserError(`trainable tensor '${name}' is not an initializer of the model`, near.length ? `did you mean ${near.map((n) => `'${n}'`).join(', ')}?` : 'list initializer names with `lor2c inspect`');
    }
    if (!isFloatType(t.dataType)) throw new UserError(`trainable tensor '${name}' is not floating point`);
    const group = spec.groups?.find((gr) => (typeof gr.params === 'function' ? gr.params(name) : gr.params.includes(name)));
    return {
      name, dtype: t.dataType, dims: t.dims.map(Number),
      lrScale: group?.lrScale ?? 1,
      weightDecay: group?.weightDecay ?? defaultWeightDecay(spec.optimizer),
      next: `${name}.next`,
      state: stateSlots(spec.optimizer).map((slot) => ({ slot, input: `${name}.${slot}`, next: `${name}.${slot}.next`, dims: slotDims(slot, t.dims.map(Number)) })),
    };
  });
}

/**
 * The inputs every graph shares: the model's own (batch data), the labels when there is a loss
 * head (read from the head's data key: an LM's labels come from its input_ids), and the
 * current value of each trainable parameter.
 */
function forwardInterface(feeds: readonly string[], head: LossHead | undefined, params: readonly ParameterInfo[]): GraphInterface {
  const inputs = new Map<string, Binding>(feeds.map((name) => [name, { role: 'batch' }]));
  if (head) inputs.set(head.labels, { role: 'batch', label: true, ...(head.labelKey !== undefined && head.labelKey !== head.labels ? { key: head.labelKey } : {}) });
  for (const p of params) inputs.set(p.name, { role: 'param', of: p.name });
  return { inputs, outputs: new Map() };
}

/** The forward graph of every sibling: trainable tensors as inputs, computing in half when the spec says so. */
function forwardGraph(model: Model, params: readonly ParameterInfo[], spec: TrainingSpec): Model {
  const m = withParametersAsInputs(model, params);
  if (spec.precision) computeInHalf(m, spec.precision.type);
  return m;
}

/** A copy of the model where each trainable initializer is a graph input instead. */
function withParametersAsInputs(model: Model, params: readonly ParameterInfo[]): Model {
  const m = cloneModel(model);
  for (const p of params) {
    m.graph.initializers.delete(p.name);
    if (!m.graph.inputs.some((v) => v.name === p.name)) m.graph.inputs.push(valueInfoFromType(p.name, { dtype: p.dtype, shape: p.dims }));
  }
  return m;
}

/** Adds the loss head and its labels input; the loss value is named `loss`. */
function attachLoss(m: Model, opset: number, spec: LossSpec): LossHead {
  const shapes = inferShapes(m);
  const e = new Emitter(m.graph, opset, shapes, 'loss/');
  const typeOf = (v: string) => shapes.get(v);
  const source = spec.kind === 'mse' ? spec.prediction : spec.logits;
  if (!m.graph.definedNames().has(source)) throw new UserError(`the loss reads '${source}', which is not a value of the model`, `the model's outputs are ${m.graph.outputNames().join(', ')}`);
  const srcType = typeOf(source);
  const labelShape = (drop: number): Dim[] | undefined => srcType?.shape?.slice(0, srcType.shape.length - drop);
  const labelKey = spec.kind === 'mse' ? spec.target ?? 'target' : spec.labels ?? 'labels';
  // The labels may be one of the model's own inputs (a language model predicting its
  // input_ids). They still get an input of their own, read from the same data key: the model
  // input is padded with 0, the labels with the ignore index, so padding adds no loss.
  const shared = m.graph.feedInputs().find((v) => v.name === labelKey);
  if (shared && spec.kind === 'lm' && !(spec.shift ?? true)) throw new UserError(`the LM loss reads its labels from the model input '${labelKey}' without shifting: every token would predict itself`, 'use shift, or give the labels under their own key');
  const labelsName = shared ? e.b.fresh('labels') : e.b.claim(labelKey);
  const labelType: ValueType = shared
    ? valueTypeFromInfo(shared) ?? { dtype: DataType.INT64, shape: labelShape(1) }
    : spec.kind === 'mse'
      ? { dtype: srcType?.dtype || DataType.FLOAT, shape: srcType?.shape }
      : { dtype: DataType.INT64, shape: labelShape(1) };
  m.graph.inputs.push(valueInfoFromType(labelsName, labelType));
  e.setType(labelsName, labelType);
  let head: LossHead;
  if (spec.kind === 'classification') head = classificationLoss(e, spec.logits, labelsName);
  else if (spec.kind === 'lm') head = lmLoss(e, spec.logits, labelsName, spec.ignoreIndex ?? -100, spec.shift ?? true);
  else head = mseLoss(e, spec.prediction, labelsName);
  e.b.op('Identity', [head.loss], undefined, { outputs: [e.b.claim('loss')] });
  return { ...head, loss: 'loss', labels: labelsName, labelKey };
}

/** Graph outputs with their types: inferred shapes where known, else at least the element type. */
function typedOutputs(m: Model, names: readonly string[]) {
  const shapes = inferShapes(m);
  const dtypes = inferDtypes(m.graph, shapes);
  return names.map((name) => {
    const t = shapes.get(name);
    if (t && t.dtype) return valueInfoFromType(name, t);
    const dtype = dtypes.get(name);
    if (dtype) return valueInfoFromType(name, { dtype });
    return create(ValueInfoProtoSchema, { name });
  });
}

function finish(m: Model): void {
  toposort(m.graph);
  eliminateCommonSubexpressions(m.graph);
  eliminateDeadCode(m.graph);
}
