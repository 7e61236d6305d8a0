/**
 * manifest.json: the contract between `lor2c compile` and the runtime. It says what every
 * graph input and output of train.onnx / eval.onnx / infer.onnx means, and describes every
 * trainable parameter, so the runtime never has to guess from names.
 */
import type { Plan, Warmup } from './plan.ts';
import type { AdapterStructure } from './structure.ts';

/** A dimension: a size, or a symbolic name such as 'batch' or 'seq'. */
export type Dim = number | string;

export type ParameterRole =
  | 'lor2c.A' | 'lor2c.B'   // LoR2C down / up projections (docs/method.md section 1)
  | 'lora.A' | 'lora.B'     // LoRA on a projection (baseline, or injected)
  | 'extra'                 // an original weight made trainable (task head, full fine-tuning)
  ;

export interface ParameterInfo {
  /** Stable readable name: lor2c.<module>.A, lora.<block>.<proj>.A, or the original initializer name. */
  name: string;
  shape: number[];
  dtype: string;
  /** Module id (e.g. 'm3') or LoRA target ('b3.q'); the original name for 'extra'. */
  module: string;
  role: ParameterRole;
  /** Learning-rate multiplier of its parameter group (1 unless the spec says otherwise). */
  lrScale: number;
  /** Whether decoupled weight decay applies. */
  weightDecay: boolean;
}

/** What a graph input or output carries. */
export type IORole =
  | 'batch'        // a data tensor from the JSONL file (model input or label)
  | 'param'        // current value of a trainable parameter (`of` names it)
  | 'state'        // optimizer state of a parameter (`of` names it, `slot` says which: 'm', 'v', 'momentum', 'accum')
  | 'step'         // optimizer updates already applied (int64 scalar: 0 at the first update, as HF schedules count)
  | 'schedule'     // an LR-schedule length (int64 scalar): `slot` 'warmup_steps' or 'total_steps' of the run
  | 'apply'        // gradient accumulation: bool scalar, true on the last micro-batch of an optimizer step
  | 'micro'        // gradient accumulation: int64 scalar, the micro-batch's index within its step
  | 'grad'         // split update: the gradient the optimizer applies (train graph: `of` names the parameter; update graph: the chunk's)
  | 'hyper'        // split update: the parameter's group, `slot` 'lr_scale' (float64) or 'decay' (bool)
  | 'operand'      // split update: a float32 scalar the update kernel reads (GraphInfo.kernel), per parameter
  | 'param.next'   // updated parameter
  | 'state.next'   // updated optimizer state
  | 'loss'         // scalar mean loss of the batch
  | 'metric'       // an auxiliary scalar or per-example output (`metric` names it)
  | 'output';      // a model output (logits)

export interface IOInfo {
  name: string;
  dtype: string;
  shape: Dim[];
  role: IORole;
  of?: string;
  slot?: string;
  metric?: string;
  /** For 'batch': the data key it reads, when that is not its name (LM labels read from input_ids). */
  key?: string;
  /** For 'batch': this input holds the labels (padded with the task's ignore index for LM). */
  label?: boolean;
  /** For 'batch': the values and lengths the model accepts (input-bounds.ts); every data row is checked against them. */
  bounds?: InputBounds;
}

/** What a data input accepts, read from the model (its tables' rows, its logits' width). */
export interface InputBounds {
  /** Every value must be an integer in [min, max], or equal `ignore` (a loss's ignore index). */
  values?: { min: number; max: number; ignore?: number; why: string };
  /** Dim `axis` of the input (0 is the batch dim) is at most `max` long. */
  lengths?: { axis: number; max: number; why: string }[];
}

