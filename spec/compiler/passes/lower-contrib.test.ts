/**
 * Fused contrib ops lowered into plain ONNX ops (compiler/passes/lower-contrib): each case is
 * one com.microsoft node run by onnxruntime-node's own CPU kernel, and the lowered graph run
 * on the same random inputs; every output the node names (extra ones included: mean,
 * inv_std_var, input_skip_bias_sum, mask_index, present) must agree. Inputs are declared with
 * symbolic batch and sequence dims, so the lowered masks and reshapes work on the sizes they
 * are given at run time. Variants the lowering cannot reproduce are refused by name.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { Graph, Model, float, modelToProto, makeAttrs, type Attrs } from '../../../compiler/graph/index.ts';
import { DataType, encodeModel, makeTensor } from '../../../compiler/onnx/index.ts';
import { valueInfoFromType } from '../../../compiler/shapes/types.ts';
import { lowerContribOps } from '../../../compiler/passes/lower-contrib/index.ts';
import { isUserError } from '../../../contract/errors.ts';
import '../../support/ort.ts';

type Input =
  | { kind: 'float' | 'weight' | 'zeros'; shape: number[]; dims?: (number | string)[]; scale?: number }
  | { kind: 'int32' | 'int64'; shape: number[]; values: number[]; dims?: (number | string)[] }
  | null;

interface Case {
  name: string;
  op: string;
  attrs?: Attrs;
  inputs: Input[];
  /** How many outputs the node names (all compared); optional outputs skipped are ''. */
  outputs: (0 | 1)[];
  opset?: number;
  /** Node domain (default com.microsoft). */
  domain?: string;
  /** Where the CPU kernel needs another form of the same computation (the kernel's domain, a zero bias it cannot do without). */
  reference?: { domain?: string; opset?: number; inputs?: Input[] };
}

const x = (...shape: number[]): Input => ({ kind: 'float', shape, dims: shape.map((d, i) => (i === 0 && shape.length >= 2 ? 'B' : i === 1 && shape.length >= 3 ? 'S' : d)) });
const w = (...shape: number[]): Input => ({ kind: 'weight', shape });
const i32 = (shape: number[], values: number[], dims?: (number | string)[]): Input => ({ kind: 'int32', shape, values, ...(dims ? { dims } : {}) });
const ids = (b: number, s: number, max: number) => i32([b, s], Array.from({ length: b * s }, (_, i) => (i * 7 + 3) % max), ['B', 'S']);
const pos = (b: number, s: number): Input => ({ kind: 'int64', shape: [b, s], values: Array.from({ length: b * s }, (_, i) => (i * 3) % 11), dims: ['B', 'S'] });
const all = (n: number) => Array.from({ length: n }, () => 1 as const);

