/**
 * SFS, the "Shape of Feature Space" of a LoR2C module (docs/method.md section 3), from its A [r, d]
 * and B [d, r] without forming the d x d product: with thin QR B = Q_B R_B and A^T = Q_A R_A,
 * the non-zero singular values of B A are those of the r x r matrix R_B R_A^T. O(d r^2).
 */
import type { SfsMetric } from '../../dsl/index.ts';
import { matmul, matrix, qr, svd, transpose } from './linalg.ts';

/** Singular values (descending) of B A, where A is r x d and B is d x r, both row-major. */
export function deltaSingularValues(a: ArrayLike<number>, b: ArrayLike<number>, r: number, d: number): Float64Array {
  const A = matrix(r, d, a);
  const B = matrix(d, r, b);
  const rb = qr(B, false).r;
  const ra = qr(transpose(A), false).r;
  return svd(matmul(rb, transpose(ra))).s;
}

/** SFS of one module: `mean` = sum(sigma) / d; `topk` = sum of the k largest / sum of all (0 when B A = 0). */
export function sfs(a: ArrayLike<number>, b: ArrayLike<number>, r: number, d: number, metric: SfsMetric): number {
  const s = deltaSingularValues(a, b, r, d);
  const total = s.reduce((x, y) => x + y, 0);
  if (metric.kind === 'mean') return total / d;
  if (total === 0) return 0;
  return s.slice(0, metric.k).reduce((x, y) => x + y, 0) / total;
}
