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
   * For a part of a fused QKV projection whose split does not cut the last axis (a reshape to
   * [.., 3, heads, head_dim] and a Gather): the delta is added to the fused output, into
   * column block `index` of `blocks` equal blocks (each outDim wide), zeros elsewhere.
   */
  columns?: { index: number; blocks: number };
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
  /** Every projection in the model (for name-pattern targets). */
  allProjections(): ProjectionSite[];
}
