/**
 * The training loop, against the artifacts contract of contract/manifest.ts. Each step
 * feeds a batch, every trainable parameter, its optimizer state and the step counter (updates already applied) to
 * the fused train graph, and takes back the updated parameters and state. With the split update
 * (artifacts with update.onnx) the train graph gives back the gradients instead, and
 * split-update.ts applies the optimizer over the parameters in place, a chunk at a time.
 * Parameters and state live here as Float32Arrays between steps; frozen weights stay inside the graph.
 *
 * Guarantees:
 * - Determinism: data order is a function of (seed, epoch) and the graph's own randomness
 *   (dropout) of the step counter, so a run stopped at step k and resumed from its checkpoint
 *   reaches bit-identical parameters at step n on CPU (same thread settings).
 * - A NaN/Inf loss or updated value stops the run BEFORE the step is committed: the last good
 *   parameters stay, a checkpoint of them is written (when checkpointing), the result says which
 *   tensor went bad at which step. (With the split update, a value the optimizer makes
 *   non-finite from finite gradients, which takes values near float32's limit, may come after
 *   earlier chunks were written in place: the run then stops saying so, and writes no
 *   checkpoint of them.)
 * - Under fp16's loss scaling a gradient overflow is not that: the graph itself leaves the
 *   parameters as they were and halves the scale; the step counts, and the log gets a
 *   `skipped` record (with the new scale) in place of its step record.
 * - stop() (and SIGINT with handleSignals) ends the run after the current step with a checkpoint.
 * - Structural events (Merge/Inject) go through `onStructuralEvent`: after each step the hook
 *   sees the current parameters and state and may return recompiled artifacts with the
 *   carried-over values; the trainer switches sessions, logs the event and checkpoints.
 *
 * Files, sessions and the event loop come from a TrainerHost (node-host.ts on Node; a page
 * has its own), so this loop is the same code in Node and in a browser.
 */
import { UserError } from '../contract/errors.ts';
import { warmupSteps, type GraphInfo, type IOInfo, type Manifest } from '../contract/manifest.ts';
import { checkParameterSet } from './artifacts-parse.ts';
import type { BestResult, Checkpoint, Float32Tensor } from './checkpoint.ts';
import { BatchPlan, type DataPosition } from './data/batches.ts';
import { collate } from './data/collate.ts';
import { classCount, type Examples } from './data/examples-contract.ts';
import type { TextInput } from './data/text-dataset.ts';
import { dataSchema } from './data/schema.ts';
import { defaultBestMetric, evaluate, higherIsBetter, metricTitle, paramFeeds, positiveClass, type Metrics } from './evaluate.ts';
import type { StepRecord } from './log.ts';
import { headerRecord, moduleSfs } from './report/run-record.ts';
import { Progress, type ProgressOptions } from './progress.ts';
import { int64Scalar, tensor, type EngineSession, type TensorValue } from './engine/engine.ts';
import type { SessionSettings } from './session.ts';
import { countBoundary, describeBoundary, noBytes, type BoundaryBytes } from './boundary-bytes.ts';
import type { TrainerHost, TrainingSink } from './trainer-host.ts';
import { applySplitUpdate } from './split-update.ts';
import { KERNEL_BLOCK, UpdateKernelRunner } from './update-kernel.ts';
import { allFinite, isNonFiniteFlag, provenFinite } from './finite.ts';
import { scheduledChanges } from './scheduled-changes.ts';
import type { Interval, Plan } from '../dsl/index.ts';

export interface StructuralContext {
  /** Steps completed. */
  step: number;
  position: DataPosition;
  manifest: Manifest;
  artifacts: string;
  parameters: ReadonlyMap<string, Float32Tensor>;
  /** Optimizer state keyed '<parameter>:<slot>'. */
  optimizer: ReadonlyMap<string, Float32Tensor>;
}

export interface StructuralChange {
  /** Directory of the recompiled artifacts. */
  artifacts: string;
  /** Every trainable parameter of the new manifest (carried over or newly initialised). */
  parameters: Map<string, Float32Tensor>;
  /** Optimizer state for the new parameters, keyed '<parameter>:<slot>'; absent entries start at zero. */
  optimizer: Map<string, Float32Tensor>;
  /** What happened and why (logged as is, with the step): e.g. { type: 'merge', pair: [...], sfs: {...} }. */
  event: { type: string; [detail: string]: unknown };
}

/** Called after every committed step; returns a change at a scheduled point, undefined otherwise. */
export type StructuralHook = (ctx: StructuralContext) => Promise<StructuralChange | undefined> | StructuralChange | undefined;

