/**
 * Symbolic dims through the shape computations transformer exports write out: Shape -> Gather
 * -> Unsqueeze -> Concat -> Reshape, Range over seq, a causal mask from ConstantOfShape + Trilu,
 * a position buffer sliced to seq, torch's expand(B, -1, -1) (ConstantOfShape -> Mul -> Equal
 * -> Where -> Expand). batch and seq must survive as symbols; the annotated model must load in
 * onnxruntime and its real output shapes must match the symbolic ones.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { DataType } from '../../../compiler/onnx/dtype.ts';
import { create, ValueInfoProtoSchema } from '../../../compiler/onnx/proto.ts';
import { encodeModel } from '../../../compiler/onnx/encode.ts';
import { scalarTensor } from '../../../compiler/onnx/tensor.ts';
import { GraphBuilder } from '../../../compiler/graph/builder.ts';
import { Graph, Model } from '../../../compiler/graph/graph.ts';
import { modelToProto } from '../../../compiler/graph/convert.ts';
import {
  annotateValueInfo, buildRegistry, dimAdd, dimBounds, dimDivExact, dimEquals, dimMul, dimSub, evaluateDim, inferShapes, normalizeDim,
  valueInfoFromType, valueTypeFromInfo,
} from '../../../compiler/shapes/index.ts';
import { formatType, matchesType } from './notation.ts';

function attentionLikeModel(): { model: Model; names: Record<string, string> } {
  const graph = new Graph();
  graph.inputs = [
    valueInfoFromType('hidden', { dtype: DataType.FLOAT, shape: ['batch', 'seq', 64] }),
  ];
  const b = new GraphBuilder(graph);
  const shape = b.op('Shape', ['hidden']);
  const batch = b.op('Gather', [shape, b.scalar(0, DataType.INT64)], { axis: 0 });
  const seq = b.op('Gather', [shape, b.scalar(1, DataType.INT64)], { axis: 0 });
  const width = b.op('Gather', [shape, b.scalar(2, DataType.INT64)], { axis: 0 });
  const headDim = b.op('Div', [width, b.scalar(4, DataType.INT64)]);
  const ub = b.op('Unsqueeze', [batch, b.ints([0])]);
  const us = b.op('Unsqueeze', [seq, b.ints([0])]);
  const uh = b.op('Unsqueeze', [headDim, b.ints([0])]);
  const heads = b.op('Reshape', ['hidden', b.op('Concat', [ub, us, b.ints([4]), uh], { axis: 0 })]);
  const q = b.op('Transpose', [heads], { perm: [0, 2, 1, 3] });
  const k = b.op('Transpose', [heads], { perm: [0, 2, 3, 1] });
  const scores = b.op('MatMul', [q, k]);
  // Causal mask: ones [seq, seq] -> upper triangle above the diagonal -> bool.
  const ones = b.op('ConstantOfShape', [b.op('Concat', [us, us], { axis: 0 })]);
  const upper = b.op('Cast', [b.op('Trilu', [ones, b.scalar(1, DataType.INT64)], { upper: 1 })], { to: DataType.BOOL });
  const masked = b.op('Where', [upper, b.scalar(-1e9), scores]);
  const probs = b.op('Softmax', [masked], { axis: -1 });
  const context = b.op('MatMul', [probs, b.op('Transpose', [k], { perm: [0, 1, 3, 2] })]);
  const merged = b.op('Reshape', [b.op('Transpose', [context], { perm: [0, 2, 1, 3] }), b.op('Concat', [ub, us, b.ints([-1])], { axis: 0 })]);
  // Flatten tokens with -1, then a Range over seq and a position buffer sliced to seq.
  const tokens = b.op('Reshape', [merged, b.ints([-1, 64])]);
  const positions = b.op('Range', [b.scalar(0, DataType.INT64), seq, b.scalar(1, DataType.INT64)]);
  const buffer = b.constant('pos_buffer', DataType.FLOAT, [1, 512], new Float32Array(512));
  const sliced = b.op('Slice', [buffer, b.ints([0]), us, b.ints([1])]);
  const next = b.op('Add', [seq, b.scalar(1, DataType.INT64)]);
  const grown = b.op('ConstantOfShape', [b.op('Concat', [ub, b.op('Unsqueeze', [next, b.ints([0])])], { axis: 0 })]);
  // torch's `cls.expand(B, -1, -1)` (ViT) and `buffer.expand(B, seq)` (HF BERT's token types):
  // the target goes through Where(Equal(target, -1), ones, target), because torch's -1 keeps a
  // dim and ONNX Expand's 1 does.
  const torchExpand = (x: string, target: string, rank: number) => {
    const ones = b.op('ConstantOfShape', [b.ints([rank])], { value: scalarTensor('value', DataType.INT64, 1, [1]) });
    const minusOnes = b.op('Mul', [ones, b.scalar(-1, DataType.INT64)]);
    return b.op('Expand', [x, b.op('Where', [b.op('Equal', [target, minusOnes]), ones, target])]);
  };
  const cls = b.constant('cls', DataType.FLOAT, [1, 1, 64], new Float32Array(64));
  const clsTokens = torchExpand(cls, b.op('Concat', [ub, b.ints([-1, -1])], { axis: 0 }), 3);
  const withCls = b.op('Concat', [clsTokens, 'hidden'], { axis: 1 });
  const typeIds = b.op('Slice', [b.constant('type_ids', DataType.INT64, [1, 512], new BigInt64Array(512)), b.ints([0]), us, b.ints([1])]);
  const typeIdsBatch = torchExpand(typeIds, b.op('Concat', [ub, us], { axis: 0 }), 2);
  // Outputs declared without types: annotateValueInfo must supply them.
  graph.outputs = [merged, tokens, positions, sliced, grown, probs, withCls, typeIdsBatch].map((name) => create(ValueInfoProtoSchema, { name }));
  const model = new Model(graph);
  model.opsets.set('', 17);
  return { model, names: { shape, headDim, scores, masked, merged, tokens, positions, sliced, grown, probs, next, withCls, typeIdsBatch } };
}

test('batch and seq stay symbolic through shape computations', (t) => {
  const { model, names } = attentionLikeModel();
  const types = inferShapes(model);
  const expect: Record<string, string> = {
    shape: 'int64[3]',
    headDim: 'int64[]',
    scores: 'float32[batch, 4, seq, seq]',
    masked: 'float32[batch, 4, seq, seq]',
    probs: 'float32[batch, 4, seq, seq]',
    merged: 'float32[batch, seq, 64]',
    tokens: 'float32[batch*seq, 64]',
    positions: 'int64[seq]',
    sliced: 'float32[1, seq]',
    grown: 'float32[batch, seq+1]',
    next: 'int64[]',
    withCls: 'float32[batch, seq+1, 64]',
    typeIdsBatch: 'int64[batch, seq]',
  };
  for (const [key, want] of Object.entries(expect)) {
    const got = types.get(names[key]!);
    t.true(matchesType(got, want), `${key}: inferred ${formatType(got)}, expected ${want}`);
  }
});

test('annotated value_info loads in onnxruntime and matches real shapes', async (t) => {
  const { model } = attentionLikeModel();
  const count = annotateValueInfo(model);
  t.true(count > 20, `only ${count} values annotated`);
  const declared = new Map(model.graph.outputs.map((o) => [o.name, valueTypeFromInfo(o)]));
  const session = await ort.InferenceSession.create(encodeModel(modelToProto(model)));
  for (const [batch, seq] of [[2, 5], [1, 7]] as const) {
    const hidden = new ort.Tensor('float32', new Float32Array(batch * seq * 64).map((_, i) => Math.sin(i)), [batch, seq, 64]);
    const out = await session.run({ hidden });
    const bindings = new Map([['batch', batch], ['seq', seq]]);
    for (const [name, tensor] of Object.entries(out)) {
      const type = declared.get(name);
      t.truthy(type?.shape, `${name} has no annotated shape`);
      t.deepEqual(type!.shape!.map((d) => evaluateDim(d, bindings)), [...tensor.dims], `${name} at batch=${batch}, seq=${seq}`);
    }
  }
});

test('symbolic dim arithmetic has one canonical spelling', (t) => {
  t.is(dimSub(dimAdd('seq', 1), 1), 'seq');
  t.is(dimDivExact(dimMul(dimMul('batch', 'seq'), 768), 768), 'batch*seq');
  t.is(dimDivExact('seq', 2), undefined);
  t.is(normalizeDim('seq + 1'), 'seq+1');
  t.is(normalizeDim('1 + seq'), 'seq+1');
  t.is(dimAdd('past', 'seq'), dimAdd('seq', 'past'));
  t.is(dimEquals('seq+1', 'seq'), false);
  t.is(dimEquals('seq', 'batch'), undefined);
  // Symbols are sizes: never negative, so some comparisons with numbers are decided.
  t.is(dimEquals('batch', -1), false);
  t.is(dimEquals('seq+1', 0), false);
  t.is(dimEquals('seq-1', -1), undefined);
  t.is(dimEquals('batch', 3), undefined);
  t.deepEqual(dimBounds('2*batch*seq+1'), { min: 1, max: undefined });
  t.deepEqual(dimBounds('-batch'), { min: undefined, max: 0 });
  t.deepEqual(dimBounds('seq-batch'), { min: undefined, max: undefined });
  t.is(evaluateDim('2*batch*seq+1', new Map([['batch', 3], ['seq', 4]])), 25);
  // Broadcasting two unrelated symbols: whichever is not 1.
  t.is(evaluateDim('max(a,b)', new Map([['a', 1], ['b', 6]])), 6);
  t.is(evaluateDim('max(a,b)', new Map([['a', 2], ['b', 6]])), undefined);
  // A dim_param that is no expression stays one opaque symbol.
  t.is(normalizeDim('batch size'), 'batch size');
});

test('a rule registered twice is rejected', (t) => {
  const rule = () => [];
  t.throws(() => buildRegistry([{ Relu: rule }, { Relu: rule }]), { message: /Relu.*twice/ });
  t.throws(() => buildRegistry([{ 'com.microsoft:Gelu': rule }, { 'com.microsoft:Gelu': rule }]));
  t.notThrows(() => buildRegistry([{ Gelu: rule }, { 'com.microsoft:Gelu': rule }]));
});

test('malformed graphs give unknown, never throw', (t) => {
  const graph = new Graph();
  graph.nodes.push(
    { name: 'a', opType: 'Reshape', domain: '', inputs: ['missing', 'also_missing'], outputs: ['r'], attributes: [] },
    { name: 'b', opType: 'Conv', domain: '', inputs: ['r'], outputs: ['c'], attributes: [] },
    { name: 'c', opType: 'If', domain: '', inputs: ['c'], outputs: ['i'], attributes: [] },
    { name: 'd', opType: 'Add', domain: '', inputs: ['d_out', 'c'], outputs: ['d_out'], attributes: [] },
  );
  const model = new Model(graph);
  model.opsets.set('', 17);
  let types = new Map<string, { shape?: unknown }>();
  t.notThrows(() => {
    types = inferShapes(model);
  });
  t.is(types.get('c')?.shape, undefined);
});
