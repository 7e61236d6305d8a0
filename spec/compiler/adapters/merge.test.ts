import test from 'ava';
import { chooseInject, chooseMerge, mergedValues } from '../../../compiler/adapters/merge.ts';
import { matmul, matrix, svd } from '../../../compiler/adapters/linalg.ts';
import type { Lor2cModule } from '../../../contract/plan.ts';

const mod = (s: number, e: number, rank = 2, alpha = 4): Lor2cModule => ({
  id: s === e ? `b${s}` : `b${s}_${e}`, section: 'lor2c', span: [s, e], rank, alpha, dropout: 0, init: 'kaiming',
});

test('merge picks the adjacent pair with the lowest SFS sum, within the span limit', (t) => {
  const modules = [mod(0, 0), mod(1, 1), mod(2, 2), mod(4, 4), mod(5, 5)];
  const scores = new Map([['b0', 0.5], ['b1', 0.4], ['b2', 0.1], ['b4', 0.01], ['b5', 0.02]]);
  const c = chooseMerge(modules, scores)!;
  t.deepEqual([c.first.id, c.second.id, c.merged.id], ['b4', 'b5', 'b4_5']); // 2 and 4 are not adjacent
  t.deepEqual(c.merged.span, [4, 5]);
  const limited = chooseMerge([mod(0, 1), mod(2, 2), mod(3, 3)], new Map([['b0_1', 0], ['b2', 0], ['b3', 1]]), 2)!;
  t.deepEqual(limited.merged.span, [2, 3]); // [0..2] would be 3 blocks long
  t.is(chooseMerge([mod(0, 0), mod(2, 2)], new Map([['b0', 0], ['b2', 0]])), undefined);
});

test('merge never joins two stacks: the last encoder block and the first decoder block stay apart', (t) => {
  const modules = [mod(0, 0), mod(1, 1), mod(2, 2), mod(3, 3)];
  const scores = new Map([['b0', 0.5], ['b1', 0.01], ['b2', 0.01], ['b3', 0.6]]);
  const stack = (i: number) => (i < 2 ? 'encoder' : 'decoder');
  t.deepEqual(chooseMerge(modules, scores)!.merged.span, [1, 2]);
  const c = chooseMerge(modules, scores, undefined, (a, b) => stack(a) === stack(b))!;
  t.deepEqual(c.merged.span, [0, 1], 'b1 + b2 is cheapest but crosses the stacks');
});

test('inject picks the never-merged module with the highest SFS', (t) => {
  const modules = [mod(0, 1), mod(2, 2), mod(3, 3)];
  const scores = new Map([['b0_1', 9], ['b2', 0.3], ['b3', 0.2]]);
  t.is(chooseInject(modules, scores, new Set(['b0_1']))!.id, 'b2');
});

function rand(seed: number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5);
}

test('svd merge init is the best rank-r approximation of the two deltas', (t) => {
  const d = 12, r = 2;
  const m1 = mod(0, 0, r, 4), m2 = mod(1, 1, r, 8);
  const v1 = { A: rand(1, r * d), B: rand(2, d * r) }, v2 = { A: rand(3, r * d), B: rand(4, d * r) };
  const { A, B } = mergedValues('svd', m1, v1, m2, v2, d);
  const delta = (v: { A: Float32Array; B: Float32Array }, scale: number) => {
    const p = matmul(matrix(d, r, v.B), matrix(r, d, v.A));
    return p.data.map((x) => x * scale);
  };
  const target = delta(v1, 4 / 2).map((x, i) => x + delta(v2, 8 / 2)[i]!);
  const got = delta({ A, B }, 4 / 2);
  // Eckart-Young: the error of the best rank-r approximation is the norm of the trailing singular values.
  const s = svd(matrix(d, d, target)).s;
  const best = Math.sqrt(s.slice(r).reduce((x, y) => x + y * y, 0));
  const err = Math.sqrt(got.reduce((x, y, i) => x + (y - target[i]!) ** 2, 0));
  t.true(Math.abs(err - best) < 1e-5 * s[0]!, `error ${err} vs optimal ${best}`);
  t.deepEqual(mergedValues('first', m1, v1, m2, v2, d).A, v1.A);
});

test('svd merge init with zero B keeps A rows from the first module so gradients flow', (t) => {
  const d = 6, r = 2;
  const zero = { A: rand(5, r * d), B: new Float32Array(d * r) };
  const { A, B } = mergedValues('svd', mod(0, 0, r), zero, mod(1, 1, r), { A: rand(6, r * d), B: new Float32Array(d * r) }, d);
  t.deepEqual(A, zero.A);
  t.true(B.every((x) => x === 0));
});