export interface GraphInfo {
  file: string;
  inputs: IOInfo[];
  outputs: IOInfo[];
  /**
   * The train graph's: what ORT's weight prepacking would add to its session's memory, in bytes
   * (packed copies of its constant matrix weights, compiler/emit/prepack-bytes.ts). The trainer
   * lets ORT pack only when this is small; absent (older artifacts), it does not.
   */
  prepackBytes?: number;
  /**
   * The update graph's: its element-wise arithmetic as straight-line float32 code, which the
   * trainer runs over the parameters in place of one update-graph run a chunk
   * (runtime/update-kernel.ts); absent where the graph has an op the code does not express.
   */
  kernel?: UpdateKernel;
}

/**
 * The split update's per-element arithmetic, read off the update graph's nodes (compiler/train/
 * update-kernel.ts): the same float32 operations in the same order, so it computes the graph's
 * bits. Registers 0..inputs.length-1 hold the tensor inputs; instruction k writes register
 * inputs.length + k.
 */
export interface UpdateKernel {
  /** The update graph's tensor inputs, in register order. */
  inputs: string[];
  /** Scalar operands: a constant's float32 value, or an update-graph output (role 'operand') computed per parameter. */
  scalars: ({ value: number } | { output: string })[];
  code: { op: KernelOp; args: KernelOperand[] }[];
  /** The update graph's tensor outputs, each with the register that holds it. */
  outputs: { name: string; register: number }[];
}

/**
 * The kernel's ops and their operand counts: ONNX's element-wise ops of those names. Where(c, x,
 * y) is x where the scalar c is not 0, else y (a per-parameter flag, read as float32 0 or 1).
 */
export const KERNEL_OPS = { Add: 2, Sub: 2, Mul: 2, Div: 2, Sqrt: 1, Neg: 1, Where: 3 } as const;

export type KernelOp = keyof typeof KERNEL_OPS;

export type KernelOperand = { register: number } | { scalar: number };

export interface Manifest {
  format: 'lor2c-artifacts';
  formatVersion: 1;
  versions: { lor2c: string; onnxruntime: string };
  /** Where the base model came from, and its hash, so a stale artifact is detected. */
  base: { path: string; sha256: string };
  /** The checked plan the artifacts were compiled from. */
  plan: Plan;
  /** The adapter structure compiled. It starts as the plan's and changes with Merge / Inject. */
  structure: AdapterStructure;
  /** The residual stream found in the base model: h_0..h_L and its width d. */
  blocks: { streams: string[]; hidden: number; style: string; labels: string[] };
  /** Training-loop settings from the plan that the runtime applies. */
  training: {
    batch: number;
    accumulate: number;
    length: { count: number; unit: 'steps' | 'epochs' };
    evalEvery?: { count: number; unit: 'steps' | 'epochs' };
    seed: number;
    /** LR warmup: a step count, or a fraction of the run's total steps (rounded up). */
    warmup: Warmup;
  };
  /**
   * `shift` (lm): position t predicts label t + 1, so a row's first label is never a target; absent means true.
   * `positive` (classify): the class F1 is computed for, a label name or a class id; absent means class id 1.
   */
  task: { kind: 'classify' | 'lm' | 'regress'; labelKey: string; logits: string; ignoreIndex?: number; shift?: boolean; positive?: string | number };
  optimizer: { kind: 'adamw' | 'sgd'; settings: Record<string, number | boolean | string> };
  parameters: ParameterInfo[];
  /** `update`: with the split update, the optimizer over one chunk of one parameter at a time (the train graph then returns gradients). */
  graphs: { train: GraphInfo; eval: GraphInfo; infer: GraphInfo; update?: GraphInfo };
  /** Shared external data file holding the frozen weights of all three graphs. */
  weights: string;
  /** Initial values of the trainable parameters. */
  adapter: string;
  target: 'cpu' | 'cuda';
}


/** LR warmup (its one home is the Plan's type). */
export type { Warmup };

/** Warmup steps of a run of `total` optimizer steps: a count, or a fraction rounded up (HF's warmup_ratio). */
export function warmupSteps(warmup: Warmup, total: number): number {
  return warmup.unit === 'steps' ? warmup.count : Math.ceil(warmup.fraction * total);
}