// B = 2, S = 5, hidden 8; attention with 2 heads of 4 unless said.
const CASES: Case[] = [
  { name: 'SkipLayerNormalization, all four outputs', op: 'SkipLayerNormalization', attrs: { epsilon: 1e-5 }, inputs: [x(2, 5, 8), x(2, 5, 8), w(8), w(8), w(8)], outputs: all(4) },
  { name: 'SkipLayerNormalization, no beta, no bias, default epsilon', op: 'SkipLayerNormalization', inputs: [x(2, 5, 8), x(2, 5, 8), w(8)], outputs: [1] },
  { name: 'SkipLayerNormalization, skip (S, H) broadcast, sum only besides output', op: 'SkipLayerNormalization', inputs: [x(2, 5, 8), { kind: 'float', shape: [5, 8], dims: ['S', 8] }, w(8), w(8), w(8)], outputs: [1, 0, 0, 1] },
  { name: 'SkipSimplifiedLayerNormalization, bias, inv_std_var and sum', op: 'SkipSimplifiedLayerNormalization', attrs: { epsilon: 1e-6 }, inputs: [x(2, 5, 8), x(2, 5, 8), w(8), w(8)], outputs: [1, 0, 1, 1] },
  { name: 'SkipSimplifiedLayerNormalization, no bias', op: 'SkipSimplifiedLayerNormalization', inputs: [x(2, 5, 8), x(2, 5, 8), w(8)], outputs: [1] },
  // onnxruntime registers its LayerNormalization kernel in the default domain (before opset 17, ai.onnx has none): that is the reference for the com.microsoft-domain node.
  { name: 'com.microsoft LayerNormalization, Mean and InvStdDev', op: 'LayerNormalization', attrs: { epsilon: 1e-3 }, inputs: [x(2, 5, 8), w(8), w(8)], outputs: all(3), reference: { domain: '', opset: 16 } },
  { name: 'com.microsoft LayerNormalization over axes 1.. (axis 1), no bias', op: 'LayerNormalization', attrs: { axis: 1 }, inputs: [x(2, 5, 8), w(5, 8)], outputs: all(3), reference: { domain: '', opset: 16 } },
  // SimplifiedLayerNormalization is onnxruntime's op in the default domain (no ai.onnx op has the name).
  { name: 'SimplifiedLayerNormalization, inv_std_var', op: 'SimplifiedLayerNormalization', domain: '', attrs: { epsilon: 1e-6 }, inputs: [x(2, 5, 8), w(8)], outputs: all(2) },
  { name: 'SimplifiedLayerNormalization, default epsilon', op: 'SimplifiedLayerNormalization', domain: '', opset: 13, inputs: [x(2, 5, 8), w(8)], outputs: [1] },
  { name: 'EmbedLayerNormalization, segments and mask, all outputs', op: 'EmbedLayerNormalization', attrs: { epsilon: 1e-5 }, inputs: [ids(2, 5, 11), ids(2, 5, 2), w(11, 8), w(7, 8), w(2, 8), w(8), w(8), i32([2, 5], [1, 1, 1, 0, 0, 1, 1, 1, 1, 1], ['B', 'S'])], outputs: all(3) },
  { name: 'EmbedLayerNormalization, no segments, no mask (mask_index zeros)', op: 'EmbedLayerNormalization', inputs: [ids(2, 5, 11), null, w(11, 8), w(7, 8), null, w(8), w(8)], outputs: [1, 1] },
  { name: 'EmbedLayerNormalization, position_ids', op: 'EmbedLayerNormalization', inputs: [ids(2, 5, 11), ids(2, 5, 2), w(11, 8), w(7, 8), w(2, 8), w(8), w(8), null, i32([1, 5], [6, 4, 2, 0, 1], [1, 'S'])], outputs: [1, 1] },
  { name: 'Gelu', op: 'Gelu', inputs: [x(2, 5, 8)], outputs: [1] },
  { name: 'BiasGelu', op: 'BiasGelu', inputs: [x(2, 5, 8), w(8)], outputs: [1] },
  { name: 'FastGelu with bias', op: 'FastGelu', inputs: [x(2, 5, 8), w(8)], outputs: [1] },
  { name: 'FastGelu without bias', op: 'FastGelu', inputs: [{ kind: 'float', shape: [2, 5, 8], scale: 3 }], outputs: [1] },
  { name: 'QuickGelu, alpha', op: 'QuickGelu', attrs: { alpha: 1.5 }, inputs: [x(2, 5, 8)], outputs: [1] },
  { name: 'FusedMatMul transB, alpha', op: 'FusedMatMul', attrs: { transB: 1, alpha: 0.5 }, inputs: [x(2, 5, 8), w(6, 8)], outputs: [1] },
  { name: 'FusedMatMul transA on a batch', op: 'FusedMatMul', attrs: { transA: 1 }, inputs: [x(2, 8, 5), w(8, 6)], outputs: [1] },
  { name: 'Attention, no mask', op: 'Attention', attrs: { num_heads: 2 }, inputs: [x(2, 5, 8), w(8, 24), w(24)], outputs: [1] },
  { name: 'Attention, 1-D lengths (right padding)', op: 'Attention', attrs: { num_heads: 2 }, inputs: [x(2, 5, 8), w(8, 24), w(24), i32([2], [3, 5], ['B'])], outputs: [1] },
  { name: 'Attention, 2B ends and starts (left padding)', op: 'Attention', attrs: { num_heads: 2 }, inputs: [x(2, 5, 8), w(8, 24), w(24), i32([4], [5, 4, 2, 0], ['twoB'])], outputs: [1] },
  { name: 'Attention, 2-D raw mask, mask_filter_value', op: 'Attention', attrs: { num_heads: 2, mask_filter_value: float(-50) }, inputs: [x(2, 5, 8), w(8, 24), w(24), i32([2, 5], [1, 1, 0, 1, 0, 0, 1, 1, 1, 1], ['B', 'S'])], outputs: [1] },
  { name: 'Attention, 3-D mask', op: 'Attention', attrs: { num_heads: 2 }, inputs: [x(2, 5, 8), w(8, 24), w(24), i32([2, 5, 5], Array.from({ length: 50 }, (_, i) => ((i * 5) % 7 < 4 || i % 6 === 0 ? 1 : 0)), ['B', 'S', 'S'])], outputs: [1] },
  { name: 'Attention, unidirectional, present', op: 'Attention', attrs: { num_heads: 2, unidirectional: 1 }, inputs: [x(2, 5, 8), w(8, 24), w(24)], outputs: [1, 1] },
  { name: 'Attention, unidirectional with a 2-D mask', op: 'Attention', attrs: { num_heads: 4, unidirectional: 1 }, inputs: [x(2, 5, 8), w(8, 24), w(24), i32([2, 5], [1, 1, 1, 1, 0, 1, 1, 1, 1, 1], ['B', 'S'])], outputs: [1] },
  { name: 'Attention, qkv_hidden_sizes (v wider), scale', op: 'Attention', attrs: { num_heads: 2, qkv_hidden_sizes: [8, 8, 12], scale: 0.3 }, inputs: [x(2, 5, 6), w(6, 28), w(28)], outputs: [1] },
  // The CPU kernel needs a bias: its result with zeros is the reference.
  { name: 'Attention, no bias', op: 'Attention', attrs: { num_heads: 2 }, inputs: [x(2, 5, 8), w(8, 24)], outputs: [1], reference: { inputs: [x(2, 5, 8), w(8, 24), { kind: 'zeros', shape: [24] }] } },
  { name: 'Attention, one head, attention_bias', op: 'Attention', attrs: { num_heads: 1 }, inputs: [x(2, 5, 8), w(8, 24), w(24), null, null, { kind: 'float', shape: [1, 1, 5, 5], dims: [1, 1, 'S', 'S'] }], outputs: [1] },
  { name: 'Attention at opset 11 (axes as attributes)', op: 'Attention', opset: 11, attrs: { num_heads: 2, unidirectional: 1 }, inputs: [x(2, 5, 8), w(8, 24), w(24), i32([2], [4, 5], ['B'])], outputs: [1] },
  { name: 'MultiHeadAttention, self, packed bias', op: 'MultiHeadAttention', attrs: { num_heads: 2 }, inputs: [x(2, 5, 8), x(2, 5, 8), x(2, 5, 8), w(24)], outputs: [1] },
  { name: 'MultiHeadAttention, cross (key length 3), 2-D key padding mask, scale', op: 'MultiHeadAttention', attrs: { num_heads: 2, scale: 0.4 }, inputs: [x(2, 5, 8), { kind: 'float', shape: [2, 3, 8], dims: ['B', 'T', 8] }, { kind: 'float', shape: [2, 3, 12], dims: ['B', 'T', 12] }, null, i32([2, 3], [1, 1, 0, 1, 0, 1], ['B', 'T'])], outputs: [1] },
  { name: 'MultiHeadAttention, 1-D key lengths', op: 'MultiHeadAttention', attrs: { num_heads: 4 }, inputs: [x(2, 5, 8), x(2, 5, 8), x(2, 5, 8), null, i32([2], [2, 5], ['B'])], outputs: [1] },
  { name: 'MultiHeadAttention, unidirectional, attention_bias', op: 'MultiHeadAttention', attrs: { num_heads: 2, unidirectional: 1 }, inputs: [x(2, 5, 8), x(2, 5, 8), x(2, 5, 8), w(24), null, { kind: 'float', shape: [1, 2, 5, 5], dims: [1, 2, 'S', 'S'] }], outputs: [1] },
  { name: 'RotaryEmbedding, [B, N, S, H], half-split', op: 'RotaryEmbedding', inputs: [{ kind: 'float', shape: [2, 2, 5, 8], dims: ['B', 2, 'S', 8] }, pos(2, 5), w(16, 4), w(16, 4)], outputs: [1] },
  { name: 'RotaryEmbedding, [B, S, N*H], interleaved', op: 'RotaryEmbedding', attrs: { interleaved: 1, num_heads: 2 }, inputs: [x(2, 5, 16), pos(2, 5), w(16, 4), w(16, 4)], outputs: [1] },
  { name: 'RotaryEmbedding, partial rotary_embedding_dim', op: 'RotaryEmbedding', attrs: { rotary_embedding_dim: 4, num_heads: 2 }, inputs: [{ kind: 'float', shape: [2, 2, 5, 8], dims: ['B', 2, 'S', 8] }, pos(2, 5), w(16, 2), w(16, 2)], outputs: [1] },
  { name: 'RotaryEmbedding, one position offset', op: 'RotaryEmbedding', attrs: { num_heads: 2 }, inputs: [x(2, 5, 16), { kind: 'int64', shape: [1], values: [3] }, w(16, 4), w(16, 4)], outputs: [1] },
];

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

