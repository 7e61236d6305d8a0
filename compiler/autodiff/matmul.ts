/**
 * MatMul (numpy semantics: batched, broadcast, 1-D operands promoted) and Gemm (all of
 * transA / transB / alpha / beta / C). With ranks known, plain MatMul / Gemm; a 2-D weight
 * under a batched activation gets its gradient as one [rows, k]^T x [rows, n] Gemm instead of
 * a batch of products summed afterwards. With ranks unknown, Einsum with '...'.
 * com.microsoft FusedMatMul (onnxruntime's optimizer folds Transposes and a scale into
 * MatMul) differentiates as alpha * opA(A) @ opB(B) with ordinary Transpose and MatMul.
 *
 * A gradient never transposes a 2-D weight with a Transpose node: the weight is usually a
 * frozen initializer, and onnxruntime's constant folding turns Transpose(W) into a second,
 * transposed copy of W held for the session's life (4.4 GB more on a 1.1B base). The
 * transposition goes into Gemm's transA / transB instead, over activations reshaped to 2-D.
 */
import type { GradContext } from './context.ts';
import type { RuleTable } from './rule.ts';
import type { Dim } from '../shapes/dim.ts';
import { broadcastShapes } from '../shapes/helpers.ts';

/**
 * alpha * op(a) @ op(b) with 2-D operands. Before opset 11 Gemm's C is required: a scalar
 * zero with beta 0 (autodiff starts at opset 9, where C broadcasts).
 */
function gemm(g: GradContext, a: string, b: string, alpha: number, transA: boolean, transB: boolean): string {
  const attrs = { alpha, transA: transA ? 1 : 0, transB: transB ? 1 : 0 };
  if (g.opset >= 11) return g.op('Gemm', [a, b], attrs);
  return g.op('Gemm', [a, b, g.c(0)], { ...attrs, beta: 0 });
}

/**
 * dy @ w^T for a 2-D w and dy of rank >= 2, with the transposition in Gemm's transB: dy's
 * rows flattened to 2-D and the product reshaped back to dy's leading dimensions.
 */
function timesTransposed(g: GradContext, dy: string, w: string, alpha = 1): string {
  const r = g.rank(dy)!;
  if (r === 2) return gemm(g, dy, w, alpha, false, true);
  const lead = Array.from({ length: r - 1 }, (_, i) => g.dimOf(dy, i));
  const flat = gemm(g, rows(g, dy), w, alpha, false, true);
  return g.op('Reshape', [flat, g.op('Concat', [...lead, g.int64s([-1])], { axis: 0 })]);
}

/** Swaps the last two axes of a rank-r tensor. */
function swapLast(g: GradContext, v: string, r: number): string {
  const perm = Array.from({ length: r }, (_, i) => i);
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  return g.op('Transpose', [v], { perm });
}

/**
 * The shape of operand i's gradient as a batched product gives it (dy @ b^T, a^T @ dy), before
 * broadcasting is undone: the operands' broadcast batch dims, then operand i's last two. The
 * forward output's shape is not it (its last dim is n, not k), so passing that would hide the
 * static answer, often "nothing to sum", behind an in-graph reduction over computed axes.
 */
function productGradShape(g: GradContext, i: number): Dim[] | undefined {
  const a = g.shape(g.x(0));
  const b = g.shape(g.x(1));
  const own = i === 0 ? a : b;
  if (!a || !b || !own || a.length < 2 || b.length < 2) return undefined;
  try {
    return [...broadcastShapes(a.slice(0, -2), b.slice(0, -2)), ...own.slice(-2)];
  } catch {
    return undefined; // batch dims that do not broadcast: leave it to the in-graph reduction
  }
}

/** v reshaped to 2-D [-1, last dim]. */
function rows(g: GradContext, v: string): string {
  const last = g.dimOf(v, -1);
  return g.op('Reshape', [v, g.op('Concat', [g.int64s([-1]), last], { axis: 0 })]);
}