export interface TrainerOptions {
  /** Artifacts directory (manifest.json, train.onnx, eval.onnx, adapter.safetensors). */
  artifacts: string;
  /** Training data: token-id JSONL, or raw text (JSONL with a text field, CSV, TSV) with `text`. */
  data: string;
  /** Evaluation data (same formats); evaluation needs it. */
  evalData?: string;
  /** How raw text is tokenized and labelled (a first labelled file fixes `text.labels`). */
  text?: TextInput;
  /** Total optimizer steps of the run (counting steps before a resume); default: the spec's length. */
  steps?: number;
  /** Alternatively, epochs over the training data. */
  epochs?: number;
  /** Examples per batch (default: the spec's `batch`; a graph with a fixed batch dim decides it). */
  batchSize?: number;
  /** Shuffling seed (default: the spec's `seed`). */
  seed?: number;
  /** Length bucketing over chunks of this many batches (0: off). */
  bucket?: number;
  /** false: batches in file order every epoch (for comparisons with a reference run). Default true. */
  shuffle?: boolean;
  /** Leave bad data rows out instead of refusing the file. */
  skipInvalid?: boolean;
  /** Pad values by input name (defaults: 0, LM labels the ignore index). */
  padValues?: Record<string, number>;
  /** Initial parameter values instead of the artifacts' adapter.safetensors. */
  init?: string;
  /** Checkpoint folder; checkpoints go there every `checkpointEvery` steps, at the end, on stop and when evaluation improves. */
  checkpoint?: string;
  checkpointEvery?: number;
  /** Checkpoint (folder or directory) to continue from. */
  resume?: string;
  /** Evaluate every N steps, or every interval (N steps | N epochs), and at the end, when evalData is given; default: the spec's `eval every`. */
  evalEvery?: number | Interval;
  /** Metric deciding the best checkpoint (default by task: accuracy, pearson, loss). */
  bestMetric?: string;
  /** JSONL training log. */
  log?: string;
  session?: SessionSettings;
  /**
   * With the split update: whether the update graph's kernel (runtime/update-kernel.ts) computes
   * the values, where the manifest has one (default true); false runs the graph a chunk at a time.
   */
  updateKernel?: boolean;
  /** With the split update: values per chunk of the update graph (default UPDATE_CHUNK, runtime/split-update.ts), or per block of its kernel (default KERNEL_BLOCK). */
  updateChunk?: number;
  /** With the split update: intra-op threads of the update graph's session (default 1, see openUpdate). */
  updateThreads?: number;
  /** Progress display; false for none. */
  progress?: false | Omit<ProgressOptions, 'total'>;
  /** Install a SIGINT handler that stops after the current step (the CLI sets it). */
  handleSignals?: boolean;
  /**
   * The structural hook. Default: the spec's own Merge / Inject schedule from the host
   * (node-host.ts recompiles into `<artifacts>/structure/step-N`); a plan that schedules them is
   * never trained without them (refused where the host cannot recompile).
   */
  onStructuralEvent?: StructuralHook;
  /** Told every committed step (what the log records), e.g. for a page's loss chart. */
  onStep?: (rec: StepRecord) => void;
}

export type TrainStatus = 'done' | 'stopped' | 'nonfinite';

export interface TrainResult {
  status: TrainStatus;
  /** Steps completed (committed). */
  step: number;
  /** Loss of the last committed step. */
  loss: number | undefined;
  /** For 'nonfinite': what went bad (tensor names, step). */
  problem?: string;
  metrics?: Metrics;
  best?: BestResult;
  /** The last checkpoint written. */
  checkpoint?: string;
}

interface Sessions {
  dir: string;
  manifest: Manifest;
  /**
   * Undefined from an evaluation until the next step reopens it: each session holds its own
   * copy of the frozen weights, so only one is open at a time (docs/performance.md).
   */
  train: EngineSession | undefined;
  /** The split update's graph (runtime/split-update.ts), opened and released with the train session. */
  update: EngineSession | undefined;
  /** The split update's kernel (runtime/update-kernel.ts), compiled at the first update from `manifest`'s. */
  kernel?: UpdateKernelRunner;
  stateInputs: IOInfo[];
  /** Which compile `dir` holds (checkpoints record it), where the host can tell. */
  manifestSha256?: string;
}


