/** The builders' contracts other code relies on: names, parameter counts, determinism, config checks. */
import test from 'ava';
import { buildBert, buildGpt2, buildLlama, buildModel, type Architecture } from '../../../examples/models/index.ts';
import { elementCount, encodeModel, tensorArray, tensorRawBytes, type ModelProto } from '../../../compiler/onnx/index.ts';
import { isUserError } from '../../../contract/errors.ts';

const TINY = { vocabSize: 20, dModel: 16, heads: 2, ffn: 32, layers: 1, maxPositions: 8 };
const initializerNames = (m: ModelProto) => m.graph!.initializer.map((t) => t.name).sort();
const parameterCount = (m: ModelProto) => m.graph!.initializer.reduce((s, t) => s + elementCount(t.dims), 0);

/** Exactly the initializers a torch export of the Hugging Face class would name. */
const EXPECTED_PARAMETERS: Record<Architecture, string[]> = {
  bert: [
    'embeddings.word_embeddings.weight', 'embeddings.token_type_embeddings.weight', 'embeddings.position_embeddings.weight',
    'embeddings.LayerNorm.weight', 'embeddings.LayerNorm.bias',
    ...['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense', 'attention.output.LayerNorm', 'intermediate.dense', 'output.dense', 'output.LayerNorm']
      .flatMap((m) => [`encoder.layer.0.${m}.weight`, `encoder.layer.0.${m}.bias`]),
    'pooler.dense.weight', 'pooler.dense.bias', 'classifier.weight', 'classifier.bias',
  ],
  gpt2: [
    'wte.weight', 'wpe.weight',
    ...['ln_1', 'attn.c_attn', 'attn.c_proj', 'ln_2', 'mlp.c_fc', 'mlp.c_proj'].flatMap((m) => [`h.0.${m}.weight`, `h.0.${m}.bias`]),
    'ln_f.weight', 'ln_f.bias',
  ],
  llama: [
    'model.embed_tokens.weight',
    ...['input_layernorm', 'self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'post_attention_layernorm', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj']
      .map((m) => `model.layers.0.${m}.weight`),
    'model.norm.weight', 'lm_head.weight',
  ],
};

/** Node names in torch.onnx's scope style. */
const EXPECTED_NODES: Record<Architecture, string[]> = {
  bert: ['/encoder/layer.0/attention/self/query/MatMul', '/encoder/layer.0/attention/self/Softmax', '/encoder/layer.0/attention/output/LayerNorm/LayerNormalization', '/encoder/layer.0/intermediate/intermediate_act_fn/Erf', '/pooler/activation/Tanh', '/classifier/Add'],
  gpt2: ['/h.0/ln_1/LayerNormalization', '/h.0/attn/c_attn/MatMul', '/h.0/attn/Split', '/Trilu', '/h.0/mlp/act/Tanh', '/ln_f/LayerNormalization', '/lm_head/MatMul'],
  llama: ['/model/layers.0/input_layernorm/ReduceMean', '/model/layers.0/self_attn/q_proj/MatMul', '/model/layers.0/self_attn/Neg', '/model/layers.0/mlp/act_fn/Sigmoid', '/model/Trilu', '/lm_head/MatMul'],
};

