/** Merge / Inject structure edits: share groups meeting merges, created tensors, renumbered groups. */
import test from 'ava';
import { copyStructure, injectLora, mergeModules, moduleParameterNames, pruneShareGroups, renamedParameters, type AdapterStructure, type ModuleValues } from '../../../compiler/adapters/index.ts';
import { mergedModule } from '../../../compiler/adapters/merge.ts';
import type { Lor2cModule } from '../../../contract/plan.ts';

const d = 6, r = 2;
const mod = (b: number, alpha = 4): Lor2cModule => ({ id: `b${b}`, section: 'lor2c', span: [b, b], rank: r, alpha, dropout: 0, init: 'kaiming' });
const filled = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 13 + i));
const values = (ids: string[]): Map<string, ModuleValues> => new Map(ids.map((id, k) => [id, { A: filled(r * d, k + 1), B: filled(d * r, k + 11) }]));

function structure(share: AdapterStructure['share']): AdapterStructure {
  return { modules: [mod(0), mod(1), mod(2)], share, lora: [] };
}

function merge(s: AdapterStructure, a: number, b: number, v: Map<string, ModuleValues>, init: 'first' | 'svd' = 'first') {
  const first = s.modules.find((m) => m.id === `b${a}`)!, second = s.modules.find((m) => m.id === `b${b}`)!;
  return mergeModules(s, { first, second, merged: mergedModule(first, second), score: 0 }, v, init, d);
}

test('share B + merge inside the group: the shared B is neither created nor reset; only the merged A is new', (t) => {
  const s = structure([{ share: 'B', modules: ['b0', 'b1', 'b2'] }]);
  const edited = merge(s, 1, 2, values(['b0', 'b1', 'b2']));
  t.deepEqual([...edited.created.keys()], ['lor2c.b1_2.A']);
  t.deepEqual(edited.structure.share, [{ share: 'B', modules: ['b0', 'b1_2'] }]);
  t.deepEqual(moduleParameterNames(edited.structure).get('b1_2'), { A: 'lor2c.b1_2.A', B: 'lor2c.shared0.B' });
});

test('share A across b0, b1 + merge of b1 with b2: the merged module leaves the group with its own copy of the group A', (t) => {
  const s = structure([{ share: 'A', modules: ['b0', 'b1'] }]);
  const v = values(['b0', 'b1', 'b2']);
  v.set('b1', { ...v.get('b1')!, A: v.get('b0')!.A }); // one A for the group
  const edited = merge(s, 1, 2, v);
  t.deepEqual(edited.structure.share, [{ share: 'A', modules: ['b0'] }], 'b0 keeps the group (and its tensor)');
  t.deepEqual(moduleParameterNames(edited.structure).get('b1_2'), { A: 'lor2c.b1_2.A', B: 'lor2c.b1_2.B' });
  t.deepEqual([...edited.created.keys()].sort(), ['lor2c.b1_2.A', 'lor2c.b1_2.B']);
  t.deepEqual(edited.created.get('lor2c.b1_2.A'), v.get('b0')!.A, "init first: a copy of the first part's (shared) A");
  t.not(edited.created.get('lor2c.b1_2.A'), v.get('b0')!.A, 'a copy, not the group tensor');
});

test('share both + merge of two members: nothing is created, the merged module uses the group tensors', (t) => {
  const s = structure([{ share: 'both', modules: ['b0', 'b1'] }]);
  const edited = merge(s, 0, 1, values(['b0', 'b1', 'b2']));
  t.is(edited.created.size, 0);
  t.deepEqual(edited.structure.share, [{ share: 'both', modules: ['b0_1'] }]);
  t.deepEqual(moduleParameterNames(edited.structure).get('b0_1'), { A: 'lor2c.shared0.A', B: 'lor2c.shared0.B' });
});

test('svd init with one factor shared solves the other exactly: the merged delta equals the two deltas', (t) => {
  for (const factor of ['A', 'B'] as const) {
    const s = structure([{ share: factor, modules: ['b0', 'b1', 'b2'] }]);
    s.modules[1] = mod(1, 8); // another alpha: s1 != s2
    const v = values(['b0', 'b1', 'b2']);
    v.set('b1', { ...v.get('b1')!, [factor]: v.get('b0')![factor] });
    const edited = merge(s, 0, 1, v, 'svd');
    t.deepEqual([...edited.created.keys()], [`lor2c.b0_1.${factor === 'A' ? 'B' : 'A'}`]);
    const merged = { ...v.get('b0')!, ...(factor === 'A' ? { B: edited.created.get('lor2c.b0_1.B')! } : { A: edited.created.get('lor2c.b0_1.A')! }) };
    // delta = s B A (d x d), s = alpha / r.
    const delta = (x: ModuleValues, scale: number) => Array.from({ length: d * d }, (_, k) => {
      let sum = 0;
      for (let j = 0; j < r; j++) sum += x.B[Math.floor(k / d) * r + j]! * x.A[j * d + (k % d)]!;
      return scale * sum;
    });
    const want = delta(v.get('b0')!, 4 / r).map((x, k) => x + delta(v.get('b1')!, 8 / r)[k]!);
    const got = delta(merged, 4 / r);
    t.true(got.every((g, k) => Math.abs(g - want[k]!) < 1e-5), `share ${factor}: the svd merge is exact`);
  }
});

test('a share group emptied by an injection is dropped; later groups are renumbered and their tensors carry over by name', (t) => {
  const s = structure([{ share: 'A', modules: ['b0'] }, { share: 'B', modules: ['b1', 'b2'] }]);
  const edited = injectLora(s, s.modules[0]!, { metric: { kind: 'mean' }, every: { count: 1, unit: 'steps' }, everyDerived: false, until: 1, targets: [{ kind: 'role', role: 'q' }] });
  const { structure: pruned, origin } = pruneShareGroups(edited.structure);
  t.deepEqual(pruned.share, [{ share: 'B', modules: ['b1', 'b2'] }]);
  t.deepEqual(origin, [1]);
  t.deepEqual([...renamedParameters(pruned, origin)], [['lor2c.shared0.B', 'lor2c.shared1.B']]);
  t.deepEqual(copyStructure(pruned).merged, []);
});
