/**
 * The small dense linear algebra LoR2C needs, in float64: thin QR of tall d x r matrices and
 * the SVD of small ones. Matrices are row-major Float64Arrays with explicit sizes.
 */

export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function matrix(rows: number, cols: number, data?: ArrayLike<number>): Matrix {
  const m = { rows, cols, data: new Float64Array(rows * cols) };
  if (data) {
    if (data.length !== rows * cols) throw new Error(`matrix ${rows}x${cols} needs ${rows * cols} values, got ${data.length}`);
    m.data.set(data);
  }
  return m;
}

export function transpose(a: Matrix): Matrix {
  const t = matrix(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) t.data[j * a.rows + i] = a.data[i * a.cols + j]!;
  return t;
}

export function matmul(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw new Error(`matmul ${a.rows}x${a.cols} by ${b.rows}x${b.cols}`);
  const c = matrix(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let k = 0; k < a.cols; k++) {
      const aik = a.data[i * a.cols + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < b.cols; j++) c.data[i * b.cols + j]! += aik * b.data[k * b.cols + j]!;
    }
  }
  return c;
}

/**
 * Thin QR by Householder reflections: a (m x n, m >= n) = Q (m x n) R (n x n).
 * `wantQ` false skips forming Q (SFS only needs R).
 */
export function qr(a: Matrix, wantQ = true): { q?: Matrix; r: Matrix } {
  const { rows: m, cols: n } = a;
  if (m < n) throw new Error(`thin QR needs rows >= cols, got ${m}x${n}`);
  const w = Float64Array.from(a.data);
  const reflectors: { k: number; v: Float64Array; vv: number }[] = [];
  for (let k = 0; k < n; k++) {
    let norm = 0;
    for (let i = k; i < m; i++) norm += w[i * n + k]! ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const alpha = w[k * n + k]! > 0 ? -norm : norm;
    // H = I - 2 v v^T / (v^T v) with v = x - alpha e1 maps column k onto alpha e1.
    const v = new Float64Array(m - k);
    for (let i = k; i < m; i++) v[i - k] = w[i * n + k]!;
    v[0]! -= alpha;
    let vv = 0;
    for (const x of v) vv += x * x;
    if (vv === 0) continue;
    reflect(w, n, k, v, vv, k, n);
    reflectors.push({ k, v, vv });
  }
  const r = matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) r.data[i * n + j] = w[i * n + j]!;
  if (!wantQ) return { r };
  // Q = H_0 H_1 ... H_{n-1} applied to the first n columns of the identity, last reflector first.
  const q = matrix(m, n);
  for (let i = 0; i < n; i++) q.data[i * n + i] = 1;
  for (let j = reflectors.length - 1; j >= 0; j--) {
    const { k, v, vv } = reflectors[j]!;
    reflect(q.data, n, k, v, vv, 0, n);
  }
  return { q, r };
}

/** Applies H = I - 2 v v^T / vv (acting on rows k..) to columns from..to of a row-major matrix with n columns. */
function reflect(w: Float64Array, n: number, k: number, v: Float64Array, vv: number, from: number, to: number): void {
  const m = k + v.length;
  for (let j = from; j < to; j++) {
    let dot = 0;
    for (let i = k; i < m; i++) dot += v[i - k]! * w[i * n + j]!;
    const f = (2 * dot) / vv;
    if (f === 0) continue;
    for (let i = k; i < m; i++) w[i * n + j]! -= f * v[i - k]!;
  }
}

export interface Svd {
  /** m x k left singular vectors, k = min(m, n). */
  u: Matrix;
  /** Singular values, descending. */
  s: Float64Array;
  /** n x k right singular vectors. */
  v: Matrix;
}

/**
 * SVD by one-sided Jacobi rotations (accurate for the small matrices here: 2r x 2r at most).
 * Works on the columns of a copy of `a`; converges quadratically.
 */
export function svd(a: Matrix): Svd {
  const flip = a.rows < a.cols;
  const work = flip ? transpose(a) : matrix(a.rows, a.cols, a.data);
  const { rows: m, cols: n } = work;
  const u = work.data;
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0, beta = 0, gamma = 0;
        for (let i = 0; i < m; i++) {
          const up = u[i * n + p]!, uq = u[i * n + q]!;
          alpha += up * up;
          beta += uq * uq;
          gamma += up * uq;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        off = Math.max(off, Math.abs(gamma) / Math.sqrt(alpha * beta));
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t), s = c * t;
        for (let i = 0; i < m; i++) {
          const up = u[i * n + p]!, uq = u[i * n + q]!;
          u[i * n + p] = c * up - s * uq;
          u[i * n + q] = s * up + c * uq;
        }
        for (let i = 0; i < n; i++) {
          const vp = v[i * n + p]!, vq = v[i * n + q]!;
          v[i * n + p] = c * vp - s * vq;
          v[i * n + q] = s * vp + c * vq;
        }
      }
    }
    if (off < 1e-15) break;
  }
  const sigma = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let norm = 0;
    for (let i = 0; i < m; i++) norm += u[i * n + j]! ** 2;
    sigma[j] = Math.sqrt(norm);
  }
  const order = [...sigma.keys()].sort((x, y) => sigma[y]! - sigma[x]!);
  const U = matrix(m, n), V = matrix(n, n), S = new Float64Array(n);
  order.forEach((j, k) => {
    S[k] = sigma[j]!;
    for (let i = 0; i < m; i++) U.data[i * n + k] = sigma[j]! > 0 ? u[i * n + j]! / sigma[j]! : 0;
    for (let i = 0; i < n; i++) V.data[i * n + k] = v[i * n + j]!;
  });
  return flip ? { u: V, s: S, v: U } : { u: U, s: S, v: V };
}
