/**
 * Compiling adapter structures, without Node modules (a page recompiles at Merge / Inject):
 * `prepareModel` does the work that depends only on the base model (lifting Constant-node
 * weights, finding the blocks); `compileStructure` turns one adapter structure into the
 * train / eval / infer graphs and the manifest. compile.ts reads models and specs from files
 * and writes artifacts around these.
 */
import type { Plan } from '../contract/plan.ts';
import { editDistance } from '../dsl/suggest.ts';
import { UserError } from '../contract/errors.ts';
import { modelFromProto, cloneModel, type Model } from './graph/index.ts';
import { liftConstants } from './passes/lift-constants.ts';
import { computeInFloat32, type HalfRewrite } from './passes/compute-in-float32.ts';
import { unrollSequences } from './passes/unroll-sequences.ts';
import { lowerContribOps } from './passes/lower-contrib/index.ts';
import { DataType, dataTypeName, isFloatType } from './onnx/dtype.ts';
import { tensorArray } from './onnx/tensor.ts';
import type { ModelProto, ValueInfoProto } from './onnx/proto.ts';
import { locateBlocks, type BlockMap } from './locate/index.ts';
import { applyAdapters, patternRegex, type AdapterStructure } from './adapters/apply.ts';
import { sitesFromBlocks } from './adapters/sites-from-blocks.ts';
import type { AdapterSites } from './adapters/sites.ts';
import { roundHalfOnCpu } from './passes/round-half-on-cpu.ts';
import { shiftsOnCpu } from './passes/shifts-on-cpu.ts';
import { buildTrainingGraphs, type TrainingSpec, type Binding, type GraphInterface, type TrainingGraphs, type LossSpec, type OptimizerSpec, type ScheduleSpec } from './train/index.ts';
import { warmupSteps, type GraphInfo, type InputBounds, type IOInfo, type Manifest, type ParameterInfo } from '../contract/manifest.ts';
import { inputBounds } from './emit/input-bounds.ts';
import { prepackBytes } from './emit/prepack-bytes.ts';
import { describeType } from './inspect.ts';
import { countParameters } from './inspect-parameters.ts';
import { checkOpCoverage, formatCoverageProblems } from './passes/op-coverage.ts';
import { parameterReport, type ParameterReport } from './report.ts';
import { graphKinds } from './emit/artifact-files.ts';

export const LOR2C_VERSION = '0.1.0';
const ORT_VERSION = '1.30.0';

export interface PreparedBase {
  modelPath: string;
  sha256: string;
  /** The base model with Constant-node weights lifted to initializers. */
  model: Model;
  blocks: BlockMap;
  sites: AdapterSites;
  /** Float parameters of the base model (for "percent of the base"). */
  baseParameters: number;
  /** What was done to a base stored in float16 / bfloat16 to compute it in float32 (compute-in-float32.ts). */
  half: HalfRewrite;
}

/**
 * External weights of at least this size stay in the base model's data files while compiling:
 * the compiler rewrites the graph around frozen weights without reading them, and the artifacts
 * link those files (docs/performance.md). Smaller ones (norm scales, shape constants) are read.
 */
export const DEFER_WEIGHTS_ABOVE = 64 * 1024;

/**
 * Prepares a decoded base model (read with `deferAbove: DEFER_WEIGHTS_ABOVE` from a file, or
 * decoded from bytes a page holds) and finds its blocks, as the plan's `blocks` setting says.
 * `source` names the model (its path, for messages and the manifest) and its sha256.
 */
export function prepareModel(plan: Plan, proto: ModelProto, source: { path: string; sha256: string }): PreparedBase {
  const model = modelFromProto(proto);
  // Weights some exporters keep in Constant nodes become initializers, so they can be found
  // by locate and made trainable; small constants (shapes, scalars) stay where they are.
  liftConstants(model.graph, 2);
  // A half-precision base computes in float32 (ORT's CPU kernels are float32), its large
  // weights kept half on disk and cast by ORT once at load.
  const half = computeInFloat32(model, DEFER_WEIGHTS_ABOVE);
  // Loops over sequences whose counts are known (torch's repeat_interleave / unbind over a dim
  // it could not size) become plain ops that autodiff and locate read; others stay, and an
  // autodiff error names them if they lie on a parameter's path.
  unrollSequences(model);
  // The base model's parameters as `lor2c inspect` counts them (buffers and folded copies excluded).
  const baseParameters = countParameters(model.graph, proto.producerName).parameters;
  // onnxruntime's fused ops (Attention, SkipLayerNormalization, ...) become the plain ops an
  // unfused export has, so blocks are found through them and autodiff needs no rule for them.
  lowerContribOps(model);
  const blocks = locateBlocks(model, plan.blocks);
  if (blocks.pastInputs.length) {
    throw new UserError(
      `${source.path} is a decoder exported with its key/value cache: inputs ${blocks.pastInputs.map((i) => `'${i}'`).join(', ')} are past keys/values the blocks append to; lor2c trains on whole sequences and does not feed a cache`,
      'export the model without past key/values (torch: call it without past_key_values; Optimum: the plain decoder, e.g. `decoder_model.onnx`, not `decoder_with_past_model.onnx` or a merged one)',
    );
  }
  return { modelPath: source.path, sha256: source.sha256, model, blocks, sites: sitesFromBlocks(blocks), baseParameters, half };
}

