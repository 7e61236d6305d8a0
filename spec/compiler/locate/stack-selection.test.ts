/**
 * Specs that select blocks per stack and name each stack's boundaries, on a torch BART export
 * (spec/fixtures/torch/structure): the selections land on the named stack's blocks, and
 * boundaries listed per stack give the stacks discovery finds.
 */
import test from 'ava';
import { join } from 'node:path';
import { adapterReport, initialStructure, modelFacts, prepareBase } from '../../../compiler/compile.ts';
import { modelFromProto } from '../../../compiler/graph/index.ts';
import { locateBlocks } from '../../../compiler/locate/index.ts';
import { readModel } from '../../../compiler/onnx/index.ts';
import { isUserError } from '../../../contract/errors.ts';
import { checkSpec, type Plan } from '../../../dsl/index.ts';

const MODEL = join(import.meta.dirname, '../../fixtures/torch/structure/bart-opset14.onnx');
const auto = locateBlocks(modelFromProto(readModel(MODEL)));

/** The spec checked as compile checks it: first alone, then against the model's facts. */
function planFor(text: string): { plan: Plan; base: ReturnType<typeof prepareBase> } {
  const first = checkSpec(text, 'spec.lor2c');
  if (!first.plan) throw new Error(first.diagnostics.map((d) => d.message).join('\n'));
  const base = prepareBase(first.plan, MODEL);
  const checked = checkSpec(text, 'spec.lor2c', modelFacts(base));
  if (!checked.plan) throw new Error(checked.diagnostics.map((d) => d.message).join('\n'));
  return { plan: checked.plan, base };
}

test('the export has an encoder and a decoder of two blocks each', (t) => {
  t.deepEqual(auto.stacks.map((s) => [s.name, s.first, s.count]), [
    ['encoder', 0, 2],
    ['decoder', 2, 2],
  ]);
});

test('per-stack selections land on that stack\'s blocks', (t) => {
  const { plan, base } = planFor('lor2c { blocks decoder -1 }\nlora { on q, v; blocks encoder 0 }\n');
  const structure = initialStructure(plan, base);
  t.deepEqual(structure.modules.map((m) => m.span), [[3, 3]]);
  t.deepEqual(structure.lora.map((s) => [s.block, s.target]), [
    [0, { kind: 'role', role: 'q' }],
    [0, { kind: 'role', role: 'v' }],
  ]);
  t.is(base.blocks.blocks[3]!.stack, 'decoder');
});

test('`span 2` over every block gives one module per stack, none across', (t) => {
  const { plan, base } = planFor('lor2c { span 2 }\n');
  t.deepEqual(initialStructure(plan, base).modules.map((m) => m.span), [[0, 1], [2, 3]]);
  const { plan: one, base: again } = planFor('lor2c { span 3 }\n');
  t.deepEqual(initialStructure(one, again).modules.map((m) => m.span), [[0, 1], [2, 3]], 'a run ends where its stack does');
});

test('a stack the model lacks is an error naming the stacks it has', (t) => {
  const first = checkSpec('lor2c { blocks stack1 0 }\n', 'spec.lor2c');
  const base = prepareBase(first.plan!, MODEL);
  const checked = checkSpec('lor2c { blocks stack1 0 }\n', 'spec.lor2c', modelFacts(base));
  const error = checked.diagnostics.find((d) => d.severity === 'error')!;
  t.is(error.code, 'unknown-stack');
  t.regex(error.hint!, /encoder \(blocks 0\.\.1\), decoder \(2\.\.3\)/);
});

test('boundaries listed per stack give the stacks discovery finds', (t) => {
  const spec = `blocks boundaries ${auto.stacks.map((s) => JSON.stringify(s.streams).replaceAll(',', ', ')).join(', ')}\nlor2c { blocks decoder 0 }\n`;
  const { plan, base } = planFor(spec);
  t.deepEqual(plan.blocks, { kind: 'boundaries', streams: auto.stacks.map((s) => s.streams) });
  t.deepEqual(base.blocks.stacks.map((s) => [s.name, s.first, s.count, s.streams]), auto.stacks.map((s) => [s.name, s.first, s.count, s.streams]));
  t.deepEqual(base.blocks.blocks.map((b) => [b.stack, b.input, b.output, b.projections.map((p) => p.role).sort()]), auto.blocks.map((b) => [b.stack, b.input, b.output, b.projections.map((p) => p.role).sort()]));
  t.deepEqual(initialStructure(plan, base).modules.map((m) => m.span), [[2, 2]]);
});

test('a tensor in two stacks\' lists is refused', (t) => {
  const [enc, dec] = auto.stacks.map((s) => s.streams) as [string[], string[]];
  const e = t.throws(() => locateBlocks(modelFromProto(readModel(MODEL)), { kind: 'boundaries', streams: [enc, [enc.at(-1)!, ...dec.slice(1)]] }));
  t.true(isUserError(e));
  t.regex(e!.message, /is named in the lists of stack 0 and stack 1/);
});

test('LoRA on a role only the decoder has, over every block, is an error that says to select the decoder', (t) => {
  const { plan, base } = planFor('lora { on q, cross_q }\n');
  const e = t.throws(() => adapterReport(base, plan));
  t.true(isUserError(e));
  t.regex(e!.message, /block 0 \(encoder\) has no 'cross_q' projection/);
  t.regex((e as { hint?: string }).hint!, /of the decoder stack's blocks.*`lora cross_q \{ on cross_q; blocks decoder \}`/);
  const { plan: split, base: again } = planFor('lora { on q }\nlora cross { on cross_q; blocks decoder }\n');
  // q on all four blocks, cross_q on the decoder's two: 6 LoRA pairs.
  t.is(adapterReport(again, split).modules.filter((m) => m.kind === 'lora').length, 6);
});
