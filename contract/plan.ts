/**
 * The Plan: what a checked .lor2c spec means, as a plain JSON-serialisable object.
 *
 * This is the contract between the language and the compiler. Everything has its default
 * filled in; nothing here needs a model. Block choices that depend on the model's block count
 * (`all`, `every 2`, `-1`) stay symbolic as `BlockSelection`s; `resolveBlocks` and
 * `resolvePlan` (dsl/resolve.ts) turn them into indices once the count is known.
 * Section numbers (§) refer to docs/method.md.
 */

/** 2: `blocks boundaries` holds one list of streams per stack (`streams`), block ranges may name a stack. */
export const PLAN_VERSION = 2;

export interface Plan {
  /** Bumped on incompatible changes to these types. */
  planVersion: typeof PLAN_VERSION;
  /**
   * The base model, resolved against the folder of the spec file (absolute when the spec's
   * path was). Absent when the spec names none: the CLI's `--model` must supply it.
   */
  model?: string;
  /** How the compiler finds the blocks F_0..F_{L-1} (the residual stream tensors h_i). */
  blocks: BlockDiscovery;
  /** `lor2c` sections: LoR2C module layouts (§1), still symbolic in the block count. */
  lor2c: Lor2cSection[];
  /**
   * The concrete LoR2C modules after tiling, per-block overrides and static merges, in block
   * order. Present when the block count is known: every selection is explicit (no `all`,
   * `every`, negative index) or the checker was given ModelFacts. Otherwise call
   * `resolvePlan(plan, blockCount)`.
   */
  modules?: Lor2cModule[];
  /** `lora` sections: ordinary LoRA on projections inside blocks. */
  lora: LoraSection[];
  /** ShareLoR2C groups (§2). A module is in at most one group per matrix (A, B). */
  share: ShareGroup[];
  /** MergeLoR2C (§4): static merges and/or an SFS-driven schedule. */
  merge?: MergePlan;
  /** InjectLoR2C (§5). With `merge` too, this is IMLoR2C (§6): at a point where both fire, merge first, then inject, from one SFS snapshot. */
  inject?: InjectPlan;
  /** Task, loss, optimizer, schedule and loop settings, defaults filled in. */
  train: TrainPlan;
  /** Where the compiled graphs run. */
  target: TargetPlan;
  /** `text { }`: how raw-text data files are tokenized (absent: token-id data, or the CLI's flags). */
  text?: TextPlan;
}

/**
 * `text { }`: the tokenizer and fields that turn raw-text rows into model inputs. The same
 * settings as `lor2c compile --tokenizer` and its field flags, which override these.
 */
export interface TextPlan {
  /** A Hugging Face tokenizer.json, resolved against the spec's folder. */
  tokenizer: string;
  textField?: string;
  pairField?: string;
  labelField?: string;
  /** Tokens at most, special tokens included. */
  maxLength?: number;
  /** Label names in class-id order. */
  labels?: string[];
}

/**
 * Which blocks, before the block count is known. Indices are 0-based; negative ones count from
 * the end (-1 is the last block). `ranges` undefined means every block. `every` keeps the 1st,
 * (1+every)th, ... block of the selection in ascending order (`every 2` over all = 0, 2, 4...).
 */
export interface BlockSelection {
  ranges?: BlockRange[];
  /** Keeps every k-th block of the whole selection (after `stackEvery`). */
  every: number;
  /** `encoder 0..-1 every 2`: every k-th of the blocks chosen in that stack, by stack name. */
  stackEvery?: Record<string, number>;
}

/**
 * Both ends inclusive; `from` may be greater than `to` only once negatives are resolved.
 * With `stack`, the indices count within that stack (`decoder 0..1` is the decoder's first two
 * blocks, `decoder -1` its last); without, across all blocks in the order the stacks run.
 */
export interface BlockRange {
  from: number;
  to: number;
  stack?: string;
}

/**
 * The names the locator gives stacks: `main` (a model with one), `encoder` and `decoder` (an
 * encoder-decoder), `stack0`, `stack1`, ... (several stacks not related so).
 */
export const STACK_NAME = /^(main|encoder|decoder|stack\d+)$/;

/** One stack's blocks in the model's numbering: first .. first + count - 1. */
export interface StackExtent {
  name: string;
  first: number;
  count: number;
  /** The earlier stack whose weights this one reads block for block (a twin tower). */
  twinOf?: string;
}

export type BlockDiscovery =
  /** The compiler's locator finds the blocks itself. */
  | { kind: 'auto' }
  /**
   * Nodes whose names match `pattern` belong to block i. `{i}` stands for the block index,
   * `*` for any run of characters; e.g. "/encoder/layer.{i}/*".
   */
  | { kind: 'pattern'; pattern: string }
  /**
   * The residual-stream tensors by name, one list per stack in the order the stacks run: a
   * stack of L blocks lists L+1, h_0 (entering its first block), then each block's output.
   */
  | { kind: 'boundaries'; streams: string[][] };