export interface Compiled {
  graphs: TrainingGraphs;
  /**
   * Under `target cuda fallback cpu`: the nodes of the train / eval / infer graphs without a
   * CUDA kernel, which ORT runs on the CPU (empty when every node has one, or the target is cpu).
   */
  cudaFallback: string;
  manifest: Manifest;
  initial: Map<string, { shape: number[]; values: Float32Array }>;
  report: ParameterReport;
}

/**
 * Above this many trainable values the optimizer runs as the split update (update-graph.ts):
 * 16M float32 values are 64 MiB a copy, where the fused step's nine copies at the JS boundary
 * begin to outweigh the split update's extra gradient copy and its chunked runs.
 */
export const SPLIT_UPDATE_ABOVE = 16 * 1024 * 1024;

export interface CompileOptions {
  target?: 'cpu' | 'cuda';
  /** How the optimizer runs: fused into the train graph, or split (default: by the trainable values' count, SPLIT_UPDATE_ABOVE). */
  update?: 'fused' | 'split';
  /** Optimizer updates over the whole run (decaying LR schedules need it). */
  totalSteps?: number;
}

/** Builds the three graphs and the manifest for one adapter structure. */
export function compileStructure(base: PreparedBase, plan: Plan, structure: AdapterStructure, opts: CompileOptions = {}): Compiled {
  const model = cloneModel(base.model);
  const applied = applyAdapters(model, base.sites, structure, { seed: plan.train.seed });
  const extras = extraTrainables(base.model, plan); // the base model's own weights, not the adapters'
  const trainable = [...applied.parameters.map((p) => p.name), ...extras.map((e) => e.name)];
  const parameters: ParameterInfo[] = [...applied.parameters, ...extras.map(extraInfo)];
  const report = parameterReport(parameters, structure, base.baseParameters);
  const graphs = buildTrainingGraphs(model, {
    trainable,
    loss: lossSpec(plan),
    optimizer: optimizerSpec(plan),
    schedule: scheduleSpec(plan, opts.totalSteps),
    maxGradNorm: plan.train.clipNorm,
    accumulationSteps: plan.train.accumulate,
    groups: [
      ...extras.map((e) => ({ params: [e.name], lrScale: e.lrScale, weightDecay: e.weightDecay ? undefined : 0 })),
    ],
    dropoutSeed: plan.train.seed,
    precision: precisionSpec(plan),
    update: opts.update ?? (report.trainable > SPLIT_UPDATE_ABOVE ? 'split' : 'fused'),
  });
  const target = opts.target ?? plan.target.device;
  // The half graphs are the GPU's; on the CPU each op reading or writing half computes in
  // float32 between Casts, so every tensor still holds what the half graph stores.
  if (plan.train.precision !== 'fp32' && target === 'cpu') for (const m of [graphs.train, graphs.eval, graphs.infer]) roundHalfOnCpu(m.graph);
  // The dropout masks' high bits by shifts, where the provider has them (the same numbers).
  if (target === 'cpu') shiftsOnCpu(graphs.train.graph);
  const initial = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const p of applied.parameters) initial.set(p.name, { shape: p.shape, values: applied.initial.get(p.name)! });
  for (const e of extras) initial.set(e.name, { shape: e.shape, values: e.values });
  const manifest = buildManifest(base, plan, structure, graphs, parameters, opts);
  const cudaFallback = target === 'cuda' ? checkCudaKernels(graphs, plan.target.fallback === 'cpu') : '';
  return { graphs, manifest, initial, report, cudaFallback };
}

/**
 * Every node of the three graphs must have a CUDA kernel for `target cuda`: one that has none
 * runs on the CPU, its tensors copied across each step. With `fallback cpu` that is allowed
 * and the list is returned for a warning; without, it is an error naming the nodes.
 */
function checkCudaKernels(graphs: TrainingGraphs, fallback: boolean): string {
  const found = graphKinds(graphs)
    .map((g) => [g, formatCoverageProblems(checkOpCoverage(graphs[g]!.graph, graphs[g]!.opsets))] as const)
    .filter(([, text]) => text !== '');
  if (found.length === 0) return '';
  const text = found.map(([g, list]) => `${g}.onnx: ${list}`).join('\n  ');
  if (fallback) return text;
  throw new UserError(
    `target cuda: nodes without a CUDA kernel in onnxruntime 1.30 (they would run on the CPU):\n  ${text}`,
    'write `target cuda fallback cpu` to run them on the CPU anyway (their tensors cross to the host each step), or `target cpu`',
  );
}

