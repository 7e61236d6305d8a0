/**
 * Blocks named by the user (`blocks boundaries [...]`, `blocks pattern "..."`), the errors
 * for names that do not fit, and small hand-built graphs for the structural rules: what is
 * and is not a residual connection, blocks without attention, parallel attention + MLP.
 */
import test from 'ava';
import { Graph, GraphBuilder, Model, modelFromProto } from '../../../compiler/graph/index.ts';
import { locateBlocks, type BlockMap, type BlockOverride } from '../../../compiler/locate/index.ts';
import { DataType, makeTensor, makeValueInfo } from '../../../compiler/onnx/index.ts';
import { isUserError, type UserError } from '../../../contract/errors.ts';
import { buildModel } from '../../../examples/models/index.ts';
import { rolesPerBlock } from './support.ts';

const SMALL = { vocabSize: 50, dModel: 32, heads: 4, ffn: 64, maxPositions: 32, layers: 3 };
const bert = () => modelFromProto(buildModel('bert', SMALL).model);
const gpt2 = () => modelFromProto(buildModel('gpt2', SMALL).model);
const llama = () => modelFromProto(buildModel('llama', SMALL).model);

/** What must not depend on how the blocks were found. */
function essentials(map: BlockMap) {
  return { style: map.style, hidden: map.hidden, streams: map.streams, blocks: map.blocks };
}

const SAME_AS_AUTO: [string, () => Model, BlockOverride][] = [
  ['bert, pattern with {i}', bert, { kind: 'pattern', pattern: '/encoder/layer.{i}/*' }],
  ['gpt2, pattern with {i}', gpt2, { kind: 'pattern', pattern: '/h.{i}/*' }],
  ['llama, regex pattern', llama, { kind: 'pattern', pattern: '^/model/layers\\.(\\d+)/' }],
];

for (const [title, make, override] of SAME_AS_AUTO) {
  test(`${title}: the same blocks as discovery`, (t) => {
    const model = make();
    const auto = locateBlocks(model);
    t.deepEqual(essentials(locateBlocks(model, override)), essentials(auto));
  });
}

for (const [name, make] of [['bert', bert], ['gpt2', gpt2], ['llama', llama]] as const) {
  test(`${name}: boundaries naming the discovered streams give the same blocks`, (t) => {
    const model = make();
    const auto = locateBlocks(model);
    t.deepEqual(essentials(locateBlocks(model, { kind: 'boundaries', streams: [auto.streams] })), essentials(auto));
  });
}

test('boundaries may group two layers into one block', (t) => {
  const model = bert();
  const auto = locateBlocks(model);
  const [h0, , h2, h3] = auto.streams;
  const map = locateBlocks(model, { kind: 'boundaries', streams: [[h0!, h2!, h3!]] });
  t.is(map.blocks.length, 2);
  t.is(map.style, 'post-ln');
  t.deepEqual(map.blocks[0]!.projections.map((p) => p.role), ['q', 'k', 'v', 'o', 'up', 'down', 'other', 'other', 'other', 'other', 'other', 'other']);
  t.true(map.notes.some((n) => n.includes('second attention')));
  t.true(map.notes.some((n) => n.includes("second 'up'")));
  t.true(map.notes.some((n) => n.includes('differ')));
});

function userError(t: import('ava').ExecutionContext, fn: () => unknown): UserError {
  const e = t.throws(fn);
  t.true(isUserError(e), String(e));
  return e as UserError;
}

const BAD: [string, BlockOverride, RegExp][] = [
  ['an unknown tensor', { kind: 'boundaries', streams: [['/embeddings/LayerNorm/LayerNormalization_output_0', 'nope']] }, /no value 'nope'/],
  ['one tensor', { kind: 'boundaries', streams: [['/embeddings/LayerNorm/LayerNormalization_output_0']] }, /L\+1/],
  ['tensors out of order', { kind: 'boundaries', streams: [['/encoder/layer.1/output/LayerNorm/LayerNormalization_output_0', '/encoder/layer.0/output/LayerNorm/LayerNormalization_output_0']] }, /is not computed from/],
  ['a pattern matching no node', { kind: 'pattern', pattern: '/decoder/block.{i}/*' }, /no node name matches/],
  ['a regex without a capture group', { kind: 'pattern', pattern: 'layer\\.\\d+' }, /no capture group/],
  ['an invalid regex', { kind: 'pattern', pattern: 'layer.(\\d+' }, /not a valid regular expression/],
];