function matmulGrad(g: GradContext): (string | false)[] {
  const [a, b] = [g.x(0), g.x(1)];
  const dy = g.dy();
  const ra = g.rank(a);
  const rb = g.rank(b);
  if (ra === undefined || rb === undefined) {
    g.requireOpset(12, `the gradient of MatMul '${g.node.name}' with operands of unknown rank (Einsum)`);
    return [
      g.needs(0) && g.sumTo(g.op('Einsum', [dy, b], { equation: '...mn,...kn->...mk' }), 0),
      g.needs(1) && g.sumTo(g.op('Einsum', [a, dy], { equation: '...mk,...mn->...kn' }), 1),
    ];
  }
  if (ra === 1 && rb === 1) return [g.needs(0) && g.mul(dy, b), g.needs(1) && g.mul(dy, a)];
  if (ra === 1) {
    // y[..., n] = a[k] b[..., k, n]
    const da = () => {
      const col = g.op('MatMul', [b, g.unsqueeze(dy, [-1])]); // [..., k, 1]
      const vec = g.squeeze(col, [-1]);
      return rb === 2 ? vec : g.reduceSum(vec, Array.from({ length: rb - 2 }, (_, i) => i), false);
    };
    return [g.needs(0) && da(), g.needs(1) && g.mul(g.unsqueeze(a, [-1]), g.unsqueeze(dy, [-2]))];
  }
  if (rb === 1) {
    // y[..., m] = a[..., m, k] b[k]
    const dyCol = g.unsqueeze(dy, [-1]);
    const db = () => (ra === 2 ? g.op('MatMul', [dy, a]) : g.op('MatMul', [g.op('Reshape', [dy, g.int64s([-1])]), rows(g, a)]));
    return [g.needs(0) && g.like(g.mul(dyCol, b), a), g.needs(1) && db()];
  }
  // Without both operands' shapes, the output's: its batch dims are the gradient's too.
  const gradShape = (i: number) => productGradShape(g, i) ?? g.y(0);
  const da = () => {
    if (rb === 2 && ra >= 2) return g.like(timesTransposed(g, dy, b), a);
    // A constant batched b: da^T = b @ dy^T transposes activations, not the constant.
    if (g.constTensor(b) !== undefined) {
      const r = Math.max(ra, rb);
      return g.sumTo(swapLast(g, g.op('MatMul', [b, swapLast(g, dy, r)]), r), 0, gradShape(0));
    }
    return g.sumTo(g.op('MatMul', [dy, swapLast(g, b, rb)]), 0, gradShape(0));
  };
  const db = () => {
    if (rb === 2 && ra === 2) return gemm(g, a, dy, 1, true, false);
    if (rb === 2) return gemm(g, rows(g, a), rows(g, dy), 1, true, false);
    // A 2-D (weight-like) or constant a: db^T = dy^T @ a transposes activations, not a.
    if (ra === 2 || g.constTensor(a) !== undefined) {
      const r = Math.max(ra, rb);
      return g.sumTo(swapLast(g, g.op('MatMul', [swapLast(g, dy, r), a]), r), 1, gradShape(1));
    }
    return g.sumTo(g.op('MatMul', [swapLast(g, a, ra), dy]), 1, gradShape(1));
  };
  return [g.needs(0) && da(), g.needs(1) && db()];
}

/** Y = alpha opA(A) @ opB(B), op = swap of the last two axes where transA / transB; operands of rank >= 2. */
function fusedMatmulGrad(g: GradContext): (string | false)[] {
  if (g.int('transBatchA', 0) !== 0 || g.int('transBatchB', 0) !== 0) g.unsupported('transBatchA / transBatchB are not differentiated');
  const [a, b] = [g.x(0), g.x(1)];
  const ra = g.rank(a);
  const rb = g.rank(b);
  if (ra === undefined || rb === undefined || ra < 2 || rb < 2) g.unsupported('operands must have a known rank of at least 2');
  const transA = g.int('transA', 0) === 1;
  const transB = g.int('transB', 0) === 1;
  const alpha = g.float('alpha', 1);
  const dy = alpha === 1 ? g.dy() : g.like(g.mul(g.dy(), g.c(alpha, g.dy())), g.dy());
  const rank = Math.max(ra, rb);
  // d opA = dy opB^T, d opB = opA^T dy (each broadcast over the batch), then undo op and
  // broadcasting. opA^T is a itself where transA (no Transpose of a Transpose), and a 2-D or
  // constant operand is never transposed: Gemm's transB, or the product of the transposes.
  const da = () => {
    let d: string;
    if (transB) d = g.op('MatMul', [dy, b]);
    else if (rb === 2) d = timesTransposed(g, dy, b);
    else if (g.constTensor(b) !== undefined) d = swapLast(g, g.op('MatMul', [b, swapLast(g, dy, rank)]), rank);
    else d = g.op('MatMul', [dy, swapLast(g, b, rb)]);
    const v = transA ? swapLast(g, d, rank) : d;
    return g.sumTo(v, 0, productGradShape(g, 0) ?? v);
  };
  const db = () => {
    let d: string;
    if (transA) d = g.op('MatMul', [a, dy]);
    else if (ra === 2 || g.constTensor(a) !== undefined) d = swapLast(g, g.op('MatMul', [swapLast(g, dy, rank), a]), rank);
    else d = g.op('MatMul', [swapLast(g, a, ra), dy]);
    const v = transB ? swapLast(g, d, rank) : d;
    return g.sumTo(v, 1, productGradShape(g, 1) ?? v);
  };
  return [g.needs(0) && da(), g.needs(1) && db()];
}

export const matmulRules: RuleTable = {
  'com.microsoft:FusedMatMul': { grad: fusedMatmulGrad },
  MatMul: { grad: matmulGrad },
  // Y = alpha op(A) op(B) + beta C
  Gemm: {
    grad: (g) => {
      const alpha = g.float('alpha', 1);
      const beta = g.float('beta', 1);
      const transA = g.int('transA', 0) === 1;
      const transB = g.int('transB', 0) === 1;
      const [a, b, dy] = [g.x(0), g.x(1), g.dy()];
      const da = () => (transA ? gemm(g, b, dy, alpha, transB, true) : gemm(g, dy, b, alpha, false, !transB));
      const db = () => (transB ? gemm(g, dy, a, alpha, true, transA) : gemm(g, a, dy, alpha, !transA, false));
      const dc = () => g.sumTo(beta === 1 ? dy : g.mul(dy, g.c(beta, dy)), 2);
      return [g.needs(0) && da(), g.needs(1) && db(), g.has(2) && g.needs(2) && dc()];
    },
  },
};
