/**
 * MergeLoR2C and InjectLoR2C decisions (docs/method.md sections 4 to 6), as pure functions of the
 * current modules and their SFS scores, and the initial values of a merged module. The runtime
 * calls these at scheduled points and recompiles; the compiler calls them for static merges.
 */
import type { Lor2cModule, MergeInit } from '../../contract/plan.ts';
import { moduleId } from '../../dsl/resolve.ts';
// From resolve.ts, not the dsl index: the runtime imports this file, and the index would load the
// parser (chevrotain, ESM-only), which breaks CommonJS consumers of 'lor2c/runtime' such as bindings.
import { matmul, matrix, qr, svd, transpose } from './linalg.ts';

export interface MergeChoice {
  first: Lor2cModule;
  second: Lor2cModule;
  merged: Lor2cModule;
  /** SFS(first) + SFS(second): the lowest among the eligible pairs. */
  score: number;
}

/**
 * Among adjacent pairs (first ends right before second starts) whose merged span is at most
 * `maxSpan` blocks, the pair with the lowest SFS sum; the earliest pair wins ties. Undefined
 * when no pair is eligible.
 */
/** `sameStack(a, b)`: whether blocks a and b lie in one stack (an encoder-decoder's modules never merge across). */
export function chooseMerge(modules: Lor2cModule[], scores: ReadonlyMap<string, number>, maxSpan?: number, sameStack: (a: number, b: number) => boolean = () => true): MergeChoice | undefined {
  const ordered = [...modules].sort((a, b) => a.span[0] - b.span[0]);
  let best: MergeChoice | undefined;
  for (let i = 0; i + 1 < ordered.length; i++) {
    const first = ordered[i]!;
    const second = ordered[i + 1]!;
    if (first.span[1] + 1 !== second.span[0] || !sameStack(first.span[1], second.span[0])) continue;
    if (maxSpan !== undefined && second.span[1] - first.span[0] + 1 > maxSpan) continue;
    const score = scoreOf(scores, first) + scoreOf(scores, second);
    if (!best || score < best.score) best = { first, second, merged: mergedModule(first, second), score };
  }
  return best;
}

function scoreOf(scores: ReadonlyMap<string, number>, m: Lor2cModule): number {
  const s = scores.get(m.id);
  if (s === undefined) throw new Error(`internal error: no SFS score for module '${m.id}'`);
  return s;
}

/** The module over both spans; rank, alpha, dropout and init come from the first (the paper's rule). */
export function mergedModule(first: Lor2cModule, second: Lor2cModule): Lor2cModule {
  const span: [number, number] = [first.span[0], second.span[1]];
  return { ...first, id: moduleId(span[0], span[1]), span };
}

/** The never-merged module with the highest SFS (InjectLoR2C); the earliest wins ties. */
export function chooseInject(modules: Lor2cModule[], scores: ReadonlyMap<string, number>, merged: ReadonlySet<string>): Lor2cModule | undefined {
  let best: Lor2cModule | undefined;
  for (const m of [...modules].sort((a, b) => a.span[0] - b.span[0])) {
    if (merged.has(m.id)) continue;
    if (!best || scoreOf(scores, m) > scoreOf(scores, best)) best = m;
  }
  return best;
}

export interface ModuleValues {
  /** [rank, d], row-major. */
  A: Float32Array;
  /** [d, rank], row-major. */
  B: Float32Array;
}

/**
 * Initial A and B of a merged module.
 * - `first`: copies of the first module's A and B (the paper's; not function-preserving).
 * - `svd`: the best rank-r approximation of what the two modules added together,
 *   s1 B1 A1 + s2 B2 A2 (s = alpha / rank), rescaled by the merged module's own scale. Computed
 *   through QR of the stacked factors, never forming a d x d matrix. Directions the
 *   approximation leaves empty (early on, when B = 0) keep the first module's rows of A and a
 *   zero B, so gradients still flow.
 */
export function mergedValues(init: MergeInit, first: Lor2cModule, a: ModuleValues, second: Lor2cModule, b: ModuleValues, d: number): ModuleValues {
  const r = first.rank;
  if (init === 'first') return { A: Float32Array.from(a.A), B: Float32Array.from(a.B) };
  const r1 = first.rank, r2 = second.rank, k = r1 + r2;
  const s1 = first.alpha / r1, s2 = second.alpha / r2, s = first.alpha / r;
  // P = [s1 B1, s2 B2] (d x k), M = [A1; A2] (k x d): the combined delta is P M.
  const P = matrix(d, k);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < r1; j++) P.data[i * k + j] = s1 * a.B[i * r1 + j]!;
    for (let j = 0; j < r2; j++) P.data[i * k + r1 + j] = s2 * b.B[i * r2 + j]!;
  }
  const Mt = matrix(d, k);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < r1; j++) Mt.data[i * k + j] = a.A[j * d + i]!;
    for (let j = 0; j < r2; j++) Mt.data[i * k + r1 + j] = b.A[j * d + i]!;
  }
  const p = qr(P), m = qr(Mt);
  const core = svd(matmul(p.r, transpose(m.r)));
  const left = matmul(p.q!, core.u); // d x k
  const right = matmul(m.q!, core.v); // d x k
  const A = new Float32Array(r * d);
  const B = new Float32Array(d * r);
  const top = core.s[0] ?? 0;
  for (let c = 0; c < r; c++) {
    const sigma = core.s[c] ?? 0;
    if (!(sigma > 1e-12 * top) || top === 0) {
      for (let i = 0; i < d; i++) A[c * d + i] = a.A[c * d + i]!;
      continue;
    }
    const root = Math.sqrt(sigma / s);
    for (let i = 0; i < d; i++) {
      B[i * r + c] = left.data[i * k + c]! * root;
      A[c * d + i] = right.data[i * k + c]! * root;
    }
  }
  return { A, B };
}
