/**
 * Where adapters attach, as the rewrites need it: the residual stream h_0..h_L and the
 * projections inside each block. compiler/locate finds these in a model; the rewrites only
 * read this interface.
 */
export interface ProjectionSite {
  /** Block index, when the projection lies inside a block. */
  block?: number;
  /** q, k, v, o, qkv, up, gate, down; undefined when only a name pattern identifies it. */
  role?: string;
  /** The MatMul / Gemm node. */
  node: string;
  /** The weight initializer. */
  weight: string;
  /** The activation entering the projection (LoRA's x). */
  input: string;
  /** Where LoRA's delta is added: the projection's output after its bias (for a fused QKV part, that part after the split). */
  output: string;
  inDim: number;
  outDim: number;
  /**
   * For a part of a fused QKV projection whose split does not cut the last axis (GPT-NeoX's
   * per-head [.., heads, 3 * head_dim] slices, Bloom's [.., heads, 3, head_dim], ViT's
   * [.., 3, heads, head_dim]): the delta is added to the fused output (`output`, `fusedDim`
   * wide), delta column j into fused column columns[j], zeros elsewhere.
   */
  columns?: number[];
  /** One of q, k, v of a fused projection (the whole one is listed too): pattern targets skip these. */
  fusedPart?: boolean;
  /** Width of the fused output, where `columns` is set. */
  fusedDim?: number;
  /** For a fused projection whose q/k/v columns could not be proven: why (LoRA on q, k or v is then refused, naming it). */
  partsUnproven?: string;
}

export interface AdapterSites {
  /**
   * The stream entering and leaving each block (h_i and h_{i+1} of its stack), and its stack.
   * Blocks are numbered across stacks (an encoder's, then a decoder's); a LoR2C path must
   * start and end in one stack, whose stream it bypasses.
   */
  blocks: { input: string; output: string; stack: string }[];
  /** Width d of the residual stream. */
  hidden: number;
  /** Projections of one block, found by role. */
  projections(block: number): ProjectionSite[];
  /** Every projection in the model, in blocks or not (heads, poolers): for name-pattern targets. */
  allProjections(): ProjectionSite[];
}
