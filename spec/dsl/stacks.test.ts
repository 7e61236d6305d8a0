/**
 * Block selections that name a stack (`encoder 0..1, decoder -1`), runs that end where a
 * stack does, and `blocks boundaries` with one list per stack.
 */
import test from 'ava';
import { checkSpec, resolveBlocks, resolvePlan, type ModelFacts, type Plan } from '../../dsl/index.ts';

/** An encoder-decoder with three blocks in each stack. */
const SEQ2SEQ: ModelFacts = {
  blockCount: 6,
  stacks: [
    { name: 'encoder', first: 0, count: 3 },
    { name: 'decoder', first: 3, count: 3 },
  ],
};

function check(text: string, facts?: ModelFacts) {
  return checkSpec(text, 's.lor2c', facts);
}

function planOfSpec(text: string, facts?: ModelFacts): Plan {
  const r = check(text, facts);
  if (!r.plan) throw new Error(r.diagnostics.map((d) => `${d.range.line}:${d.range.col} ${d.message}`).join('\n'));
  return r.plan;
}

const planOf = planOfSpec;
const ids = (plan: Plan) => plan.modules?.map((m) => [m.id, m.span]);

test('indices after a stack name count within that stack; a stack alone is all of its blocks', (t) => {
  t.deepEqual(ids(planOf('lor2c { blocks encoder 0..1, decoder -1 }\n', SEQ2SEQ)), [
    ['b0', [0, 0]],
    ['b1', [1, 1]],
    ['b5', [5, 5]],
  ]);
  t.deepEqual(ids(planOf('lor2c { blocks decoder }\n', SEQ2SEQ)), [
    ['b3', [3, 3]],
    ['b4', [4, 4]],
    ['b5', [5, 5]],
  ]);
  // The stack word holds until the next one: `encoder 0, 2` is the encoder's 0 and 2.
  t.deepEqual(ids(planOf('lor2c { blocks encoder 0, 2, decoder 1 }\n', SEQ2SEQ))?.map(([id]) => id), ['b0', 'b2', 'b4']);
  // Indices before any stack name count across all blocks, as always.
  t.deepEqual(ids(planOf('lor2c { blocks 0, decoder 0 }\n', SEQ2SEQ))?.map(([id]) => id), ['b0', 'b3']);
  // `every` keeps every k-th block of the whole selection.
  t.deepEqual(ids(planOf('lor2c { blocks decoder every 2 }\n', SEQ2SEQ))?.map(([id]) => id), ['b3', 'b5']);
});

test('`every` after a stack name steps through that stack alone; before any, through the whole selection', (t) => {
  const stacks = [{ name: 'encoder', first: 0, count: 6 }, { name: 'decoder', first: 6, count: 6 }];
  const chosen = (text: string) => {
    const r = checkSpec(`lor2c { blocks ${text} }\n`, 'x.lor2c');
    t.deepEqual(r.diagnostics, [], text);
    return resolveBlocks(r.plan!.lor2c[0]!.blocks, 12, stacks);
  };
  t.deepEqual(chosen('encoder 0..-1 every 2, decoder 0..-1 every 3'), [0, 2, 4, 6, 9]);
  t.deepEqual(chosen('encoder every 2, decoder every 3'), [0, 2, 4, 6, 9]);
  // A stack's step counts from its own first chosen block: `encoder 1..-1 every 2` is 1, 3, 5.
  t.deepEqual(chosen('encoder 1..-1 every 2, decoder -2..-1'), [1, 3, 5, 10, 11]);
  // Over the whole selection, the step runs on across the stacks: 11 blocks, every 2nd.
  t.deepEqual(chosen('every 2, encoder 1..-1, decoder'), [1, 3, 5, 7, 9, 11]);
  t.deepEqual(chosen('every 2, encoder 0..-1, decoder 1..-1'), [0, 2, 4, 7, 9, 11]);
  const plan = checkSpec('lor2c { blocks encoder every 2, decoder 0..1 }\n', 'x.lor2c').plan!;
  t.deepEqual(plan.lor2c[0]!.blocks, { ranges: [{ from: 0, to: -1, stack: 'encoder' }, { from: 0, to: 1, stack: 'decoder' }], every: 1, stackEvery: { encoder: 2 } });
});