function build(c: Case): { model: Model; feeds: Record<string, ort.Tensor> } {
  const graph = new Graph();
  const rand = random(c.name.length * 31 + 7);
  const feeds: Record<string, ort.Tensor> = {};
  const inputs = c.inputs.map((spec, k) => {
    if (!spec) return '';
    const name = `in${k}`;
    if (spec.kind === 'int32' || spec.kind === 'int64') {
      graph.inputs.push(valueInfoFromType(name, { dtype: spec.kind === 'int32' ? DataType.INT32 : DataType.INT64, shape: spec.dims ?? spec.shape }));
      feeds[name] = spec.kind === 'int32' ? new ort.Tensor('int32', Int32Array.from(spec.values), spec.shape) : new ort.Tensor('int64', BigInt64Array.from(spec.values.map(BigInt)), spec.shape);
      return name;
    }
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = spec.kind === 'zeros' ? new Float32Array(n) : Float32Array.from({ length: n }, () => rand() * (spec.kind === 'weight' ? 0.7 : 1.5) * (spec.kind === 'float' ? (spec.scale ?? 1) : 1));
    if (spec.kind !== 'float') graph.initializers.set(name, makeTensor(name, DataType.FLOAT, spec.shape, data));
    else {
      graph.inputs.push(valueInfoFromType(name, { dtype: DataType.FLOAT, shape: spec.dims ?? spec.shape }));
      feeds[name] = new ort.Tensor('float32', data, spec.shape);
    }
    return name;
  });
  while (inputs.length && inputs[inputs.length - 1] === '') inputs.pop();
  const outputs = c.outputs.map((want, k) => (want ? `out${k}` : ''));
  graph.nodes.push({ name: 'fused', opType: c.op, domain: c.domain ?? 'com.microsoft', inputs, outputs, attributes: makeAttrs(c.attrs) });
  graph.outputs = outputs.filter(Boolean).map((o) => valueInfoFromType(o, { dtype: c.op === 'EmbedLayerNormalization' && o === 'out1' ? DataType.INT32 : DataType.FLOAT }));
  const model = new Model(graph);
  model.opsets.set('', c.opset ?? 17);
  model.opsets.set('com.microsoft', 1);
  return { model, feeds };
}

