/** What block discovery reports: the residual stream h_0..h_L and each block's projections. */

/**
 * 'qkv' is a fused query/key/value projection; 'cross_*' the projections of a decoder's
 * cross-attention (its k and v read the encoder's output); 'other' a projection with no
 * recognised role.
 */
export type ProjectionRole = 'q' | 'k' | 'v' | 'qkv' | 'o' | 'cross_q' | 'cross_k' | 'cross_v' | 'cross_o' | 'up' | 'gate' | 'down' | 'other';

/** Where one part of a fused QKV projection leaves the split. */
export interface FusedPart {
  /** The value right after the Split / Slice / Gather that separates this part. */
  value: string;
  /** Position of the part in the fused output (0, 1, 2 in output order). */
  index: number;
  /** The split is a plain cut of the projection's last axis (Split/Slice on the last axis of y
   * or of a reshape that keeps it), so a delta computed from `x` can be added to `value` directly. */
  lastAxis: boolean;
  /** Width of the part along the last axis (0 when not a last-axis cut or not known). */
  width: number;
  /**
   * The fused output's columns this part reads, derived from the ops between the projection
   * and the split (compiler/locate/fused-columns.ts): part column j is fused column columns[j].
   * Absent when they could not be proven (see `unproven`).
   */
  columns?: number[];
  /** Why `columns` could not be derived: a per-part delta must then be refused. */
  unproven?: string;
  /** The activation whose leading axes match `value`'s: the projection's x, or, where the
   * projection ran on a flattened [N, in] copy (torch's addmm) and was reshaped back before
   * the split, the input before flattening. */
  x: string;
}

export interface Projection {
  role: ProjectionRole;
  /** Node name (or '#<index>' for an unnamed node). */
  node: string;
  opType: string;
  /** The weight's source: an initializer, or the output of a Constant node (see `weightInConstantNode`). */
  weight: string;
  /** True when the weight is a Constant node's output rather than an initializer: run liftConstants to train through it. */
  weightInConstantNode: boolean;
  /** How the stored weight is laid out: [in, out] (MatMul, Gemm transB=0) or [out, in] (Gemm transB=1, Transpose of the initializer). */
  layout: 'in,out' | 'out,in';
  bias?: string;
  inFeatures: number;
  outFeatures: number;
  /** The activation entering the projection. */
  x: string;
  /** Where a LoRA delta belongs: the projection's output after its bias. */
  y: string;
  /** For a fused 'qkv' projection: the q, k and v parts after the split. */
  parts?: { q: FusedPart; k: FusedPart; v: FusedPart };
}

export interface BlockInfo {
  /** Position among all blocks: the stacks' blocks one after the other, in the order they run. */
  index: number;
  /** The stack the block belongs to (StackInfo.name). */
  stack: string;
  /** Position within its stack. */
  indexInStack: number;
  /** From the exporter's name scopes ('encoder.layer.3', 'h.2', 'layers.1') when it left them, else 'block i'. */
  label: string;
  /** h_i: the residual stream entering the block. */
  input: string;
  /** h_{i+1}: the block's output (after the final LayerNorm in post-LN models). */
  output: string;
  /** Names of the nodes on paths from input to output, in topological order. */
  nodes: string[];
  projections: Projection[];
}

export type BlockStyle = 'pre-ln' | 'post-ln' | 'other';

/**
 * One stack of blocks over its own residual stream: the model's only one ('main'), or an
 * encoder-decoder's 'encoder' and 'decoder' (a decoder's blocks read the encoder's output).
 */
export interface StackInfo {
  name: string;
  /** Index (BlockInfo.index) of its first block; its blocks are first .. first + count - 1. */
  first: number;
  count: number;
  style: BlockStyle;
  /** Its h_0 .. h_count. */
  streams: string[];
  /**
   * The earlier stack whose weights this one reads block for block: one encoder run on two
   * inputs (a siamese or twin model). Adapters on both are separate parameters.
   */
  twinOf?: string;
}

export interface BlockMap {
  style: BlockStyle;
  /** Hidden size d of the residual stream (0 when it could not be told). */
  hidden: number;
  /** h_0 .. h_L of a model with one stack; empty when there are several (see `stacks`). */
  streams: string[];
  stacks: StackInfo[];
  blocks: BlockInfo[];
  /** Projections outside every block (input projections, poolers, heads): role 'other', targets of quoted LoRA patterns. */
  elsewhere: Projection[];
  /** Graph inputs the blocks append their new keys / values to: a past key/value cache. */
  pastInputs: string[];
  /** What was found, assumed or inconsistent, for the user to read. */
  notes: string[];
  /**
   * Of `notes`, those that make the structure doubtful (no attention, no norm, a side of an
   * attention without its projection, streams that fork): compile warns with the hint that
   * fixes it, and refuses under --strict.
   */
  doubts: string[];
}

/**
 * How the blocks are found (the .lor2c spec's top-level `blocks`, same shape as the DSL's
 * BlockDiscovery). `pattern`: node names matching it belong to block i; `{i}` stands for the
 * index and `*` for any run of characters, matched against the whole name
 * ("/encoder/layer.{i}/*"); a pattern without `{i}` is a regular expression whose first
 * capture group is the index ("layers\\.(\\d+)/"). `boundaries`: h_0 .. h_L by name, one list
 * per stack in the order the stacks run (an encoder-decoder's encoder, then its decoder).
 */
export type BlockOverride = { kind: 'auto' } | { kind: 'pattern'; pattern: string } | { kind: 'boundaries'; streams: string[][] };
