/**
 * Block discovery on every test-model architecture (examples/models), in its export styles,
 * sizes and layer counts, named and anonymous. Named models are checked against their
 * module names (the stream producers, the module of each projection); each anonymous model
 * must give the same answer, node for node, with every name stripped.
 */
import test from 'ava';
import { modelFromProto, type Model } from '../../../compiler/graph/index.ts';
import { locateBlocks, type BlockMap } from '../../../compiler/locate/index.ts';
import { buildModel, type Architecture } from '../../../examples/models/index.ts';
import { checkInvariants, rolesPerBlock } from './support.ts';

interface Arch {
  style: 'pre-ln' | 'post-ln';
  /** Node-name scope of block i. */
  scope: (i: number) => string;
  label: (i: number) => string;
  /** Producer of h_0, and of h_{i+1} (prefix of the node name). */
  h0: string;
  output: (i: number) => string;
  /** Module path (under the block scope) of each role's projection. */
  modules: Record<string, string>;
}

const ARCHS: Record<Architecture, Arch> = {
  bert: {
    style: 'post-ln',
    scope: (i) => `/encoder/layer.${i}`,
    label: (i) => `layer.${i}`,
    h0: '/embeddings/LayerNorm/',
    output: (i) => `/encoder/layer.${i}/output/LayerNorm/`,
    modules: { q: 'attention/self/query', k: 'attention/self/key', v: 'attention/self/value', qkv: 'attention/self/qkv', o: 'attention/output/dense', up: 'intermediate/dense', down: 'output/dense' },
  },
  gpt2: {
    style: 'pre-ln',
    scope: (i) => `/h.${i}`,
    label: (i) => `h.${i}`,
    h0: '/Add',
    output: (i) => `/h.${i}/Add_1`,
    modules: { q: 'attn/q_proj', k: 'attn/k_proj', v: 'attn/v_proj', qkv: 'attn/c_attn', o: 'attn/c_proj', up: 'mlp/c_fc', down: 'mlp/c_proj' },
  },
  llama: {
    style: 'pre-ln',
    scope: (i) => `/model/layers.${i}`,
    label: (i) => `layers.${i}`,
    h0: '/model/embed_tokens/',
    output: (i) => `/model/layers.${i}/Add_1`,
    modules: { q: 'self_attn/q_proj', k: 'self_attn/k_proj', v: 'self_attn/v_proj', qkv: 'self_attn/qkv_proj', o: 'self_attn/o_proj', gate: 'mlp/gate_proj', up: 'mlp/up_proj', down: 'mlp/down_proj' },
  },
};

const SMALL = { vocabSize: 50, dModel: 32, heads: 4, ffn: 64, maxPositions: 32 };

/** [architecture, config, expected roles of one block] */
const CASES: [Architecture, Record<string, unknown>, string[]][] = [
  ['bert', {}, ['q', 'k', 'v', 'o', 'up', 'down']],
  ['bert', { layers: 1 }, ['q', 'k', 'v', 'o', 'up', 'down']],
  ['bert', { layers: 3, projection: 'gemm' }, ['q', 'k', 'v', 'o', 'up', 'down']],
  ['bert', { layerNormForm: 'decomposed', activation: 'gelu_tanh' }, ['q', 'k', 'v', 'o', 'up', 'down']],
  ['bert', { geluForm: 'op', tokenTypeInput: true }, ['q', 'k', 'v', 'o', 'up', 'down']],
  ['bert', { fusedQkv: true, dModel: 48, heads: 6 }, ['qkv', 'o', 'up', 'down']],
  ['bert', { fusedQkv: true, projection: 'gemm', layerNormForm: 'decomposed', opset: 14 }, ['qkv', 'o', 'up', 'down']],
  ['gpt2', {}, ['qkv', 'o', 'up', 'down']],
  ['gpt2', { layers: 4, projection: 'gemm' }, ['qkv', 'o', 'up', 'down']],
  ['gpt2', { causalMask: 'constant', attentionMask: true, layerNormForm: 'decomposed' }, ['qkv', 'o', 'up', 'down']],
  ['gpt2', { fusedQkv: false, activation: 'gelu', geluForm: 'op' }, ['q', 'k', 'v', 'o', 'up', 'down']],
  ['gpt2', { fusedQkv: false, projection: 'gemm', tieWordEmbeddings: false, layers: 1 }, ['q', 'k', 'v', 'o', 'up', 'down']],
  ['llama', {}, ['q', 'k', 'v', 'o', 'gate', 'up', 'down']],
  ['llama', { kvHeads: 2, layers: 3 }, ['q', 'k', 'v', 'o', 'gate', 'up', 'down']],
  ['llama', { kvHeads: 1, projection: 'gemm', rmsNormForm: 'op', attentionMask: true }, ['q', 'k', 'v', 'o', 'gate', 'up', 'down']],
  ['llama', { fusedQkv: true, causalMask: 'constant', dModel: 64, heads: 8, kvHeads: 2 }, ['qkv', 'o', 'gate', 'up', 'down']],
];