for (const [title, override, message] of BAD) {
  test(`a UserError for ${title}`, (t) => {
    const e = userError(t, () => locateBlocks(bert(), override));
    t.regex(e.message, message);
    t.truthy(e.hint);
  });
}

// ---- small hand-built graphs ------------------------------------------------------------

const D = 8;

class Tiny {
  readonly g = new Graph();
  readonly b = new GraphBuilder(this.g);
  private seed = 1;

  constructor() {
    this.g.inputs = [makeValueInfo('x', DataType.FLOAT, ['batch', 'seq', D])];
  }

  weight(rows: number, cols: number): string {
    const data = Float32Array.from({ length: rows * cols }, () => ((this.seed = (this.seed * 48271) % 2147483647) / 2147483647) - 0.5);
    return this.b.initializer('w', makeTensor('w', DataType.FLOAT, [rows, cols], data));
  }

  linear(x: string, fin: number, fout: number): string {
    return this.b.op('MatMul', [x, this.weight(fin, fout)]);
  }

  norm(x: string): string {
    const scale = this.b.initializer('ln_w', makeTensor('ln_w', DataType.FLOAT, [D], new Float32Array(D).fill(1)));
    const bias = this.b.initializer('ln_b', makeTensor('ln_b', DataType.FLOAT, [D], new Float32Array(D)));
    return this.b.op('LayerNormalization', [x, scale, bias], { axis: -1 });
  }

  /** Self-attention, or cross-attention when keys and values come from `memory`. */
  attention(x: string, memory = x): string {
    const q = this.linear(x, D, D);
    const k = this.linear(memory, D, D);
    const v = this.linear(memory, D, D);
    const scores = this.b.op('MatMul', [q, this.b.op('Transpose', [k], { perm: [0, 2, 1] })]);
    const probs = this.b.op('Softmax', [this.b.op('Div', [scores, this.b.scalar(Math.sqrt(D))])], { axis: -1 });
    return this.linear(this.b.op('MatMul', [probs, v]), D, D);
  }

  mlp(x: string): string {
    return this.linear(this.b.op('Relu', [this.linear(x, D, 2 * D)]), 2 * D, D);
  }

  model(out: string): Model {
    this.g.outputs = [makeValueInfo(this.b.op('Identity', [out]), DataType.FLOAT, ['batch', 'seq', D])];
    const m = new Model(this.g);
    m.opsets.set('', 17);
    return m;
  }
}

test('a graph without residual connections: a UserError saying what was looked for and how to name blocks', (t) => {
  const tiny = new Tiny();
  const m = tiny.model(tiny.mlp(tiny.b.op('Softmax', [tiny.mlp('x')], { axis: -1 })));
  const e = userError(t, () => locateBlocks(m));
  t.is(e.message, 'no residual connections found: no Add joins a value with a branch computed from it through a weight (MatMul/Gemm/Conv); the model has 1 Softmax node(s)');
  t.regex(e.hint!, /blocks boundaries \["h0", "h1", \.\.\.\]/);
  t.regex(e.hint!, /blocks pattern "\/encoder\/layer\.\{i\}\/\*"/);
});

test('adds that are not residual connections: tanh-GELU, rotary-like, masks, biases', (t) => {
  const tiny = new Tiny();
  const b = tiny.b;
  // x + 0.044715 x^3 (no weight on the way), q*cos + q*sin (neither operand feeds the other),
  // a bias, and a mask from the input added to scores.
  const up = tiny.linear('x', D, D);
  const cubic = b.op('Add', [up, b.op('Mul', [b.scalar(0.044715), b.op('Pow', [up, b.scalar(3)])])]);
  const rot = b.op('Add', [b.op('Mul', [cubic, b.op('Sin', ['x'])]), b.op('Mul', [cubic, b.op('Cos', ['x'])])]);
  const biased = b.op('Add', [rot, b.constant('bias', DataType.FLOAT, [D], new Float32Array(D))]);
  const e = userError(t, () => locateBlocks(tiny.model(biased)));
  t.regex(e.message, /no residual connections found/);
});

test('residual blocks without attention: each residual Add is a block, with a note', (t) => {
  const tiny = new Tiny();
  let h = 'x';
  for (let i = 0; i < 3; i++) h = tiny.b.op('Add', [h, tiny.mlp(tiny.norm(h))]);
  const map = locateBlocks(tiny.model(h));
  t.is(map.blocks.length, 3);
  t.is(map.style, 'pre-ln');
  t.is(map.hidden, D);
  t.deepEqual(rolesPerBlock(map), [['up', 'down'], ['up', 'down'], ['up', 'down']]);
  t.true(map.notes.some((n) => n.includes('no attention')));
});