test('the plan keeps the stack; it resolves once the stacks are known', (t) => {
  const plan = planOf('lor2c { blocks encoder -1, decoder 0..1 }\n');
  t.deepEqual(plan.lor2c[0]!.blocks, { ranges: [{ from: -1, to: -1, stack: 'encoder' }, { from: 0, to: 1, stack: 'decoder' }], every: 1 });
  t.is(plan.modules, undefined, 'stack-relative: unknown without the model');
  t.deepEqual(resolveBlocks(plan.lor2c[0]!.blocks, 8, [{ name: 'encoder', first: 0, count: 4 }, { name: 'decoder', first: 4, count: 4 }]), [3, 4, 5]);
  const { resolved, problems } = resolvePlan(plan, 6, SEQ2SEQ.stacks);
  t.deepEqual(problems, []);
  t.deepEqual(resolved.modules.map((m) => m.id), ['b2', 'b3', 'b4']);
});

test('a single-stack model has one stack, `main`', (t) => {
  t.deepEqual(ids(planOf('lor2c { blocks main -2..-1 }\n', { blockCount: 4 }))?.map(([id]) => id), ['b2', 'b3']);
  const r = check('lor2c { blocks decoder 0 }\n', { blockCount: 4 });
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  t.deepEqual(errors.map((d) => [d.code, d.message]), [['unknown-stack', 'blocks name the stack `decoder`, which the model does not have']]);
  t.regex(errors[0]!.hint!, /main \(blocks 0\.\.3\)/);
});

test('with the model: an unknown stack and an index beyond its stack are errors that say the stacks', (t) => {
  const r = check('lor2c { blocks stack2 0, decoder 3 }\n', SEQ2SEQ);
  t.deepEqual(
    r.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.code, d.message, d.hint]).sort(),
    [
      ['block-out-of-range', 'blocks decoder 3 but the decoder stack has 3 blocks', 'valid decoder blocks are 0..2 (or -3..-1 from its end)'],
      ['unknown-stack', 'blocks name the stack `stack2`, which the model does not have', "the model's stacks: encoder (blocks 0..2), decoder (3..5)"],
    ],
  );
  t.true(resolvePlan(planOf('lor2c { blocks stack2 }\n'), 6, SEQ2SEQ.stacks).problems.some((p) => /stack `stack2`.*encoder \(blocks 0\.\.2\), decoder \(3\.\.5\)/.test(p)));
});

test('a misspelt stack gets the usual suggestion; naming a stack twice or with `all` is refused', (t) => {
  const typo = check('lor2c { blocks decodr 0 }\n');
  t.is(typo.diagnostics[0]!.message, '`decodr` is not a block selection');
  t.is(typo.diagnostics[0]!.hint, 'did you mean `decoder`?');
  t.regex(check('lor2c { blocks decoder 0, decoder 1 }\n').diagnostics[0]!.message, /stack `decoder` is named twice/);
  t.regex(check('lor2c { blocks all, decoder }\n').diagnostics[0]!.message, /`all` cannot be combined/);
});

test('a run of selected blocks ends where its stack does: no module spans two stacks', (t) => {
  const r = check('lor2c { span 2 }\n', SEQ2SEQ);
  t.deepEqual(ids(r.plan!), [
    ['b0_1', [0, 1]],
    ['b2', [2, 2]],
    ['b3_4', [3, 4]],
    ['b5', [5, 5]],
  ]);
  t.deepEqual(r.diagnostics.map((d) => d.code), ['short-span', 'short-span']);
  t.regex(r.diagnostics[0]!.hint!, /a run ends where its stack does/);
  // Without the stacks (no model, explicit indices), the layout is one stream's.
  t.deepEqual(ids(planOf('lor2c { blocks 0..3; span 2 }\n'))?.map(([id]) => id), ['b0_1', 'b2_3']);
});