interface ExtraTrainable { name: string; shape: number[]; values: Float32Array; lrScale: number; weightDecay: boolean }

/** The manifest entry of a base-model weight made trainable. */
export function extraInfo(e: ExtraTrainable): ParameterInfo {
  return { name: e.name, shape: e.shape, dtype: 'float32', module: e.name, role: 'extra', lrScale: e.lrScale, weightDecay: e.weightDecay };
}

/** Base-model weights the spec makes trainable by name pattern (a task head: PEFT's modules_to_save). */
export function extraTrainables(model: Model, plan: Plan): ExtraTrainable[] {
  const out: ExtraTrainable[] = [];
  // A wildcard means the model's weights, as torch's `model.parameters()` does: float buffers
  // (causal masks, rotary cos/sin tables, BatchNorm statistics: inspect's rules) are stored as
  // initializers too, but training them would change what the model computes. Named exactly,
  // a buffer is trained as asked.
  let buffers: Set<string> | undefined;
  const isBuffer = (name: string) => (buffers ??= new Set(countParameters(model.graph, model.origin?.producerName ?? '').excluded.filter((x) => x.kind !== 'copy').map((x) => x.name))).has(name);
  for (const { pattern, lrScale } of plan.train.trainable) {
    const regex = patternRegex(pattern);
    const wildcard = /\*|\{i\}/.test(pattern);
    const matched = [...model.graph.initializers.values()].filter((t) => regex.test(t.name) && isFloatType(t.dataType) && !(wildcard && isBuffer(t.name)));
    if (matched.length === 0) {
      // Suggest the weights whose names are nearest to the pattern's literal text.
      const literal = pattern.replace(/\*|\{i\}/g, '');
      const weights = [...model.graph.initializers.values()].filter((t) => isFloatType(t.dataType) && t.dims.length > 0).map((t) => t.name);
      const nearest = weights.map((n) => ({ n, d: editDistance(literal, n.slice(0, literal.length + 2)) })).sort((a, b) => a.d - b.d).slice(0, 5).map((x) => `'${x.n}'`);
      throw new UserError(`trainable "${pattern}" matches no weight of the model`, `nearest weight names: ${nearest.join(', ')} (\`lor2c inspect\` lists the model)`);
    }
    for (const t of matched) {
      if (out.some((e) => e.name === t.name)) continue;
      if (t.dataType !== 1) throw new UserError(`trainable weight '${t.name}' is ${dataTypeName(t.dataType)}; lor2c trains float32 weights`);
      const shape = t.dims.map(Number);
      // Biases and norm scales (1-D) are not decayed, as Hugging Face's Trainer does.
      out.push({ name: t.name, shape, values: Float32Array.from(tensorArray(t) as Float32Array), lrScale, weightDecay: shape.length > 1 });
    }
  }
  return out;
}

/** fp16 / bf16 (with fp16's loss scaling), or undefined for float32 training. */
function precisionSpec(plan: Plan): TrainingSpec['precision'] {
  const p = plan.train.precision;
  if (p === 'fp32') return undefined;
  if (p === 'bf16') return { type: DataType.BFLOAT16 };
  // The checker writes fp16's loss scaling into the plan with its defaults; a plan made by hand must too.
  if (!plan.train.lossScale) throw new UserError('precision fp16 without its loss scaling: the plan has no `train.lossScale`', 'check the spec with lor2c (which writes the defaults), or set train.lossScale = { initial, growthInterval }');
  return { type: DataType.FLOAT16, lossScale: plan.train.lossScale };
}

function lossSpec(plan: Plan): LossSpec {
  const task = plan.train.task;
  if (task.kind === 'classify') return { kind: 'classification', logits: task.logits, labels: task.labels };
  if (task.kind === 'lm') return { kind: 'lm', logits: task.logits, labels: task.labels, ignoreIndex: task.ignoreIndex, shift: task.shift };
  return { kind: 'mse', prediction: task.output, target: task.target };
}

function optimizerSpec(plan: Plan): OptimizerSpec {
  const o = plan.train.optimizer;
  if (o.kind === 'adamw') return { kind: 'adamw', lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weightDecay };
  return { kind: 'sgd', lr: o.lr, momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay };
}

/**
 * The LR schedule. Its warmup and total step counts are inputs of the train graph, fed by the
 * runtime from the run's real length (data size x epochs, or --steps); the numbers here are
 * only the defaults recorded for callers that know no better.
 */