/** How a fresh A matrix is drawn; B always starts at zero so the adapted model starts equal to the base. */
export type InitKind =
  /** A ~ U(-1/sqrt(d), 1/sqrt(d)): PyTorch's kaiming_uniform(a = sqrt(5)), the paper's (§1). */
  | 'kaiming'
  /** A ~ N(0, 1/r): PEFT's init_lora_weights="gaussian". */
  | 'gaussian';

/** One `lor2c [name] { ... }` section (§1). */
export interface Lor2cSection {
  /** The section's name (`lor2c` when unnamed; `lor2c_2`... for further unnamed ones). */
  name: string;
  /** Blocks covered by modules. Each maximal run of consecutive selected blocks is cut into modules of `span` blocks (a shorter last one if the run does not divide). */
  blocks: BlockSelection;
  /** Blocks per module (default 1: one module per block, §1 default layout). */
  span: number;
  rank: number;
  alpha: number;
  dropout: number;
  init: InitKind;
  /** Later entries win. A module takes an override when its first block is selected. */
  overrides: LayerOverride[];
}

/** `override blocks SEL { rank .. alpha .. dropout .. }`, like PEFT's rank_pattern / alpha_pattern. */
export interface LayerOverride {
  blocks: BlockSelection;
  rank?: number;
  alpha?: number;
  dropout?: number;
}

/** A concrete LoR2C module: reads h_start, adds (alpha/rank) * Dropout(x) A^T B^T to the output of block end. */
export interface Lor2cModule {
  /** `b3` for span [3,3]; `b3_5` for [3,5]. Parameter names are `lor2c.<id>.A` / `.B`. Merged modules get the id of their new span. */
  id: string;
  /** The `lor2c` section it came from. */
  section: string;
  /** [start, end], inclusive, 0-based. */
  span: [number, number];
  rank: number;
  alpha: number;
  dropout: number;
  init: InitKind;
}

/** Projection roles the locator knows. `qkv` is a fused query/key/value projection; `cross_*` a decoder's cross-attention. */
export const PROJECTION_ROLES = ['q', 'k', 'v', 'o', 'qkv', 'up', 'down', 'gate', 'cross_q', 'cross_k', 'cross_v', 'cross_o'] as const;
export type ProjectionRole = (typeof PROJECTION_ROLES)[number];

export type ProjectionTarget =
  /** A projection found by role inside each selected block. */
  | { kind: 'role'; role: ProjectionRole }
  /** MatMul/Gemm nodes (or their weight initializers) whose names match; `{i}` = block index, `*` = anything. Like PEFT's target_modules. */
  | { kind: 'pattern'; pattern: string };

/** One `lora [name] { ... }` section: W x + (alpha/rank) B A Dropout(x) on each target in each selected block. */
export interface LoraSection {
  name: string;
  /** Default: q and v (PEFT's default for BERT- and LLaMA-like models). */
  targets: ProjectionTarget[];
  /** Like PEFT's layers_to_transform. Default: all blocks. Role targets only apply within these blocks; pattern targets with `{i}` too. */
  blocks: BlockSelection;
  rank: number;
  alpha: number;
  dropout: number;
  init: InitKind;
  overrides: LayerOverride[];
}

export type ShareMatrix = 'A' | 'B' | 'both';

/**
 * ShareLoR2C (§2): the members use one A (and/or one B); the rest of each module stays its own.
 * A module created by a merge is a member when both of its parts were.
 */
export interface ShareGroup {
  share: ShareMatrix;
  members: ShareMembers;
}

export type ShareMembers =
  | { kind: 'all' }
  /** Modules whose first block is selected. */
  | { kind: 'blocks'; blocks: BlockSelection }
  /** Modules by id (`b3`, `b0_1`) and/or every module of the named `lor2c` sections. */
  | { kind: 'named'; modules: string[]; sections: string[] };

/** The SFS metric (§3). */
export type SfsMetric = { kind: 'mean' } | { kind: 'topk'; k: number };

export type TimeUnit = 'steps' | 'epochs';

/** A recurring point in training: after every `count` steps or epochs. */
export interface Interval {
  count: number;
  unit: TimeUnit;
}

/** How a merged module starts (§4). */
export type MergeInit =
  /** Copies of the first module's A and B (the paper's). */
  | 'first'
  /** The best rank-r approximation (truncated SVD) of B1 A1 + B2 A2, r the first module's rank. */
  | 'svd';

export interface MergePlan {
  /** Spans merged before training starts, each exactly covering two or more adjacent modules. Already applied in `modules`. */
  static: BlockRange[];
  /** How merged modules start, for both static and scheduled merges. */
  init: MergeInit;
  schedule?: MergeSchedule;
}

/**
 * Scheduled points are `every`, 2*`every`, ... (counted from the start of training), up to the
 * fraction `until` of training and at most `max` of them. At each point one adjacent pair
 * (merged length <= maxSpan) with the lowest SFS sum is merged.
 */