async function run(model: Model, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const proto = modelToProto(model);
  proto.irVersion = 8n;
  const session = await ort.InferenceSession.create(encodeModel(proto), { graphOptimizationLevel: 'disabled', executionProviders: ['cpu'], intraOpNumThreads: 1 });
  return session.run(feeds);
}

for (const c of CASES) {
  test(`${c.name}: the lowered graph computes the CPU kernel's outputs`, async (t) => {
    const fused = build({ ...c, ...c.reference });
    const expected = await run(fused.model, fused.feeds);
    const lowered = build(c).model;
    lowerContribOps(lowered);
    t.false(lowered.graph.nodes.some((n) => n.opType === c.op), 'no fused op is left');
    const got = await run(lowered, fused.feeds);
    for (const name of Object.keys(expected)) {
      const [a, b] = [expected[name]!, got[name]!];
      t.deepEqual(b.dims, a.dims, `${name} shape`);
      t.is(b.type, a.type, `${name} type`);
      const [ea, eb] = [Array.from(a.data as ArrayLike<number>, Number), Array.from(b.data as ArrayLike<number>, Number)];
      let worst = 0;
      for (let i = 0; i < ea.length; i++) worst = Math.max(worst, Math.abs(ea[i]! - eb[i]!) / Math.max(1, Math.abs(ea[i]!)));
      t.true(worst <= 2e-5, `${name}: max relative difference ${worst}`);
    }
  });
}