test('a static merge across two stacks is an error', (t) => {
  const r = check('lor2c { blocks 1..4 }\nmerge { static 2..3 }\n', SEQ2SEQ);
  t.deepEqual(r.diagnostics.map((d) => [d.code, d.message]), [['cross-stack-merge', 'static merge 2..3 starts in the encoder stack and ends in the decoder']]);
});

test('LoRA, overrides and share groups select by stack too', (t) => {
  const plan = planOf('lor2c {\n  override blocks decoder 0 { rank 4 }\n}\nshare A across blocks encoder\nlora { on q, v; blocks decoder -1 }\n', { ...SEQ2SEQ, projections: ['q', 'k', 'v', 'o'] });
  t.deepEqual(plan.modules!.map((m) => m.rank), [8, 8, 8, 4, 8, 8]);
  const { resolved } = resolvePlan(plan, 6, SEQ2SEQ.stacks);
  t.deepEqual(resolved.share, [{ share: 'A', modules: ['b0', 'b1', 'b2'] }]);
  t.deepEqual(resolved.lora.map((s) => [s.block, s.target]), [
    [5, { kind: 'role', role: 'q' }],
    [5, { kind: 'role', role: 'v' }],
  ]);
});

test('blocks boundaries: one list per stack, or one stack unbracketed', (t) => {
  const planOf = (text: string) => planOfSpec(`${text}lor2c\n`);
  const check = (text: string) => checkSpec(`${text}lor2c\n`, 's.lor2c');
  t.deepEqual(planOf('blocks boundaries ["e0", "e1"], ["d0", "d1", "d2"]\n').blocks, { kind: 'boundaries', streams: [['e0', 'e1'], ['d0', 'd1', 'd2']] });
  t.deepEqual(planOf('blocks boundaries ["h0", "h1", "h2"]\n').blocks, { kind: 'boundaries', streams: [['h0', 'h1', 'h2']] });
  t.deepEqual(planOf('blocks boundaries "h0", "h1"\n').blocks, { kind: 'boundaries', streams: [['h0', 'h1']] });
  const mixed = check('blocks boundaries ["e0", "e1"], "d0"\n');
  t.regex(mixed.diagnostics[0]!.message, /each stack's boundaries are a list of their own/);
  const short = check('blocks boundaries ["e0", "e1"], ["d0"]\n');
  t.regex(short.diagnostics[0]!.message, /L\+1 tensors per stack/);
  t.is(short.diagnostics[0]!.range.col, 33, 'points at the short list');
});

test('adapters on both towers of a twin model are warned; one tower is not', (t) => {
  const twins: ModelFacts = { blockCount: 4, stacks: [{ name: 'stack0', first: 0, count: 2 }, { name: 'stack1', first: 2, count: 2, twinOf: 'stack0' }] };
  const codes = (text: string) => check(text, twins).diagnostics.filter((d) => d.code === 'twin-stacks-untied').map((d) => [d.range.line, d.severity]);
  t.deepEqual(codes('lor2c { rank 2 }\n'), [[1, 'warning']]);
  t.deepEqual(codes('lor2c { blocks stack1 }\nlora { blocks stack0 }\n'), [], 'each section on one tower');
  t.deepEqual(codes('lor2c { blocks stack1 }\nlora { rank 4 }\n'), [[2, 'warning']]);
  // Stacks that are not twins (an encoder-decoder) are never warned.
  t.deepEqual(check('lor2c { rank 2 }\n', SEQ2SEQ).diagnostics.filter((d) => d.code === 'twin-stacks-untied'), []);
});
