/** Next-token choice on known distributions: greedy, temperature, top-k, top-p, seeded draws. */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { argmax, candidates, chooseToken, softmax, topTokens } from '../../../runtime/generate/sampling.ts';
import { Rng } from '../../../runtime/data/prng.ts';

/** Logits whose softmax is exactly `p` (up to rounding). */
const logitsOf = (p: number[]) => Float32Array.from(p.map(Math.log));
const close = (t: { true(v: boolean, m?: string): void }, a: number[], b: number[], tol = 1e-6) => t.true(a.length === b.length && a.every((x, i) => Math.abs(x - b[i]!) < tol), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);

test('argmax takes the largest, the smaller id on ties, never NaN', (t) => {
  t.is(argmax([0.1, 3, -2, 3]), 1);
  t.is(argmax([NaN, -1, NaN]), 1);
  t.is(argmax([-Infinity, -Infinity]), 0);
  t.throws(() => argmax([NaN]));
});

test('softmax and temperature on a known distribution', (t) => {
  const l = logitsOf([1 / 7, 2 / 7, 4 / 7]);
  close(t, Array.from(softmax(l)), [1 / 7, 2 / 7, 4 / 7]);
  // T = 0.5 squares the probabilities before renormalising: 1, 4, 16 over 21.
  close(t, Array.from(softmax(l, 0.5)), [1 / 21, 4 / 21, 16 / 21]);
  // T = 2 takes square roots.
  const r = [1, Math.SQRT2, 2];
  close(t, Array.from(softmax(l, 2)), r.map((x) => x / (1 + Math.SQRT2 + 2)));
});

test('greedy options give the argmax alone', (t) => {
  const l = logitsOf([0.2, 0.5, 0.3]);
  t.deepEqual(candidates(l), [{ id: 1, probability: 1 }]);
  t.deepEqual(candidates(l, { sample: true, temperature: 0 }), [{ id: 1, probability: 1 }]);
  t.deepEqual(candidates(l, { topK: 2 }), [{ id: 1, probability: 1 }], 'top-k without sampling stays greedy');
});

test('top-k keeps the k most probable, renormalised', (t) => {
  const c = candidates(logitsOf([0.1, 0.4, 0.2, 0.3]), { sample: true, topK: 2 });
  t.deepEqual(c.map((x) => x.id), [1, 3]);
  close(t, c.map((x) => x.probability), [4 / 7, 3 / 7]);
  t.is(candidates(logitsOf([0.1, 0.4, 0.2, 0.3]), { sample: true, topK: 10 }).length, 4);
});

test('top-p keeps the smallest prefix reaching p, at least one token', (t) => {
  const l = logitsOf([0.05, 0.5, 0.15, 0.3]);
  const ids = (p: number) => candidates(l, { sample: true, topP: p }).map((x) => x.id);
  t.deepEqual(ids(0.1), [1]);
  t.deepEqual(ids(0.5 - 1e-9), [1]);
  t.deepEqual(ids(0.6), [1, 3]);
  t.deepEqual(ids(0.85), [1, 3, 2]);
  t.deepEqual(ids(1), [1, 3, 2, 0]);
  close(t, candidates(l, { sample: true, topP: 0.6 }).map((x) => x.probability), [0.5 / 0.8, 0.3 / 0.8]);
});

test('temperature, then top-k, then top-p, as Hugging Face orders them', (t) => {
  // T = 0.5: 1, 4, 9, 16 over 30; top-k 3 drops id 0: 4, 9, 16 over 29; top-p 0.8 keeps 16 and 9 (25/29 = 0.86).
  const c = candidates(logitsOf([0.1, 0.2, 0.3, 0.4]), { sample: true, temperature: 0.5, topK: 3, topP: 0.8 });
  t.deepEqual(c.map((x) => x.id), [3, 2]);
  close(t, c.map((x) => x.probability), [16 / 25, 9 / 25]);
});

test('draws follow the distribution and repeat with the seed', (t) => {
  const p = [0.5, 0.3, 0.15, 0.05];
  const l = logitsOf(p);
  const draw = (seed: number, n: number) => {
    const rng = new Rng(seed);
    return Array.from({ length: n }, () => chooseToken(l, { sample: true }, rng));
  };
  const n = 20000;
  const counts = [0, 0, 0, 0];
  for (const id of draw(7, n)) counts[id]!++;
  counts.forEach((c, i) => t.true(Math.abs(c / n - p[i]!) < 0.015, `token ${i}: ${c / n} vs ${p[i]}`));
  t.deepEqual(draw(7, 50), draw(7, 50));
  t.notDeepEqual(draw(7, 50), draw(8, 50));
  const rng = new Rng(1);
  for (let i = 0; i < 200; i++) t.true([0, 1].includes(chooseToken(l, { sample: true, topK: 2 }, rng)));
});

test('topTokens ranks the softmax', (t) => {
  const top = topTokens(logitsOf([0.1, 0.6, 0.3]), 2);
  t.deepEqual(top.map((x) => x.id), [1, 2]);
  close(t, top.map((x) => x.probability), [0.6, 0.3]);
});

test('bad options are refused', (t) => {
  const l = [0, 1];
  t.throws(() => candidates(l, { sample: true, temperature: -1 }), { message: /temperature/ });
  t.throws(() => candidates(l, { sample: true, topK: 1.5 }), { message: /top-k/ });
  t.throws(() => candidates(l, { sample: true, topP: 0 }), { message: /top-p/ });
  t.throws(() => candidates(l, { sample: true, topP: 1.2 }), { message: /top-p/ });
});

test('sampling and its generator import nothing of Node (they run in the browser)', (t) => {
  for (const file of ['../../../runtime/generate/sampling.ts', '../../../runtime/data/prng.ts']) {
    const source = readFileSync(new URL(file, import.meta.url), 'utf8');
    const imports = [...source.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
    t.deepEqual(imports.filter((s) => !s.startsWith('./') && !s.startsWith('../')), [], file);
  }
});