export interface MergeSchedule {
  metric: SfsMetric;
  every: Interval;
  /**
   * True when `every` was derived as in the GLUE script: floor(E / 4 / max) + 1 epochs (or
   * steps), E being `train.length`. Recompute it if the length is overridden (CLI --epochs/--steps).
   */
  everyDerived: boolean;
  /** At most this many merges; absent: no limit. */
  max?: number;
  /** A fraction in (0, 1]. */
  until: number;
  /** Longest merged span, in blocks; absent: no limit. */
  maxSpan?: number;
}

/** InjectLoR2C (§5): replace the never-merged module with the highest SFS by LoRA on its start block's projections. */
export interface InjectPlan {
  metric: SfsMetric;
  every: Interval;
  everyDerived: boolean;
  max?: number;
  until: number;
  /** Rank of the injected LoRA; absent: half the removed module's rank (parameter-neutral for d x d projections). */
  rank?: number;
  /** Absent: the removed module's alpha. */
  alpha?: number;
  /** Absent: the removed module's dropout. */
  dropout?: number;
  /** Default: q and v (§5). */
  targets: ProjectionTarget[];
}

export type TaskPlan =
  /**
   * Softmax cross-entropy over the `logits` output (last axis = classes) against integer labels from data key `labels`.
   * `positive`: the class F1 is computed for, a label name or a class id; absent: class id 1.
   */
  | { kind: 'classify'; logits: string; labels: string; positive?: string | number }
  /** Token-level cross-entropy; with `shift`, position t predicts label t+1 (labels may be the input ids). Labels equal to ignoreIndex do not count. */
  | { kind: 'lm'; logits: string; labels: string; ignoreIndex: number; shift: boolean }
  /** Mean squared error between the `output` tensor and data key `target`. */
  | { kind: 'regress'; output: string; target: string; loss: 'mse' };

/** Extra trainable base-model parameters, like PEFT's modules_to_save (e.g. the classifier head). */
export interface TrainablePattern {
  /** Initializer names; `*` = any run of characters. */
  pattern: string;
  /** Their learning rate is lr * lrScale (the GLUE recipe trains the head at lr/2). */
  lrScale: number;
}

export type OptimizerPlan =
  | { kind: 'adamw'; lr: number; betas: [number, number]; eps: number; weightDecay: number }
  | { kind: 'sgd'; lr: number; momentum: number; nesterov: boolean; weightDecay: number };

/** Warmup length: a number of steps, or a fraction of all steps. */
export type Warmup = { unit: 'steps'; count: number } | { unit: 'fraction'; fraction: number };

/** LR multiplier over training: linear warmup from 0, then constant / linear decay to 0 / cosine decay to 0. */
export interface LrSchedulePlan {
  kind: 'constant' | 'linear' | 'cosine';
  warmup: Warmup;
}

export interface TrainPlan {
  task: TaskPlan;
  trainable: TrainablePattern[];
  optimizer: OptimizerPlan;
  schedule: LrSchedulePlan;
  /** Clip the global gradient L2 norm to this; absent: no clipping. */
  clipNorm?: number;
  /** Examples per step (per micro-batch when accumulating). */
  batch: number;
  /** Micro-batches whose gradients are summed per optimizer step. */
  accumulate: number;
  /** Training length; `steps` counts optimizer steps. */
  length: Interval;
  evalEvery?: Interval;
  seed: number;
  /** fp16 / bf16: half-precision forward and backward, float32 master weights and optimizer (docs/performance.md). */
  precision: Precision;
  /** fp16 only: dynamic loss scaling, its initial scale and the overflow-free steps before it doubles. */
  lossScale?: { initial: number; growthInterval: number };
}

/** The numeric precisions `precision` accepts. */
export const PRECISIONS = ['fp32', 'fp16', 'bf16'] as const;
export type Precision = (typeof PRECISIONS)[number];

export interface TargetPlan {
  device: 'cpu' | 'cuda';
  /** Use the CPU (with a message) when CUDA cannot start. */
  fallback?: 'cpu';
}

/** What the checker can use when a model is known (from the compiler's locator). */
export interface ModelFacts {
  blockCount: number;
  /** The model's stacks, for selections that name one (`decoder 0..1`); absent: one stack, `main`. */
  stacks?: StackExtent[];
  /** Width d of the residual stream entering each block (length blockCount, or blockCount + 1 with the last block's output). */
  hidden?: number[];
  /** Projection roles the locator found in the blocks. */
  projections?: string[];
}

/** `Plan` with every block selection applied to a known block count. */
export interface ResolvedPlan {
  blockCount: number;
  modules: Lor2cModule[];
  /** One entry per (block, target) for role targets, per (selected block or not, pattern) for patterns. */
  lora: ResolvedLoraSite[];
  /** Share groups as module ids, in module order. */
  share: Array<{ share: ShareMatrix; modules: string[] }>;
}

export interface ResolvedLoraSite {
  section: string;
  /** The block, or undefined for a pattern target without `{i}` (applies wherever it matches). */
  block?: number;
  target: ProjectionTarget;
  rank: number;
  alpha: number;
  dropout: number;
  init: InitKind;
}
