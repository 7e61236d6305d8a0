import test from 'ava';
import { deltaSingularValues, sfs } from '../../../compiler/adapters/sfs.ts';
import { matmul, matrix, svd, transpose } from '../../../compiler/adapters/linalg.ts';

function lcg(seed: number) {
  return () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

test('Jacobi SVD reconstructs a matrix and orders singular values', (t) => {
  const rand = lcg(3);
  const a = matrix(7, 5, Array.from({ length: 35 }, rand));
  const { u, s, v } = svd(a);
  for (let i = 1; i < s.length; i++) t.true(s[i - 1]! >= s[i]!);
  const us = matrix(7, 5, u.data.map((x, i) => x * s[i % 5]!));
  const back = matmul(us, transpose(v));
  t.true(back.data.every((x, i) => Math.abs(x - a.data[i]!) < 1e-12));
});

test('singular values of B A through the r x r core equal those of the full d x d product', (t) => {
  const rand = lcg(11);
  const r = 4, d = 24;
  const A = Array.from({ length: r * d }, rand);
  const B = Array.from({ length: d * r }, rand);
  const cheap = deltaSingularValues(A, B, r, d);
  const full = svd(matmul(matrix(d, r, B), matrix(r, d, A))).s.slice(0, r);
  t.true(cheap.every((x, i) => Math.abs(x - full[i]!) < 1e-10 * full[0]!));
});

test('SFS mean is the nuclear norm over d, top-k the share of the k largest', (t) => {
  // B A = diag(3, 1, 0, ...) in a d = 8 space, rank 2.
  const r = 2, d = 8;
  const A = new Array(r * d).fill(0);
  const B = new Array(d * r).fill(0);
  A[0] = 1; A[d + 1] = 1;
  B[0] = 3; B[r + 1] = 1;
  t.is(sfs(A, B, r, d, { kind: 'mean' }), 4 / 8);
  t.is(sfs(A, B, r, d, { kind: 'topk', k: 1 }), 3 / 4);
  t.is(sfs(A, new Array(d * r).fill(0), r, d, { kind: 'topk', k: 1 }), 0);
});