test('parallel attention and MLP (GPT-J style: (h + attn(ln h)) + mlp(ln h)) make one block per layer', (t) => {
  const tiny = new Tiny();
  let h = 'x';
  for (let i = 0; i < 2; i++) {
    const normed = tiny.norm(h);
    h = tiny.b.op('Add', [tiny.b.op('Add', [h, tiny.attention(normed)]), tiny.mlp(normed)]);
  }
  const map = locateBlocks(tiny.model(h));
  t.is(map.blocks.length, 2);
  t.is(map.style, 'pre-ln');
  t.deepEqual(rolesPerBlock(map), [['q', 'k', 'v', 'o', 'up', 'down'], ['q', 'k', 'v', 'o', 'up', 'down']]);
  t.deepEqual(map.notes, []);
});

test('post-LN hand-built blocks: outputs are the norm exits', (t) => {
  const tiny = new Tiny();
  let h = tiny.norm('x');
  const outs = [h];
  for (let i = 0; i < 2; i++) {
    const a = tiny.norm(tiny.b.op('Add', [h, tiny.attention(h)]));
    h = tiny.norm(tiny.b.op('Add', [a, tiny.mlp(a)]));
    outs.push(h);
  }
  const map = locateBlocks(tiny.model(h));
  t.is(map.style, 'post-ln');
  t.deepEqual(map.streams, outs);
});

test('an encoder-decoder: two stacks, each decoder layer one block with its cross-attention', (t) => {
  const tiny = new Tiny();
  const b = tiny.b;
  let enc = 'x';
  for (let i = 0; i < 2; i++) {
    enc = b.op('Add', [enc, tiny.attention(tiny.norm(enc))]);
    enc = b.op('Add', [enc, tiny.mlp(tiny.norm(enc))]);
  }
  const memory = tiny.norm(enc);
  tiny.g.inputs.push(makeValueInfo('y', DataType.FLOAT, ['batch', 'seq', D]));
  let dec = 'y';
  const streams = [dec];
  for (let i = 0; i < 2; i++) {
    dec = b.op('Add', [dec, tiny.attention(tiny.norm(dec))]);
    dec = b.op('Add', [dec, tiny.attention(tiny.norm(dec), memory)]);
    dec = b.op('Add', [dec, tiny.mlp(tiny.norm(dec))]);
    streams.push(dec);
  }
  const model = tiny.model(dec);
  const map = locateBlocks(model);
  t.deepEqual(map.stacks.map((s) => [s.name, s.first, s.count]), [['encoder', 0, 2], ['decoder', 2, 2]]);
  // The last output is carried through the graph output's Identity (the same values).
  t.deepEqual(map.stacks[1]!.streams, [...streams.slice(0, -1), model.graph.outputs[0]!.name]);
  t.deepEqual(map.streams, [], 'no single h_0..h_L across two stacks');
  t.deepEqual(map.blocks.map((b) => [b.index, b.stack, b.indexInStack]), [[0, 'encoder', 0], [1, 'encoder', 1], [2, 'decoder', 0], [3, 'decoder', 1]]);
  // The cross-attention's k and v read the encoder's output: they are found outside the block's nodes, listed last.
  t.deepEqual(rolesPerBlock(map).slice(2), [
    ['q', 'k', 'v', 'o', 'cross_q', 'cross_o', 'up', 'down', 'cross_k', 'cross_v'],
    ['q', 'k', 'v', 'o', 'cross_q', 'cross_o', 'up', 'down', 'cross_k', 'cross_v'],
  ]);
  const crossK = map.blocks[2]!.projections.find((p) => p.role === 'cross_k')!;
  t.is(crossK.x, memory);
  t.deepEqual(map.notes, []);
});

test('a weight the exporter stored once for two blocks is reported', (t) => {
  const model = bert();
  const first = locateBlocks(model);
  const q0 = first.blocks[0]!.projections.find((p) => p.role === 'q')!;
  const q1 = first.blocks[1]!.projections.find((p) => p.role === 'q')!;
  const node = model.graph.nodes.find((n) => n.name === q1.node)!;
  node.inputs = node.inputs.map((i) => (i === q1.weight ? q0.weight : i));
  const map = locateBlocks(model);
  t.deepEqual(rolesPerBlock(map), rolesPerBlock(first));
  t.true(map.notes.some((n) => n.startsWith(`weight '${q0.weight}' is shared by layer.0 q, layer.1 q`)), map.notes.join('\n'));
});