function scheduleSpec(plan: Plan, totalSteps: number | undefined): ScheduleSpec {
  const s = plan.train.schedule;
  const total = totalSteps ?? (plan.train.length.unit === 'steps' ? plan.train.length.count : 0);
  const warmup = warmupSteps(s.warmup, total);
  const hasWarmup = s.warmup.unit === 'steps' ? s.warmup.count > 0 : s.warmup.fraction > 0;
  if (s.kind === 'constant') return hasWarmup ? { kind: 'constant_with_warmup', warmupSteps: warmup } : { kind: 'constant' };
  return s.kind === 'linear' ? { kind: 'linear', warmupSteps: warmup, totalSteps: total } : { kind: 'cosine', warmupSteps: warmup, totalSteps: total };
}


function io(v: ValueInfoProto, binding: Binding): IOInfo {
  const { dtype, shape } = describeType(v.type);
  return { name: v.name, dtype, shape: (shape ?? []).map((d, i) => d ?? `dim${i}`), ...binding };
}

/**
 * Says what every input and output of a graph is: its type from the graph, its role from the
 * binding buildTrainingGraphs recorded when it made the value (a value without one is a bug),
 * and for batch data the range the model accepts.
 */
function graphInfo(file: string, model: Model, bindings: GraphInterface, bounds: Map<string, InputBounds>): GraphInfo {
  const described = (v: ValueInfoProto, of: Map<string, Binding>, what: string): IOInfo => {
    const binding = of.get(v.name);
    if (!binding) throw new Error(`internal error: ${file} ${what} '${v.name}' has no binding from the graph builder`);
    const known = binding.role === 'batch' ? bounds.get(v.name) : undefined;
    return io(v, known ? { ...binding, bounds: known } : binding);
  };
  return {
    file,
    inputs: model.graph.feedInputs().map((v) => described(v, bindings.inputs, 'input')),
    outputs: model.graph.outputs.map((v) => described(v, bindings.outputs, 'output')),
  };
}

function buildManifest(base: PreparedBase, plan: Plan, structure: AdapterStructure, graphs: TrainingGraphs, parameters: ParameterInfo[], opts: CompileOptions): Manifest {
  const task = plan.train.task;
  const o = plan.train.optimizer;
  const manifestTask: Manifest['task'] = task.kind === 'regress'
    ? { kind: 'regress', labelKey: task.target, logits: task.output }
    : task.kind === 'lm'
      ? { kind: 'lm', labelKey: task.labels, logits: task.logits, ignoreIndex: task.ignoreIndex, shift: task.shift }
      : { kind: 'classify', labelKey: task.labels, logits: task.logits, ...(task.positive !== undefined ? { positive: task.positive } : {}) };
  // The eval graph has the forward pass, the labels and the logits: the model's own limits.
  const evalGraph = graphs.eval.graph;
  const batchInputs = evalGraph.feedInputs().filter((v) => graphs.interfaces.eval.inputs.get(v.name)?.role === 'batch');
  const bounds = inputBounds(evalGraph, manifestTask, batchInputs, graphs.labels);
  return {
    format: 'lor2c-artifacts',
    formatVersion: 1,
    versions: { lor2c: LOR2C_VERSION, onnxruntime: ORT_VERSION },
    base: { path: base.modelPath, sha256: base.sha256 },
    plan,
    structure,
    blocks: { streams: base.blocks.streams, hidden: base.blocks.hidden, style: base.blocks.style, labels: base.blocks.blocks.map((b) => b.label) },
    training: { batch: plan.train.batch, accumulate: plan.train.accumulate, length: plan.train.length, evalEvery: plan.train.evalEvery, seed: plan.train.seed, warmup: plan.train.schedule.warmup },
    task: manifestTask,
    optimizer: { kind: o.kind, settings: { ...o, betas: o.kind === 'adamw' ? o.betas.join(',') : '' } as Record<string, number | boolean | string> },
    parameters,
    graphs: {
      // The trainer decides from this whether ORT may pack the train graph's weights (runtime/trainer.ts).
      train: { ...graphInfo('train.onnx', graphs.train, graphs.interfaces.train, bounds), prepackBytes: prepackBytes(graphs.train.graph) },
      eval: graphInfo('eval.onnx', graphs.eval, graphs.interfaces.eval, bounds),
      infer: graphInfo('infer.onnx', graphs.infer, graphs.interfaces.infer, bounds),
      ...(graphs.update && graphs.interfaces.update ? { update: { ...graphInfo('update.onnx', graphs.update, graphs.interfaces.update, bounds), ...(graphs.updateKernel ? { kernel: graphs.updateKernel } : {}) } } : {}),
    },
    weights: 'weights.bin',
    adapter: 'adapter.safetensors',
    target: opts.target ?? plan.target.device,
  };
}