const REFUSED: { name: string; c: Case; says: RegExp }[] = [
  { name: 'Attention with a past state', c: { name: 'past', op: 'Attention', attrs: { num_heads: 2 }, inputs: [x(2, 5, 8), w(8, 24), w(24), null, x(2, 2, 2, 3, 4)], outputs: [1, 1] }, says: /Attention 'fused'.*past key\/value state \(input 4/ },
  { name: 'Attention with do_rotary', c: { name: 'rotary', op: 'Attention', attrs: { num_heads: 2, do_rotary: 1 }, inputs: [x(2, 5, 8), w(8, 24), w(24)], outputs: [1] }, says: /do_rotary=1/ },
  { name: 'Attention with a 4-D mask', c: { name: 'mask4', op: 'Attention', attrs: { num_heads: 2 }, inputs: [x(2, 5, 8), w(8, 24), w(24), i32([2, 1, 5, 5], new Array(50).fill(1), ['B', 1, 'S', 'S'])], outputs: [1] }, says: /mask_index 'in3' has rank 4/ },
  { name: 'FusedMatMul with a batch transpose', c: { name: 'tb', op: 'FusedMatMul', attrs: { transBatchA: 1 }, inputs: [x(2, 5, 8), w(8, 6)], outputs: [1] }, says: /transBatchA=1/ },
  { name: 'MultiHeadAttention with packed QKV', c: { name: 'mha', op: 'MultiHeadAttention', attrs: { num_heads: 2 }, inputs: [{ kind: 'float', shape: [2, 5, 2, 3, 4] }], outputs: [1] }, says: /MultiHeadAttention 'fused'.*packs q, k and v/ },
  { name: 'MultiHeadAttention with past keys', c: { name: 'mha-past', op: 'MultiHeadAttention', attrs: { num_heads: 2 }, inputs: [x(2, 5, 8), x(2, 5, 8), x(2, 5, 8), null, null, null, x(2, 2, 3, 4), x(2, 2, 3, 4)], outputs: [1, 1, 1] }, says: /reads past_key \(input 6/ },
  { name: 'GroupQueryAttention', c: { name: 'gqa', op: 'GroupQueryAttention', attrs: { num_heads: 2, kv_num_heads: 1 }, inputs: [x(2, 5, 8), x(2, 5, 4), x(2, 5, 4)], outputs: [1] }, says: /GroupQueryAttention 'fused'.*does not rewrite/ },
];

for (const { name, c, says } of REFUSED) {
  test(`refused by name: ${name}`, (t) => {
    const { model } = build(c);
    const before = model.graph.nodes.slice();
    const error = t.throws(() => lowerContribOps(model));
    t.true(isUserError(error), String(error));
    t.regex(error!.message, says);
    t.regex((error as { hint?: string }).hint ?? '', /re-export|export the model/);
    t.deepEqual(model.graph.nodes, before, 'the graph is left as it was');
  });
}