for (const arch of ['bert', 'gpt2', 'llama'] as const) {
  test(`${arch}: initializers are exactly the parameters, named as torch names them`, (t) => {
    const { model } = buildModel(arch, TINY);
    t.deepEqual(initializerNames(model), [...EXPECTED_PARAMETERS[arch]].sort());
    const nodes = new Set(model.graph!.node.map((n) => n.name));
    for (const name of EXPECTED_NODES[arch]) t.true(nodes.has(name), `missing node ${name}`);
    for (const n of model.graph!.node) for (const o of n.output) if (o !== 'logits') t.true(o.startsWith(`${n.name}_output_`), `${n.name} -> ${o}`);
  });

  test(`${arch}: anonymous names say nothing, and weights and structure are unchanged`, (t) => {
    const named = buildModel(arch, TINY).model;
    const anonymous = buildModel(arch, { ...TINY, anonymous: true }).model;
    const g = anonymous.graph!;
    for (const i of g.initializer) t.regex(i.name, /^onnx::[A-Za-z]+_\d+$/);
    for (const n of g.node) {
      t.regex(n.name, /^[A-Za-z]+_\d+$/);
      for (const v of [...n.input, ...n.output]) if (!['input_ids', 'attention_mask', 'logits'].includes(v)) t.true(/^(\d+|onnx::[A-Za-z]+_\d+)$/.test(v), v);
    }
    t.deepEqual(g.input.map((v) => v.name), named.graph!.input.map((v) => v.name));
    t.deepEqual(g.output.map((v) => v.name), ['logits']);
    t.deepEqual(g.node.map((n) => n.opType), named.graph!.node.map((n) => n.opType));
    t.deepEqual(g.initializer.map((i) => Buffer.from(tensorRawBytes(i)).toString('base64')), named.graph!.initializer.map((i) => Buffer.from(tensorRawBytes(i)).toString('base64')));
  });
}

test('fused QKV and Gemm projections keep the torch weight layouts', (t) => {
  const dims = (m: ModelProto, name: string) => m.graph!.initializer.find((i) => i.name === name)!.dims.map(Number);
  t.deepEqual(dims(buildGpt2(TINY).model, 'h.0.attn.c_attn.weight'), [16, 48]);
  t.deepEqual(dims(buildGpt2({ ...TINY, projection: 'gemm' }).model, 'h.0.attn.c_attn.weight'), [16, 48], 'Conv1D is [in, out] under Gemm too');
  t.deepEqual(dims(buildBert(TINY).model, 'encoder.layer.0.intermediate.dense.weight'), [16, 32], 'MatMul weights are [in, out]');
  t.deepEqual(dims(buildBert({ ...TINY, projection: 'gemm' }).model, 'encoder.layer.0.intermediate.dense.weight'), [32, 16], 'Linear under Gemm is [out, in]');
  t.deepEqual(dims(buildLlama({ ...TINY, kvHeads: 1, fusedQkv: true }).model, 'model.layers.0.self_attn.qkv_proj.weight'), [16, 16 + 2 * 8]);
});

/** Hugging Face's parameter counts, from the architecture's formula. */
function bertParameters(c: { vocabSize: number; dModel: number; layers: number; ffn: number; maxPositions: number; numLabels: number }): number {
  const d = c.dModel;
  const layer = 4 * (d * d + d) + 2 * d * c.ffn + c.ffn + d + 4 * d;
  return (c.vocabSize + c.maxPositions + 2) * d + 2 * d + c.layers * layer + d * d + d + d * c.numLabels + c.numLabels;
}
function gpt2Parameters(c: { vocabSize: number; dModel: number; layers: number; ffn: number; maxPositions: number }): number {
  const d = c.dModel;
  return (c.vocabSize + c.maxPositions) * d + c.layers * (4 * d + 3 * d * d + 3 * d + d * d + d + 2 * d * c.ffn + c.ffn + d) + 2 * d;
}
function llamaParameters(c: { vocabSize: number; dModel: number; layers: number; heads: number; kvHeads: number; ffn: number }): number {
  const d = c.dModel;
  const kv = (d / c.heads) * c.kvHeads;
  return 2 * c.vocabSize * d + c.layers * (2 * d * d + 2 * d * kv + 3 * d * c.ffn + 2 * d) + d;
}