function zerosLike(shape: number[]): Float32Tensor {
  return { shape: [...shape], data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
}

/**
 * The library's whole-number options, refused as the CLI refuses its flags (a library caller has
 * no CLI in front): a checkpoint interval of 0 or 1.5 would silently never checkpoint, a batch
 * size of 1.5 fail deep in the batch plan, a seed of 1e300 make every checkpoint unreadable.
 */
function checkCounts(opts: TrainerOptions): void {
  const whole = (name: string, value: number | undefined, min: 0 | 1) => {
    if (value === undefined || (Number.isSafeInteger(value) && value >= min)) return;
    throw new UserError(`Trainer option ${name} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer, got ${value}`);
  };
  whole('seed', opts.seed, 0);
  whole('steps', opts.steps, 0);
  whole('epochs', opts.epochs, 1);
  whole('batchSize', opts.batchSize, 1);
  whole('checkpointEvery', opts.checkpointEvery, 1);
  whole('bucket', opts.bucket, 0);
  whole('updateChunk', opts.updateChunk, 1);
  whole('updateThreads', opts.updateThreads, 1);
  if (typeof opts.evalEvery === 'number') whole('evalEvery', opts.evalEvery, 1);
  else if (opts.evalEvery !== undefined) {
    whole('evalEvery.count', opts.evalEvery.count, 1);
    if (opts.evalEvery.unit !== 'steps' && opts.evalEvery.unit !== 'epochs') throw new UserError(`Trainer option evalEvery.unit must be 'steps' or 'epochs', got ${JSON.stringify(opts.evalEvery.unit)}`);
  }
}

export class Trainer {
  private sessions!: Sessions;
  private params = new Map<string, Float32Tensor>();
  private optimizer = new Map<string, Float32Tensor>();
  private stepCount = 0;
  private position: DataPosition = { epoch: 0, batch: 0 };
  private best: BestResult | undefined;
  private lastMetrics: Metrics | undefined;
  private lastLoss: number | undefined;
  private stopRequested = false;
  private boundaryNoted = false;
  private lastCheckpoint: string | undefined;
  private seed: number;
  private readonly batchSize: number;
  private plan!: BatchPlan;
  /** Rows one run of the train graph computes (batch x longest example), for the session's settings. */
  private rowsPerRun = 1;
  private trainData!: Examples;
  private evalData: Examples | undefined;
  private readonly totalSteps: number;
  private log: TrainingSink | undefined;
  /** Evaluate every this many steps (undefined: at the end only). */
  private evalInterval: number | undefined;
  private hook: StructuralHook | undefined;

  /** Held on the checkpoint folder from open() to the end of run(), so two runs cannot share it. */
  private releaseFolder: (() => void) | undefined;

  private constructor(private readonly opts: TrainerOptions, private readonly host: TrainerHost, sessions: Sessions, batchSize: number, seed: number, totalSteps: number) {
    this.sessions = sessions;
    this.batchSize = batchSize;
    this.seed = seed;
    this.totalSteps = totalSteps;
  }

  /** Loads artifacts, data and initial (or resumed) state. */
  static async open(opts: TrainerOptions, host: TrainerHost): Promise<Trainer> {
    // The checkpoint folder is claimed (and so found writable) before anything else is done.
    const release = opts.checkpoint === undefined ? undefined : host.claimCheckpointFolder?.(opts.checkpoint);
    try {
      const t = await Trainer.openUnclaimed(opts, host);
      t.releaseFolder = release;
      return t;
    } catch (e) {
      release?.();
      throw e;
    }
  }

  private static async openUnclaimed(opts: TrainerOptions, host: TrainerHost): Promise<Trainer> {
    checkCounts(opts);
    const resumed = opts.resume ? host.readCheckpoint(opts.resume) : undefined;
    // After a Merge/Inject the parameters belong to DIR's recompile, which the checkpoint names
    // (followed only to artifacts of the same base model, holding the compile it was written for).
    const { dir: artifacts, manifest } = (resumed && host.checkpointArtifacts?.(opts.artifacts, resumed, opts.resume!)) || ownArtifacts(host, opts.artifacts, resumed);
    const fixed = manifest.graphs.train.inputs.find((i) => i.role === 'batch' && typeof i.shape[0] === 'number')?.shape[0] as number | undefined;
    if (fixed !== undefined && opts.batchSize !== undefined && opts.batchSize !== fixed) {
      throw new UserError(`the artifacts were compiled for batch size ${fixed}, but batch size ${opts.batchSize} was asked for`, `use --batch-size ${fixed} or recompile with a symbolic batch dim`);
    }
    // One source of defaults: the spec's settings the compiler wrote into the manifest.
    const training = manifest.training;
    const batchSize = fixed ?? opts.batchSize ?? training.batch;
    const seed = opts.seed ?? training.seed;
    const dataOptions = { skipInvalid: opts.skipInvalid, text: opts.text, task: manifest.task, classes: classCount(manifest) };
    const trainData = await host.openDataset(opts.data, dataSchema(manifest.graphs.train, manifest.task, opts.padValues), dataOptions);
    const plan = new BatchPlan(trainData.lengths, { batchSize, seed, bucket: opts.bucket, shuffle: opts.shuffle, dropLast: fixed !== undefined });
    // Opened once the data is known: how many rows a run computes decides ORT's weight prepacking.
    const rows = rowsPerRun(batchSize, trainData.lengths);
    const sessions = await openSessions(host, artifacts, manifest, opts, rows);
    let totalSteps: number;
    const length = opts.steps !== undefined || opts.epochs !== undefined ? { steps: opts.steps, epochs: opts.epochs } : training.length.unit === 'steps' ? { steps: training.length.count } : { epochs: training.length.count };
    if (length.steps !== undefined) totalSteps = length.steps;
    else totalSteps = Math.floor((length.epochs! * plan.batchesPerEpoch) / accumulateOf(manifest));
    if (!Number.isInteger(totalSteps) || totalSteps < 0) throw new UserError(`the number of steps must be a non-negative integer, got ${totalSteps}`);
    const t = new Trainer(opts, host, sessions, batchSize, seed, totalSteps);
    t.rowsPerRun = rows;
    t.trainData = trainData;
    t.plan = plan;
    if (opts.evalData) t.evalData = await host.openDataset(opts.evalData, dataSchema(manifest.graphs.eval, manifest.task, opts.padValues), dataOptions);
    // A misnamed positive class is refused once the labels are known, not at an evaluation after training steps.
    positiveClass(manifest.task, opts.text?.labels, classCount(manifest));
    if (resumed) t.restore(resumed);
    else t.initialise();
    if (opts.log) t.log = host.openLog(opts.log, resumed?.step);
    const every = opts.evalEvery ?? training.evalEvery;
    t.evalInterval = every === undefined ? undefined : typeof every === 'number' ? every : every.unit === 'steps' ? every.count : every.count * t.stepsPerEpoch;
    t.hook = opts.onStructuralEvent ?? t.planSchedule(host.artifactsLocation(opts.artifacts));
    if (opts.log && !resumed) {
      const settings = { steps: totalSteps, stepsPerEpoch: t.stepsPerEpoch, batch: batchSize, accumulate: accumulateOf(manifest), seed, ...(t.evalInterval ? { evalEvery: t.evalInterval } : {}) };
      t.log!.event({ ...headerRecord(manifest, { artifacts: t.artifacts, data: opts.data, evalData: opts.evalData, settings }) });
    }
    return t;
  }

  get manifest(): Manifest {
    return this.sessions.manifest;
  }

  get artifacts(): string {
    return this.sessions.dir;
  }

  get step(): number {
    return this.stepCount;
  }

  get dataPosition(): DataPosition {
    return { ...this.position };
  }

  get total(): number {
    return this.totalSteps;
  }

  /** Optimizer steps in one pass over the training data. */
  get stepsPerEpoch(): number {
    return Math.max(1, Math.floor(this.plan.batchesPerEpoch / this.accumulate));
  }

  /** Micro-batches per optimizer step. */
  private get accumulate(): number {
    return accumulateOf(this.manifest);
  }

  /** Examples left out under skipInvalid: file:line and why for the first few of each file, then how many more. */
  get skippedRows(): string[] {
    return [...this.trainData.skipped.lines(this.trainData.path), ...(this.evalData?.skipped.lines(this.evalData.path) ?? [])];
  }

  /** The current parameters (live arrays: copy before mutating). */
  parameters(): ReadonlyMap<string, Float32Tensor> {
    return this.params;
  }

  /** The optimizer state, keyed '<parameter>:<slot>'. */
  optimizerState(): ReadonlyMap<string, Float32Tensor> {
    return this.optimizer;
  }

  /** Asks the run to end after the current step (with a checkpoint). */
  stop(): void {
    this.stopRequested = true;
  }

  private initialise(): void {
    this.params = this.host.readParameters(this.manifest, this.artifacts, this.opts.init);
    this.optimizer = this.freshOptimizerState(new Map());
  }

  private restore(c: Checkpoint): void {
    checkParameterSet(this.manifest, c.parameters, `checkpoint ${this.opts.resume}`);
    const extra = c.extra ?? {};
    if (extra.batchSize !== undefined && extra.batchSize !== this.batchSize) {
      throw new UserError(`the checkpoint was trained with batch size ${String(extra.batchSize)}, this run uses ${this.batchSize}; the data position would not mean the same batches`, `resume with --batch-size ${String(extra.batchSize)}`);
    }
    if (extra.examples !== undefined && extra.examples !== this.trainData.size) {
      throw new UserError(`the checkpoint was trained on ${String(extra.examples)} examples, ${this.opts.data} has ${this.trainData.size}; resuming would not continue the same run`);
    }
    if (extra.shuffle !== undefined && extra.shuffle !== (this.opts.shuffle ?? true)) {
      throw new UserError(`the checkpoint was trained with shuffling ${extra.shuffle ? 'on' : 'off'}, this run has it ${extra.shuffle ? 'off' : 'on'}; the data position would not mean the same batches`);
    }
    if (extra.bucket !== undefined && extra.bucket !== (this.opts.bucket ?? 0)) {
      throw new UserError(`the checkpoint was trained with length bucketing ${String(extra.bucket)}, this run uses ${this.opts.bucket ?? 0}; the data position would not mean the same batches`);
    }
    if (c.rng.seed !== this.seed && this.opts.seed !== undefined) {
      throw new UserError(`the checkpoint was trained with seed ${c.rng.seed}, this run asks for seed ${this.seed}`, 'omit --seed when resuming');
    }
    // The data position must lie within this run's data (a damaged or edited state.json could
    // point past it, which would fail mid-run or silently repeat data).
    const perEpoch = this.plan.batchesPerEpoch;
    const state = `checkpoint ${this.opts.resume} (state.json)`;
    if (c.data.batch >= perEpoch) {
      throw new UserError(`${state}: 'data.batch' is ${c.data.batch}, but an epoch of ${this.opts.data} has ${perEpoch} batches of ${this.batchSize}`, 'resume from another checkpoint, with the data and batch size it was trained with');
    }
    if (c.data.epoch > c.step * this.accumulate) {
      throw new UserError(`${state}: 'data.epoch' is ${c.data.epoch}, more epochs than the ${c.step} steps recorded could have consumed`, 'resume from another checkpoint');
    }
    this.seed = c.rng.seed;
    this.plan = new BatchPlan(this.trainData.lengths, { ...this.plan.opts, seed: c.rng.seed });
    this.params = new Map(this.manifest.parameters.map((p) => [p.name, c.parameters.get(p.name)!]));
    this.optimizer = this.freshOptimizerState(c.optimizer);
    this.stepCount = c.step;
    this.position = { ...c.data };
    this.best = c.best;
    this.lastMetrics = c.metrics;
  }

  /** Optimizer state for every (parameter, slot) the train graph reads: carried over when given, zeros otherwise. */
  private freshOptimizerState(carried: ReadonlyMap<string, Float32Tensor>): Map<string, Float32Tensor> {
    const out = new Map<string, Float32Tensor>();
    const problems: string[] = [];
    for (const io of this.sessions.stateInputs) {
      const key = `${io.of}:${io.slot}`;
      // The manifest gives each slot's shape (an update count is a scalar); symbolic dims fall back to the parameter's.
      const shape = io.shape.every((d) => typeof d === 'number') ? (io.shape as number[]) : this.params.get(io.of!)!.shape;
      const given = carried.get(key);
      if (given && JSON.stringify(given.shape) !== JSON.stringify(shape)) problems.push(`'${key}' has shape ${JSON.stringify(given.shape)}, expected ${JSON.stringify(shape)}`);
      out.set(key, given ?? zerosLike(shape));
    }
    for (const key of carried.keys()) if (!out.has(key)) problems.push(`unexpected optimizer state '${key}'`);
    if (problems.length) throw new UserError(`optimizer state does not match the artifacts:\n  ${problems.join('\n  ')}`);
    return out;
  }

  private checkpointData(): Checkpoint {
    return {
      step: this.stepCount,
      data: { ...this.position },
      rng: { seed: this.seed },
      plan: this.manifest.plan,
      artifacts: this.artifacts,
      base: { sha256: this.manifest.base.sha256 },
      manifestSha256: this.sessions.manifestSha256,
      metrics: this.lastMetrics,
      best: this.best,
      extra: { batchSize: this.batchSize, examples: this.trainData.size, bucket: this.opts.bucket ?? 0, shuffle: this.opts.shuffle ?? true },
      parameters: this.params,
      optimizer: this.optimizer,
    };
  }

  /** Writes a checkpoint now (no-op without a checkpoint folder). */
  saveCheckpoint(best = false): string | undefined {
    if (!this.opts.checkpoint) return undefined;
    const release = this.releaseFolder ? undefined : this.host.claimCheckpointFolder?.(this.opts.checkpoint);
    try {
      this.lastCheckpoint = this.host.writeCheckpoint(this.opts.checkpoint, this.checkpointData(), best);
    } finally {
      release?.();
    }
    return this.lastCheckpoint;
  }

  /** Releases the checkpoint folder (run() does at its end; for a Trainer opened and never run). */
  close(): void {
    this.releaseFolder?.();
    this.releaseFolder = undefined;
  }

  /** Evaluates the current parameters on the eval data. */
  async evaluate(): Promise<Metrics> {
    if (!this.evalData) throw new UserError('no evaluation data was given');
    // The train and eval sessions each hold a copy of the frozen weights: the train session is
    // closed while evaluating and the eval session after it, so the process never holds two.
    await this.releaseTrainSession();
    const session = await this.host.openGraph(this.artifacts, this.manifest.graphs.eval.file, this.opts.session);
    try {
      return await evaluate(session, this.manifest, this.evalData, this.params, this.batchSize, this.opts.text?.labels);
    } finally {
      await session.release();
    }
  }

  /** Runs until the total step count, a stop request, or a non-finite value. */
  async run(): Promise<TrainResult> {
    const progress = this.opts.progress === false ? undefined : new Progress({ total: this.totalSteps, tokens: this.hasSequenceDim(), ...this.opts.progress });
    const onSigint = () => {
      if (this.stopRequested) this.host.exitNow();
      this.stopRequested = true;
      (progress ? (l: string) => progress.note(l) : this.host.notice)('lor2c: stopping after this step and writing a checkpoint (Ctrl-C again to quit at once)');
    };
    const unsubscribe = this.opts.handleSignals ? this.host.onInterrupt(onSigint) : undefined;
    try {
      while (this.stepCount < this.totalSteps) {
        // Let signal handlers and other events run between steps (session.run blocks the loop).
        await this.host.pause();
        if (this.stopRequested) {
          progress?.finish();
          return this.result('stopped', this.saveCheckpoint());
        }
        const outcome = await this.trainStep();
        if (outcome.problem) {
          progress?.finish();
          // Values updated part-way are no step's: never written as a checkpoint.
          const ckpt = outcome.partial ? undefined : this.saveCheckpoint();
          return { ...this.result('nonfinite', ckpt), problem: outcome.problem };
        }
        progress?.update({ step: this.stepCount, loss: outcome.loss, lr: outcome.lr, examples: outcome.examples, tokens: outcome.tokens });
        // The traffic is the same every step (fixed shapes) but for padded batches: said once.
        if (!this.boundaryNoted) {
          this.boundaryNoted = true;
          progress?.note(describeBoundary(outcome.bytes));
        }
        let evalMetrics: Metrics | undefined;
        let improved = false;
        const every = this.evalInterval;
        if (this.evalData && ((every && this.stepCount % every === 0) || this.stepCount === this.totalSteps)) {
          evalMetrics = await this.evaluate();
          this.lastMetrics = evalMetrics;
          improved = this.considerBest(evalMetrics);
          progress?.note(`eval @ step ${this.stepCount}: ${Object.entries(evalMetrics).map(([k, v]) => `${metricTitle(k, this.manifest.task, this.opts.text?.labels)} ${v.toPrecision(4)}`).join('  ')}${improved ? '  (best)' : ''}`);
        }
        if (outcome.skipped) {
          const skipped = { type: 'skipped', step: this.stepCount, loss_scale: outcome.skipped.lossScale, why: 'fp16 gradient overflow: the parameters were left as they were and the loss scale halved' };
          this.log?.event(skipped);
          progress?.note(`step ${this.stepCount} skipped: fp16 gradient overflow, loss scale now ${outcome.skipped.lossScale}`);
        }
        const record: StepRecord = { step: this.stepCount, loss: outcome.loss, ...(outcome.lr !== undefined ? { lr: outcome.lr } : {}), ...(outcome.gradNorm !== undefined ? { grad_norm: outcome.gradNorm } : {}), seconds: outcome.seconds, examples: outcome.examples, ...(outcome.tokens ? { tokens: outcome.tokens } : {}), bytes: outcome.bytes, ...(evalMetrics ? { eval: evalMetrics } : {}), epoch: this.position.epoch };
        const scores = evalMetrics ? moduleSfs(this.manifest, this.params) : undefined;
        if (scores) record.sfs = scores;
        if (!outcome.skipped) {
          this.log?.step(record);
          this.opts.onStep?.(record);
        }
        // The best checkpoint holds what was evaluated: written before a Merge/Inject at this
        // step changes the structure (the change is then checkpointed on its own).
        if (improved) this.saveCheckpoint(true);
        const changed = await this.structuralPoint(progress);
        const periodic = this.opts.checkpointEvery !== undefined && this.stepCount % this.opts.checkpointEvery === 0;
        if (changed || (!improved && (periodic || this.stepCount === this.totalSteps))) this.saveCheckpoint();
      }
      progress?.finish();
      return this.result('done', this.lastCheckpoint);
    } finally {
      unsubscribe?.();
      this.close();
      // The train session holds the frozen weights: a finished run gives them back at once
      // rather than when the Trainer is collected (a next run() or step reopens it).
      await this.releaseTrainSession();
    }
  }

  private async releaseTrainSession(): Promise<void> {
    const { train, update } = this.sessions;
    this.sessions.train = undefined;
    this.sessions.update = undefined;
    await train?.release();
    await update?.release();
  }

  private result(status: TrainStatus, checkpoint: string | undefined): TrainResult {
    return { status, step: this.stepCount, loss: this.lastLoss, metrics: this.lastMetrics, best: this.best, checkpoint };
  }

  private hasSequenceDim(): boolean {
    return this.trainData.lengths.some((l) => l > 0);
  }

  private considerBest(metrics: Metrics): boolean {
    const metric = this.opts.bestMetric ?? defaultBestMetric(this.manifest.task);
    const value = metrics[metric];
    if (value === undefined) throw new UserError(`best metric '${metric}' is not computed for a ${this.manifest.task.kind} task (available: ${Object.keys(metrics).join(', ')})`);
    if (Number.isNaN(value)) return false;
    const better = !this.best || (higherIsBetter(metric) ? value > this.best.value : value < this.best.value);
    if (better) this.best = { step: this.stepCount, metric, value, metrics };
    return better;
  }

  /** One step: run the graph, check every output, commit only if all are finite. */
  /**
   * One optimizer step: `accumulate` micro-batches through the train graph (gradient
   * accumulation: the graph sums gradients into its `grad_accum` state and applies the update on
   * the micro-batch flagged `apply`). Every output is checked; the step is committed only when
   * all of them are finite.
   */
  private async trainStep(): Promise<{ loss: number; lr?: number; gradNorm?: number; seconds: number; examples: number; tokens: number; bytes: BoundaryBytes; problem?: string; partial?: boolean; skipped?: { lossScale: number } }> {
    const graph = this.manifest.graphs.train;
    const micro = this.accumulate;
    const params = new Map(this.params);
    const state = new Map(this.optimizer);
    let position = this.position;
    let lossSum = 0, lr: number | undefined, gradNorm: number | undefined, seconds = 0, examples = 0, tokens = 0;
    let overflow = false, lossScale: number | undefined;
    const bytes = noBytes();
    const nextStep = this.stepCount + 1;
    // With the split update: the gradients the update applies, from the micro-batch that applies it.
    const grads = new Map<string, Float32Array>();
    for (let k = 0; k < micro; k++) {
      const indices = this.plan.batchAt(position);
      const batch = collate(indices.map((i) => this.trainData.example(i)), this.trainData.schema);
      const feeds: Record<string, TensorValue> = { ...batch.feeds, ...paramFeeds(graph, params) };
      for (const io of graph.inputs) {
        if (io.role === 'state') {
          const s = state.get(`${io.of}:${io.slot}`)!;
          feeds[io.name] = tensor('float32', s.data, s.shape);
        } else if (io.role === 'schedule' || io.role === 'step') {
          feeds[io.name] = this.counterFeed(io);
        } else if (io.role === 'apply') {
          feeds[io.name] = tensor('bool', Uint8Array.of(k === micro - 1 ? 1 : 0), []);
        } else if (io.role === 'micro') {
          feeds[io.name] = int64Scalar(k);
        }
      }
      // Before the micro-batch that applies the update, the graph passes parameters and
      // optimizer moments through unchanged (a Where on `apply`): only the gradient
      // accumulators, loss and metrics are read back, saving (k - 1) / k of the traffic.
      const applies = k === micro - 1;
      // (Nor the graph's non-finite flag, which reads the updated values and would compute them.)
      const wanted = applies ? graph.outputs : graph.outputs.filter((io) => !(io.role === 'param.next' || io.role === 'grad' || (io.role === 'state.next' && io.slot !== 'grad_accum') || isNonFiniteFlag(io)));
      // Reopened after an evaluation; not counted in the step's seconds, as the first open is not.
      this.sessions.train ??= await openTrain(this.host, this.sessions.dir, this.manifest, this.opts, this.rowsPerRun);
      const started = performance.now();
      const out = await this.sessions.train.run(feeds, applies ? undefined : wanted.map((io) => io.name));
      seconds += (performance.now() - started) / 1000;
      countBoundary(bytes, graph, feeds, out);
      examples += batch.examples;
      tokens += batch.tokens;
      const bad: string[] = [];
      // fp16 loss scaling: the graph found inf / NaN gradients (in this micro-batch or those
      // accumulated before it) and gates the update; the loss and accumulators may be non-finite.
      const flag = wanted.find((io) => io.role === 'metric' && io.metric === 'overflow');
      const overflowed = flag !== undefined && Number(out[flag.name]?.data[0]) !== 0;
      overflow = overflowed;
      // The graph's own check of its updated values (or gradients): when it says all are finite, they need no scan here.
      const clean = provenFinite(wanted, out);
      for (const io of wanted) {
        const t = out[io.name];
        if (!t) throw new Error(`the train graph did not return '${io.name}'`);
        const data = t.data as Float32Array;
        if (io.role === 'loss') lossSum += Number(data[0]);
        else if (io.role === 'metric' && io.metric === 'lr') lr = Number(data[0]);
        // The pre-clip global norm; with accumulation, the last micro-batch's is the applied update's.
        else if (io.role === 'metric' && io.metric === 'grad_norm') gradNorm = Number(data[0]);
        else if (io.role === 'metric' && io.metric === 'loss_scale') lossScale = Number(data[0]);
        else if (io.role === 'param.next') params.set(io.of!, { shape: [...t.dims], data });
        else if (io.role === 'state.next') state.set(`${io.of}:${io.slot}`, { shape: [...t.dims], data });
        else if (io.role === 'grad') grads.set(io.of!, data);
        else continue;
        if (overflowed && (io.role === 'loss' || io.role === 'grad' || (io.role === 'state.next' && io.slot === 'grad_accum'))) continue;
        if (io.role !== 'metric' && !(clean && coveredByFlag(io)) && !allFinite(data)) bad.push(io.name);
      }
      if (bad.length > 0) {
        const lines = indices.map((i) => this.trainData.refs[i]!.line).sort((a, b) => a - b).join(', ');
        const loss = lossSum / (k + 1);
        return { loss, lr, seconds, examples, tokens, bytes, problem: `step ${nextStep}: non-finite values in ${bad.join(', ')} (loss ${loss}); the step was not applied and the parameters of step ${this.stepCount} are kept (the batch was ${this.trainData.path} lines ${lines})` };
      }
      position = this.plan.next(position);
    }
    // The split update, unless fp16's loss scaling found an overflow (the update is skipped).
    const update = this.manifest.graphs.update;
    if (update && !overflow) {
      this.sessions.update ??= await openUpdate(this.host, this.sessions.dir, this.manifest, this.opts);
      if (update.kernel && this.opts.updateKernel !== false) this.sessions.kernel ??= new UpdateKernelRunner(update.kernel, this.opts.updateChunk ?? KERNEL_BLOCK);
      const started = performance.now();
      const applied = await applySplitUpdate({ session: this.sessions.update!, graph: update, parameters: this.manifest.parameters, params, state, grads, counter: (io) => this.counterFeed(io), bytes, chunk: this.opts.updateChunk, kernel: this.sessions.kernel });
      seconds += (performance.now() - started) / 1000;
      if (applied.problem) {
        const loss = lossSum / micro;
        const kept = applied.partial
          ? `the update was applied in place up to there, so these parameters are no checkpoint's: resume from the last checkpoint written${this.lastCheckpoint ? ` (${this.lastCheckpoint})` : ''}`
          : `the step was not applied and the parameters of step ${this.stepCount} are kept`;
        return { loss, lr, seconds, examples, tokens, bytes, partial: applied.partial, problem: `step ${nextStep}: ${applied.problem} (loss ${loss}); ${kept}` };
      }
    }
    this.params = params;
    this.optimizer = state;
    this.stepCount = nextStep;
    this.position = position;
    // A skipped step applied nothing: the loss of the last applied one stays the run's last loss.
    if (overflow) return { loss: lossSum / micro, lr, seconds, examples, tokens, bytes, skipped: { lossScale: (lossScale ?? NaN) / 2 } };
    this.lastLoss = lossSum / micro;
    return { loss: this.lastLoss, lr, gradNorm, seconds, examples, tokens, bytes };
  }

  /** The feed of a step counter or schedule length input (train and update graphs alike). */
  private counterFeed(io: IOInfo): TensorValue {
    if (io.role === 'step') return int64Scalar(this.stepCount); // updates already applied
    if (io.role === 'schedule') return int64Scalar(io.slot === 'total_steps' ? this.totalSteps : warmupSteps(this.manifest.training.warmup, this.totalSteps));
    throw new Error(`internal error: '${io.name}' (${io.role}) is no step counter or schedule input`);
  }

  /** The plan's own Merge / Inject schedule as the hook (from the host), or undefined when it schedules none. */
  private planSchedule(root: string): StructuralHook | undefined {
    const plan = this.manifest.plan as Plan;
    const what = scheduledChanges(plan);
    if (what.length === 0) return undefined;
    if (!this.host.planSchedule) throw new UserError(`the spec schedules ${what.join(' and ')}, which recompile the model during training, and this host cannot recompile`, 'train with `lor2c train` (Node), or pass onStructuralEvent');
    // Undefined when no point falls inside this run's length.
    return this.host.planSchedule({ plan, manifest: this.manifest, root, totalSteps: this.totalSteps, stepsPerEpoch: this.stepsPerEpoch });
  }

  /** Offers the hook a structural change; applies it when one comes back. */
  private async structuralPoint(progress: Progress | undefined): Promise<boolean> {
    const hook = this.hook;
    if (!hook) return false;
    const change = await hook({ step: this.stepCount, position: this.dataPosition, manifest: this.manifest, artifacts: this.artifacts, parameters: this.params, optimizer: this.optimizer });
    if (!change) return false;
    const dir = this.host.artifactsLocation(change.artifacts);
    const manifest = this.host.readManifest(dir);
    checkParameterSet(manifest, change.parameters, `the parameters after '${change.event.type}' at step ${this.stepCount}`);
    const previous = this.sessions;
    // One copy of the frozen weights at a time: the old train session is released before the
    // recompiled one opens (were the change to fail, the old one reopens at the next step).
    await this.releaseTrainSession();
    const sessions = await openSessions(this.host, dir, manifest, this.opts, this.rowsPerRun);
    this.sessions = sessions;
    this.params = new Map(manifest.parameters.map((p) => [p.name, change.parameters.get(p.name)!]));
    try {
      this.optimizer = this.freshOptimizerState(change.optimizer);
    } catch (e) {
      this.sessions = previous;
      await sessions.train?.release();
      await sessions.update?.release();
      throw e;
    }
    this.log?.event({ ...change.event, step: this.stepCount });
    progress?.note(`${change.event.type} at step ${this.stepCount}: now ${manifest.parameters.length} trainable tensors`);
    return true;
  }
}

/** The artifacts named, for a host that cannot follow checkpoints: a checkpoint of another base model is refused. */
function ownArtifacts(host: TrainerHost, where: string, resumed: Checkpoint | undefined): { dir: string; manifest: Manifest } {
  const dir = host.artifactsLocation(where);
  const manifest = host.readManifest(dir);
  const theirs = resumed?.base?.sha256;
  if (theirs && manifest.base.sha256 && theirs !== manifest.base.sha256) {
    throw new UserError(`the checkpoint was trained on a base model with sha256 ${theirs.slice(0, 12)}..., but ${where} was compiled from ${manifest.base.path} (sha256 ${manifest.base.sha256.slice(0, 12)}...)`, 'resume with the artifacts compiled from the model it was trained on');
  }
  return { dir, manifest };
}

async function openSessions(host: TrainerHost, dir: string, manifest: Manifest, opts: TrainerOptions, rows: number): Promise<Sessions> {
  const train = await openTrain(host, dir, manifest, opts, rows);
  const stateInputs = manifest.graphs.train.inputs.filter((i) => i.role === 'state');
  // With the split update each parameter's optimizer slots are the update graph's, fed a chunk at a time.
  const update = manifest.graphs.update?.inputs.filter((i) => i.role === 'state') ?? [];
  for (const p of manifest.parameters) for (const io of update) stateInputs.push({ ...io, of: p.name });
  for (const io of stateInputs) {
    if (!io.of || !io.slot) throw new UserError(`${dir}/manifest.json: state input '${io.name}' lacks 'of' or 'slot'`);
  }
  return { dir, manifest, train, update: await openUpdate(host, dir, manifest, opts), stateInputs, manifestSha256: host.manifestDigest?.(dir) };
}

/**
 * The most ORT's weight prepacking may add to the train session (`GraphInfo.prepackBytes`) for
 * the trainer to allow it. Packed, each product reads its frozen weight in MLAS's layout
 * instead of repacking it at every call: on a 2-core AVX-512 Xeon the BERT-base-sized and
 * GPT-2-small LoR2C steps took 8-10% less time, for 0.3-0.45 GiB more. Above this the second
 * copy of the weights decides what fits (4 GiB more on a 1.1B base: docs/performance.md).
 */
export const PREPACK_UP_TO = 2 ** 30;

/**
 * What the trainer knows of a run when it opens the train graph: the width of the model's
 * blocks (0 when the compiler located none) and the rows each run of the graph computes (batch
 * size x the longest example's length).
 */
export interface RunSize {
  hidden: number;
  rows: number;
}

/**
 * Whether the train graph's weights are packed when the caller does not say: when the copies
 * are at most PREPACK_UP_TO, and the run is large enough to pay for them. A block's packed
 * weights grow as d^2 and the activations its backward keeps as rows x d, so the copy is
 * worth its memory from some multiple of d rows on. At d / 2 rows the process stays below
 * PyTorch's peak for the same step where it was measured (BERT-base-sized, d 768, packed: 0.83
 * GiB against PyTorch's 0.68 at 1 x 32 rows, 0.94 against 0.99 at 4 x 64, 1.29 against 1.99 at
 * 8 x 128). Without an estimate (older artifacts) nothing is packed.
 */
export function prepackByDefault(train: GraphInfo | undefined, run: RunSize): boolean {
  const bytes = train?.prepackBytes;
  if (typeof bytes !== 'number' || !(bytes >= 0 && bytes <= PREPACK_UP_TO)) return false;
  return run.rows >= run.hidden / 2;
}

/** The rows one run of the train graph computes: every example padded to the longest. */
export function rowsPerRun(batchSize: number, lengths: readonly number[]): number {
  let longest = 1;
  for (const l of lengths) if (l > longest) longest = l;
  return batchSize * longest;
}

/**
 * How the train graph's session is opened, unless the caller says otherwise. The backward reads
 * every frozen weight a second time, transposed: packed, each read holds its own copy, which
 * the trainer allows only when those copies are small (`prepackByDefault`). A step's
 * activations are the process's peak, which ORT's memory pattern would allocate again as one
 * block beside the first step's. Without the pattern each step frees and allocates the same
 * activations again: ORT's arena hands back the blocks it holds, where malloc's heap fragments
 * and fresh pages fault in (a lower peak and faster steps: docs/performance.md, "The arena for
 * the train graph").
 */
export function trainSessionSettings(train: GraphInfo | undefined, run: RunSize, s: SessionSettings = {}): SessionSettings {
  return { ...s, memoryArena: s.memoryArena ?? true, weightPrepacking: s.weightPrepacking ?? prepackByDefault(train, run), memoryPattern: s.memoryPattern ?? false };
}

function openTrain(host: TrainerHost, dir: string, manifest: Manifest, opts: TrainerOptions, rows: number): Promise<EngineSession> {
  return host.openGraph(dir, manifest.graphs.train.file, trainSessionSettings(manifest.graphs.train, { hidden: manifest.blocks.hidden, rows }, opts.session));
}

/**
 * The split update's session: element-wise work on chunks of a few MiB, run hundreds of times a
 * step. With ORT's arena its intermediates reuse the same blocks (a run over 256K values took
 * 1.2 ms against 1.9 ms without). One thread unless the caller says: on the 2-core machine of
 * docs/performance.md a second thread made BERT-base's full fine-tuning step 0.3 s slower
 * (2.6 s against 2.25 s), the update being bound by memory, not arithmetic.
 */
async function openUpdate(host: TrainerHost, dir: string, manifest: Manifest, opts: TrainerOptions): Promise<EngineSession | undefined> {
  const graph = manifest.graphs.update;
  const s = opts.session ?? {};
  return graph ? host.openGraph(dir, graph.file, { ...s, memoryArena: s.memoryArena ?? true, intraOpThreads: opts.updateThreads ?? 1 }) : undefined;
}

/** The outputs that flag covers. */
function coveredByFlag(io: IOInfo): boolean {
  return io.role === 'param.next' || io.role === 'state.next' || io.role === 'grad';
}

/** Micro-batches per optimizer step: the train graph takes an `apply` flag only when accumulating. */
function accumulateOf(manifest: Manifest): number {
  return manifest.graphs.train.inputs.some((i) => i.role === 'apply') ? Math.max(1, manifest.training.accumulate) : 1;
}


