import test from 'ava';
import { buildBert, type BertConfig } from '../../../examples/models/index.ts';
import { bertReference, type Batch } from './reference.ts';
import { SMALL, TOLERANCE, maxAbs, maxAbsDiff, randomBatch, runLogits } from './harness.ts';

/** Export-style variants: each must compute the same function of its weights. */
const VARIANTS: [string, Partial<BertConfig>][] = [
  ['defaults (erf GELU chain, LayerNormalization op, MatMul)', {}],
  ['Gelu op, decomposed LayerNorm, Gemm, fused QKV', { geluForm: 'op', layerNormForm: 'decomposed', projection: 'gemm', fusedQkv: true }],
  ['tanh GELU, token_type_ids input, opset 18', { activation: 'gelu_tanh', tokenTypeInput: true, opset: 18, layerNormForm: 'decomposed' }],
  ['mean pooling over the real positions', { pooling: 'mean' }],
];

/** Batch 0 all real; batch 1 has its last three positions padded. */
function paddedBatch(): Batch {
  const x = randomBatch(2, 8, SMALL.vocabSize, 1);
  x.mask = [...Array(8).fill(1), 1, 1, 1, 1, 1, 0, 0, 0];
  x.tokenTypes = [...Array(4).fill(0), ...Array(4).fill(1), ...Array(8).fill(0)];
  return x;
}

for (const [label, options] of VARIANTS) {
  test(`bert ${label}: ORT logits match the float64 reference`, async (t) => {
    const { model, config } = buildBert({ ...SMALL, numLabels: 3, ...options });
    const x = paddedBatch();
    if (!config.tokenTypeInput) delete x.tokenTypes;
    const ort = await runLogits(model, x);
    const ref = bertReference(model, config, x);
    t.deepEqual(ort.dims, [2, 3]);
    const err = maxAbsDiff(ort.data, ref);
    t.log(`max |logit| ${maxAbs(ref).toFixed(3)}, max abs error ${err.toExponential(2)}`);
    t.true(maxAbs(ref) > 0.2, 'logits too small for the tolerance to mean anything');
    t.true(err < TOLERANCE);
  });
}

/** The other heads on the same encoder: MLM logits (tied or untied) and the bare hidden state. */
const HEADS: [string, Partial<BertConfig>, (c: { vocabSize: number; dModel: number }) => number[]][] = [
  ['MLM head, tied to word_embeddings', { head: 'mlm' }, (c) => [2, 8, c.vocabSize]],
  ['MLM head, untied, Gemm', { head: 'mlm', tieWordEmbeddings: false, projection: 'gemm' }, (c) => [2, 8, c.vocabSize]],
  ['no head (last_hidden_state)', { head: 'none' }, (c) => [2, 8, c.dModel]],
];

for (const [label, options, dims] of HEADS) {
  test(`bert ${label}: ORT output matches the float64 reference`, async (t) => {
    const { model, config } = buildBert({ ...SMALL, ...options });
    const x = paddedBatch();
    delete x.tokenTypes;
    const ort = await runLogits(model, x);
    const ref = bertReference(model, config, x);
    t.deepEqual(ort.dims, dims(config));
    const err = maxAbsDiff(ort.data, ref);
    t.log(`max |output| ${maxAbs(ref).toFixed(3)}, max abs error ${err.toExponential(2)}`);
    t.true(maxAbs(ref) > 0.2, 'outputs too small for the tolerance to mean anything');
    t.true(err < TOLERANCE);
  });
}

test('bert: the MLM head ties its projection to word_embeddings unless told not to, and has no pooler', (t) => {
  const names = (o: Partial<BertConfig>) => buildBert({ ...SMALL, ...o }).model.graph!.initializer.map((i) => i.name);
  const tied = names({ head: 'mlm' });
  t.true(tied.includes('cls.predictions.bias'));
  t.false(tied.includes('cls.predictions.decoder.weight'));
  t.false(tied.some((n) => n.startsWith('pooler.') || n.startsWith('classifier.')));
  t.true(names({ head: 'mlm', tieWordEmbeddings: false }).includes('cls.predictions.decoder.weight'));
  t.deepEqual(names({ head: 'none' }).filter((n) => !n.startsWith('embeddings.') && !n.startsWith('encoder.')), []);
});

test('bert: padded tokens do not change the CLS logits; real tokens do', async (t) => {
  const { model } = buildBert(SMALL);
  const x = paddedBatch();
  const base = await runLogits(model, x);
  const changedPad = { ...x, ids: x.ids.map((id, i) => (i >= 13 ? (id + 17) % SMALL.vocabSize : id)) };
  t.true(maxAbsDiff(base.data, (await runLogits(model, changedPad)).data) < 1e-6);
  const changedReal = { ...x, ids: x.ids.map((id, i) => (i === 12 ? (id + 17) % SMALL.vocabSize : id)) };
  const moved = await runLogits(model, changedReal);
  t.true(maxAbsDiff(base.data.subarray(2), moved.data.subarray(2)) > 1e-3, 'changing a real token of batch 1 must move its logits');
  t.true(maxAbsDiff(base.data.subarray(0, 2), moved.data.subarray(0, 2)) < 1e-6, 'batch 0 is independent of batch 1');
});

test('bert: the anonymous variant computes identical logits', async (t) => {
  const x = paddedBatch();
  delete x.tokenTypes;
  const named = await runLogits(buildBert(SMALL).model, x);
  const anonymous = await runLogits(buildBert({ ...SMALL, anonymous: true }).model, x);
  t.deepEqual(Array.from(anonymous.data), Array.from(named.data));
});