test('parameter counts follow the architectures (the formulas give the published sizes)', (t) => {
  t.is(bertParameters({ vocabSize: 30522, dModel: 768, layers: 12, ffn: 3072, maxPositions: 512, numLabels: 2 }), 109_483_778);
  t.is(gpt2Parameters({ vocabSize: 50257, dModel: 768, layers: 12, ffn: 3072, maxPositions: 1024 }), 124_439_808);
  t.is(llamaParameters({ vocabSize: 32000, dModel: 2048, layers: 22, heads: 32, kvHeads: 4, ffn: 5632 }), 1_100_048_384); // TinyLlama-1.1B
  const small = { vocabSize: 37, dModel: 24, heads: 4, ffn: 40, layers: 3, maxPositions: 11 };
  t.is(parameterCount(buildBert({ ...small, numLabels: 5 }).model), bertParameters({ ...small, numLabels: 5 }));
  t.is(parameterCount(buildGpt2(small).model), gpt2Parameters(small));
  t.is(parameterCount(buildLlama({ ...small, kvHeads: 2 }).model), llamaParameters({ ...small, kvHeads: 2 }));
});

test('weights are deterministic per seed, differ across seeds, and do not depend on depth', (t) => {
  const bytes = (m: ModelProto) => Buffer.from(encodeModel(m));
  t.true(bytes(buildLlama({ ...TINY, seed: 3 }).model).equals(bytes(buildLlama({ ...TINY, seed: 3 }).model)));
  t.false(bytes(buildLlama({ ...TINY, seed: 3 }).model).equals(bytes(buildLlama({ ...TINY, seed: 4 }).model)));
  const weight = (m: ModelProto, name: string) => Buffer.from(tensorRawBytes(m.graph!.initializer.find((i) => i.name === name)!));
  const shallow = buildBert({ ...TINY, layers: 1 }).model;
  const deep = buildBert({ ...TINY, layers: 3 }).model;
  t.true(weight(shallow, 'encoder.layer.0.attention.self.query.weight').equals(weight(deep, 'encoder.layer.0.attention.self.query.weight')));
  // HF init: weights ~ N(0, 0.02), biases 0, LayerNorm scale 1.
  const floats = (name: string) => tensorArray(deep.graph!.initializer.find((i) => i.name === name)!) as Float32Array;
  const q = floats('encoder.layer.2.intermediate.dense.weight');
  const std = Math.sqrt(q.reduce((s, x) => s + x * x, 0) / q.length);
  t.true(Math.abs(std - 0.02) < 0.002, `std ${std}`);
  t.true(floats('encoder.layer.2.output.dense.bias').every((x) => x === 0));
  t.true(floats('encoder.layer.2.output.LayerNorm.weight').every((x) => x === 1));
});

test('opsets: 17 by default, raised for single-op forms, and a too-low explicit opset is a user error', (t) => {
  const opset = (m: ModelProto) => Number(m.opsetImport.find((o) => o.domain === '')!.version);
  t.is(opset(buildBert(TINY).model), 17);
  t.is(opset(buildBert({ ...TINY, geluForm: 'op' }).model), 20);
  t.is(opset(buildLlama({ ...TINY, rmsNormForm: 'op' }).model), 23);
  t.is(Number(buildLlama({ ...TINY, rmsNormForm: 'op' }).model.irVersion), 11);
  t.is(opset(buildGpt2({ ...TINY, opset: 19 }).model), 19);
  const cases: [string, () => unknown, RegExp][] = [
    ['Gelu at opset 17', () => buildBert({ ...TINY, geluForm: 'op', opset: 17 }), /Gelu needs opset 20/],
    ['heads not dividing d', () => buildGpt2({ ...TINY, heads: 3 }), /not divisible by heads/],
    ['kv heads not dividing heads', () => buildLlama({ ...TINY, heads: 4, kvHeads: 3 }), /not a multiple of kvHeads/],
    ['unknown field', () => buildLlama({ ...TINY, hidden: 3 } as never), /unknown config field 'hidden'/],
    ['bad choice', () => buildGpt2({ ...TINY, causalMask: 'band' as never }), /causalMask must be one of trilu, constant/],
    ['zero layers', () => buildBert({ ...TINY, layers: 0 }), /layers must be a positive integer/],
  ];
  for (const [label, build, message] of cases) {
    const e = t.throws(build, undefined, label);
    t.true(isUserError(e), label);
    t.regex(e!.message, message, label);
  }
});
