import test from 'ava';
import { Rng, permutation } from '../../../runtime/data/prng.ts';

test('the generator is pinned: same seed, same numbers, on every machine', (t) => {
  const r = new Rng(42);
  const first = Array.from({ length: 4 }, () => r.nextUint32());
  t.deepEqual(first, Array.from({ length: 4 }, ((q) => () => q.nextUint32())(new Rng(42))));
  // Pinned values: a change to the generator silently changes every user's shuffles.
  t.deepEqual(first, [1628055014, 1588739611, 4141494641, 1801065003]);
  t.deepEqual(permutation(10, 7, 0), [9, 8, 5, 7, 1, 3, 2, 4, 6, 0]);
});

test('epochs and seeds give different permutations; every permutation is one', (t) => {
  const a = permutation(50, 1, 0), b = permutation(50, 1, 1), c = permutation(50, 2, 0);
  t.notDeepEqual(a, b);
  t.notDeepEqual(a, c);
  for (const p of [a, b, c]) t.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
});

test('state can be saved and resumed', (t) => {
  const r = new Rng(9, 3);
  r.nextUint32();
  const saved = Rng.fromState(r.state());
  t.deepEqual(Array.from({ length: 5 }, () => r.nextUint32()), Array.from({ length: 5 }, () => saved.nextUint32()));
});

test('below() is uniform enough and in range', (t) => {
  const r = new Rng(123);
  const counts = new Array(6).fill(0);
  for (let i = 0; i < 60000; i++) counts[r.below(6)]++;
  for (const c of counts) t.true(Math.abs(c - 10000) < 500, `count ${c}`);
  t.throws(() => r.below(0));
});