function locate(arch: Architecture, config: Record<string, unknown>, anonymous: boolean): { model: Model; map: BlockMap; layers: number; d: number } {
  const built = buildModel(arch, { ...SMALL, ...config, anonymous });
  const model = modelFromProto(built.model);
  return { model, map: locateBlocks(model), layers: built.config.layers, d: built.config.dModel };
}

for (const [arch, config, roles] of CASES) {
  const title = `${arch} ${JSON.stringify(config)}`;
  const a = ARCHS[arch];

  test(`named: ${title}`, (t) => {
    const { model, map, layers, d } = locate(arch, config, false);
    t.is(map.blocks.length, layers);
    t.is(map.style, a.style);
    t.is(map.hidden, d);
    t.deepEqual(map.notes, []);
    t.deepEqual(rolesPerBlock(map), Array.from({ length: layers }, () => roles));
    t.deepEqual(map.blocks.map((b) => b.label), Array.from({ length: layers }, (_, i) => a.label(i)));
    checkInvariants(t, model, map);
    const producer = new Map(model.graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n.name] as const)));
    t.true(producer.get(map.streams[0]!)!.startsWith(a.h0), `h_0 = '${map.streams[0]}'`);
    map.streams.slice(1).forEach((h, i) => t.true(producer.get(h)!.startsWith(a.output(i)), `h_${i + 1} = '${h}'`));
    map.blocks.forEach((b, i) => {
      for (const p of b.projections) t.true(p.node.startsWith(`${a.scope(i)}/${a.modules[p.role]}/`), `${p.role} is '${p.node}'`);
    });
  });

  test(`anonymous: ${title}`, (t) => {
    const named = locate(arch, config, false);
    const anon = locate(arch, config, true);
    t.is(anon.map.style, named.map.style);
    t.is(anon.map.hidden, named.map.hidden);
    t.deepEqual(rolesPerBlock(anon.map), rolesPerBlock(named.map));
    t.deepEqual(anon.map.blocks.map((b) => b.label), anon.map.blocks.map((_, i) => `block ${i}`));
    checkInvariants(t, anon.model, anon.map);
    // Anonymising renames but keeps the node order: the same positions must come out.
    const position = (m: Model) => new Map(m.graph.nodes.flatMap((n, i) => [[n.name, i] as const, ...n.outputs.map((o) => [o, i] as const)]));
    const pn = position(named.model);
    const pa = position(anon.model);
    t.deepEqual(anon.map.streams.map((s) => pa.get(s)), named.map.streams.map((s) => pn.get(s)));
    t.deepEqual(
      anon.map.blocks.map((b) => b.projections.map((p) => pa.get(p.node))),
      named.map.blocks.map((b) => b.projections.map((p) => pn.get(p.node))),
    );
  });
}

test('fused parts of a GPT-2 c_attn are the Split outputs, in q, k, v order, on the last axis', (t) => {
  const { map } = locate('gpt2', {}, false);
  const qkv = map.blocks[0]!.projections.find((p) => p.role === 'qkv')!;
  t.deepEqual(
    [qkv.parts!.q, qkv.parts!.k, qkv.parts!.v].map((p) => [p.value, p.index, p.lastAxis]),
    [['/h.0/attn/Split_output_0', 0, true], ['/h.0/attn/Split_output_1', 1, true], ['/h.0/attn/Split_output_2', 2, true]],
  );
  t.deepEqual([qkv.parts!.q.width, qkv.parts!.k.width, qkv.parts!.v.width], [32, 32, 32]);
  t.is(qkv.parts!.q.x, qkv.x);
});

test('fused parts under Gemm on a flattened input take their x from before the flatten; GQA parts have their own widths', (t) => {
  const { model, map } = locate('llama', { fusedQkv: true, projection: 'gemm', kvHeads: 2 }, false);
  const qkv = map.blocks[1]!.projections.find((p) => p.role === 'qkv')!;
  t.is(qkv.opType, 'Gemm');
  t.deepEqual([qkv.parts!.q.width, qkv.parts!.k.width, qkv.parts!.v.width], [32, 16, 16]);
  const flatten = model.graph.nodes.find((n) => n.outputs.includes(qkv.x))!;
  t.is(flatten.opType, 'Reshape');
  for (const part of [qkv.parts!.q, qkv.parts!.k, qkv.parts!.v]) {
    t.true(part.lastAxis);
    t.is(part.x, flatten.inputs[0]);
  }
});

test('a BERT-base-sized graph (12 blocks) is located well under a second', (t) => {
  const built = buildModel('bert', { ...SMALL, layers: 12, layerNormForm: 'decomposed', geluForm: 'decomposed' });
  const model = modelFromProto(built.model);
  const start = performance.now();
  const map = locateBlocks(model);
  const ms = performance.now() - start;
  t.log(`${model.graph.nodes.length} nodes, 12 blocks: ${ms.toFixed(0)} ms`);
  t.is(map.blocks.length, 12);
  t.true(ms < 1000, `${ms.toFixed(0)} ms`);
});
