/**
 * The analytic FLOP count of one training step of the benchmarked transformers, for achieved
 * FLOP/s. Counted: the matrix products only (2 FLOPs per multiply-add): the projections, the
 * attention scores (Q K^T) and context (P V), the feed-forward layers, the head, and LoR2C's
 * two adapter products per block; forward once, and in the backward pass exactly the products
 * a minimal reverse pass needs: for Y = X W, dX = dY W^T when X depends on something trained
 * and dW = X^T dY when W is trained, each costing what the forward product did. Not counted:
 * element-wise ops, softmax, normalization, gathers, the loss and the optimizer (a small,
 * memory-bound share at these sizes). With a frozen base and an adapter on every block, block
 * 0's own backward is not needed (its adapter reads block 0's input, not its inside), so a LoR2C
 * step costs less than 2x the forward and full fine-tuning exactly 3x.
 */
export type Arch = 'bert' | 'gpt2' | 'llama';

export interface ModelShape {
  arch: Arch;
  layers: number;
  d: number;
  heads: number;
  /** Key/value heads (LLaMA's grouped-query attention); default: heads. */
  kvHeads?: number;
  ffn: number;
  vocab: number;
  batch: number;
  seq: number;
}

/** 'lor2c': frozen base, one rank-r adapter per block; 'full': every weight trained (with the optimizer fused into the train graph, or split: the default at this size). */
export type Training = { kind: 'lor2c'; rank: number } | { kind: 'full'; update?: 'fused' };

/** One matrix product of the forward pass and which of its operand gradients the backward needs. */
interface Product {
  flops: number;
  /** Gradient of the left operand (the activation) needed. */
  left: boolean;
  /** Gradient of the right operand (a weight, or an activation in attention) needed. */
  right: boolean;
}

export interface StepFlops {
  forward: number;
  backward: number;
  total: number;
}

function products(s: ModelShape, t: Training): Product[] {
  const T = s.batch * s.seq;
  const full = t.kind === 'full';
  const kvDim = (s.d / s.heads) * (s.kvHeads ?? s.heads);
  const mm = (rows: number, k: number, n: number) => 2 * rows * k * n;
  const out: Product[] = [];
  for (let i = 0; i < s.layers; i++) {
    // Block i's input depends on something trained: always in full fine-tuning (the
    // embeddings train); with adapters, from block 1 on (block i-1's adapter feeds it).
    const gradIn = full || i > 0;
    const weight = (flops: number) => out.push({ flops, left: gradIn, right: full });
    const projections = s.arch === 'llama' ? [s.d, kvDim, kvDim, s.d] : [s.d, s.d, s.d, s.d]; // q, k, v, o
    for (const n of projections) weight(mm(T, s.d, n));
    // Scores and context over all heads: 2 B S^2 (d / heads) per head, both operands activations.
    for (let k = 0; k < 2; k++) out.push({ flops: 2 * s.batch * s.seq * s.seq * s.d, left: gradIn, right: gradIn });
    const ffnProducts = s.arch === 'llama' ? [[s.d, s.ffn], [s.d, s.ffn], [s.ffn, s.d]] : [[s.d, s.ffn], [s.ffn, s.d]]; // (gate,) up, down
    for (const [k, n] of ffnProducts) weight(mm(T, k!, n!));
    if (t.kind === 'lor2c') {
      out.push({ flops: mm(T, s.d, t.rank), left: gradIn, right: true }); // h A^T: dA always, dh from block 1 on
      out.push({ flops: mm(T, t.rank, s.d), left: true, right: true }); // (h A^T) B^T: its input's gradient feeds dA
    }
  }
  if (s.arch === 'bert') {
    // The classification head reads the first token of each sequence: pooler, then classifier.
    out.push({ flops: mm(s.batch, s.d, s.d), left: true, right: full });
    out.push({ flops: mm(s.batch, s.d, 2), left: true, right: full });
  } else out.push({ flops: mm(T, s.d, s.vocab), left: true, right: full }); // the LM head over every position
  return out;
}

export function stepFlops(s: ModelShape, t: Training): StepFlops {
  const ps = products(s, t);
  const forward = ps.reduce((sum, p) => sum + p.flops, 0);
  const backward = ps.reduce((sum, p) => sum + (p.left ? p.flops : 0) + (p.right ? p.flops : 0), 0);
  return { forward, backward, total: forward + backward };
}

