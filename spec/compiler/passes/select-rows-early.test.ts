/**
 * selectRowsEarly: a Gather with a constant index moves up through the ops whose rows are
 * independent along its axis, and every graph computes what it computed before, bit for bit;
 * where rows mix (a softmax over the axis, a product over it, a reduction), where the value has
 * other readers, or where a broadcast cannot be shown to line up, the Gather stays.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { buildModel } from '../../../examples/models/index.ts';
import { Graph, GraphBuilder, Model, cloneModel, modelFromProto, modelToProto, validateGraph } from '../../../compiler/graph/index.ts';
import { selectRowsEarly } from '../../../compiler/passes/select-rows-early.ts';
import { buildTrainingGraphs } from '../../../compiler/train/index.ts';
import { inferShapes } from '../../../compiler/shapes/infer.ts';
import { DataType, encodeModel, makeTensor, makeValueInfo } from '../../../compiler/onnx/index.ts';
import { valueInfoFromType } from '../../../compiler/shapes/types.ts';
import type { Dim } from '../../../compiler/shapes/dim.ts';
import '../../support/ort.ts';

type Feeds = Record<string, ort.Tensor>;

async function run(m: Model, feeds: Feeds): Promise<Record<string, number[]>> {
  const session = await ort.InferenceSession.create(encodeModel(modelToProto(m)), { graphOptimizationLevel: 'disabled' });
  const names = m.graph.feedInputs().map((i) => i.name);
  const out = await session.run(Object.fromEntries(names.map((n) => [n, feeds[n]!])));
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...(v.data as Float32Array)]]));
}

/** The pass on a copy; the copy's outputs must equal the original's exactly. */
async function moved(t: { deepEqual(a: unknown, b: unknown): void }, m: Model, feeds: Feeds): Promise<{ count: number; after: Model }> {
  const after = cloneModel(m);
  const count = selectRowsEarly(after);
  t.deepEqual(validateGraph(after.graph), []);
  t.deepEqual(await run(after, feeds), await run(m, feeds));
  return { count, after };
}

const floats = (dims: number[], seed: number) => {
  const n = dims.reduce((a, d) => a * d, 1);
  return new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.3 + i * 1.91) * 2), dims);
};

function graphOf(inputs: [string, Dim[]][], build: (b: GraphBuilder) => string[], opset = 17): Model {
  const g = new Graph();
  g.inputs = inputs.map(([name, shape]) => makeValueInfo(name, DataType.FLOAT, shape));
  const b = new GraphBuilder(g);
  g.outputs = build(b).map((o) => makeValueInfo(o, DataType.FLOAT, undefined));
  const m = new Model(g);
  m.opsets.set('', opset);
  return m;
}

const weight = (b: GraphBuilder, dims: number[], seed: number) => b.initializer('w', makeTensor('w', DataType.FLOAT, dims, floats(dims, seed).data as Float32Array));
const index = (b: GraphBuilder, values: number[], scalar = false) => b.constant('i', DataType.INT64, scalar ? [] : [values.length], BigInt64Array.from(values.map(BigInt)));

test('a BERT classifier\'s last block computes the [CLS] row only, with the same logits', async (t) => {
  const m = modelFromProto(buildModel('bert', { layers: 2, dModel: 32, heads: 4, ffn: 64, vocabSize: 50, maxPositions: 16 }).model);
  const B = 3, S = 7;
  const ints = (f: (k: number) => number) => new ort.Tensor('int64', BigInt64Array.from({ length: B * S }, (_, k) => BigInt(f(k))), [B, S]);
  const feeds = { input_ids: ints((k) => (k * 7 + 3) % 50), attention_mask: ints((k) => (k % S < 5 + (k % 2) ? 1 : 0)), token_type_ids: ints(() => 0) };
  const { count, after } = await moved(t, m, feeds);
  t.true(count >= 10, `${count} ops moved`);
  const shapes = inferShapes(after);
  const ffnInput = (block: number) => shapes.get(after.graph.nodes.find((n) => n.name === `/encoder/layer.${block}/intermediate/dense/MatMul`)!.inputs[0]!)?.shape;
  t.is(ffnInput(1)?.[1], 1, 'the last block\'s FFN reads one row per example');
  t.not(ffnInput(0)?.[1], 1, 'the first block, which the last block\'s attention reads whole, is unchanged');
});

test('moves through broadcasting, LayerNormalization, MatMul, Transpose, Concat, Gemm and a reduction; equal selections become one', async (t) => {
  const m = graphOf([['x', [2, 5, 4]], ['y', [1, 5, 1]], ['z', [5, 4]]], (b) => {
    const a = b.op('Add', ['x', 'y']);
    const ln = b.op('LayerNormalization', [a, weight(b, [4], 1), weight(b, [4], 2)], { axis: -1 });
    const h = b.op('Relu', [b.op('Add', [b.op('MatMul', [ln, weight(b, [4, 6], 3)]), weight(b, [6], 4)])]);
    const sum = b.op('ReduceSum', [h, b.ints([2])], { keepdims: 1 });
    const t1 = b.op('Transpose', [b.op('Mul', [h, sum])], { perm: [1, 0, 2] });
    const c = b.op('Concat', ['x', b.op('Neg', ['x'])], { axis: 2 });
    const gemm = b.op('Gemm', ['z', weight(b, [4, 3], 5), weight(b, [5, 3], 6)]);
    return [
      b.op('Gather', [t1, index(b, [3, 0])], { axis: 0 }),
      b.op('Gather', [b.op('Transpose', [t1], { perm: [1, 0, 2] }), index(b, [3, 0])], { axis: 1 }),
      b.op('Gather', [c, index(b, [-1], true)], { axis: 1 }),
      b.op('Gather', [gemm, index(b, [4])], { axis: 0 }),
    ];
  });
  const { count, after } = await moved(t, m, { x: floats([2, 5, 4], 1), y: floats([1, 5, 1], 2), z: floats([5, 4], 3) });
  t.true(count >= 10, `${count} ops moved`);
  const ops = after.graph.nodes.map((n) => n.opType);
  // The rows are selected from the inputs: x and y (size 5 on the axis, so not a broadcast) for
  // rows [3, 0], x once for the Concat's two halves, z and Gemm's C for its row.
  const gathered = after.graph.nodes.filter((n) => n.opType === 'Gather').map((n) => n.inputs[0]).sort();
  t.deepEqual(gathered, ['w_5', 'x', 'x', 'y', 'z'], ops.join(' '));
  t.true(ops.includes('Squeeze'), 'the scalar index becomes [i] and a Squeeze');
});

test('the Squeeze of a scalar index takes its axes as an attribute before opset 13', async (t) => {
  const m = graphOf([['x', [2, 5, 4]]], (b) => [b.op('Gather', [b.op('Tanh', ['x']), index(b, [2], true)], { axis: 1 })], 11);
  const { count, after } = await moved(t, m, { x: floats([2, 5, 4], 4) });
  t.is(count, 1);
  const squeeze = after.graph.nodes.find((n) => n.opType === 'Squeeze')!;
  t.is(squeeze.inputs.length, 1);
  t.deepEqual(squeeze.attributes.map((a) => [a.name, a.ints.map(Number)]), [['axes', [1]]]);
});

test('stays where rows mix, where the value has other readers, and where a broadcast cannot be shown to line up', async (t) => {
  const cases: [string, Model][] = [
    ['softmax over the axis', graphOf([['x', [2, 5, 4]]], (b) => [b.op('Gather', [b.op('Softmax', ['x'], { axis: 1 }), index(b, [0], true)], { axis: 1 })])],
    ['a product over the axis', graphOf([['x', [2, 5, 4]]], (b) => [b.op('Gather', [b.op('MatMul', ['x', weight(b, [4, 6], 1)]), index(b, [0])], { axis: 2 })])],
    ['a reduction over the axis', graphOf([['x', [2, 5, 4]]], (b) => [b.op('Gather', [b.op('ReduceMax', ['x'], { axes: [1], keepdims: 1 }), index(b, [0])], { axis: 1 })], 13)],
    ['another reader', graphOf([['x', [2, 5, 4]]], (b) => {
      const r = b.op('Relu', ['x']);
      return [b.op('Gather', [r, index(b, [0], true)], { axis: 1 }), r];
    })],
    ['sizes not known to match', graphOf([['x', [2, 's', 4]], ['y', [2, 't', 4]]], (b) => [b.op('Gather', [b.op('Add', ['x', 'y']), index(b, [0])], { axis: 1 })])],
    ['an index computed at run time', graphOf([['x', [2, 5, 4]]], (b) => [b.op('Gather', [b.op('Relu', ['x']), b.op('Cast', [b.op('ReduceMin', [b.op('Shape', ['x'])], { keepdims: 0 })], { to: DataType.INT64 })], { axis: 1 })])],
    ['no shorter than the axis', graphOf([['x', [2, 2, 4]]], (b) => [b.op('Gather', [b.op('Relu', ['x']), index(b, [1, 0])], { axis: 1 })])],
  ];
  const wiring = (m: Model) => m.graph.nodes.map((n) => `${n.opType}(${n.inputs.join(', ')}) -> ${n.outputs.join(', ')}`);
  for (const [what, m] of cases) {
    const before = wiring(m);
    t.is(selectRowsEarly(m), 0, what);
    t.deepEqual(wiring(m), before, what);
  }
});

test('in the train graph, a model output the loss does not read (the last hidden state beside the logits) keeps no rows alive', (t) => {
  const m = modelFromProto(buildModel('bert', { layers: 2, dModel: 32, heads: 4, ffn: 64, vocabSize: 50, maxPositions: 16 }).model);
  const pooler = m.graph.nodes.find((n) => n.opType === 'Gather' && n.name.startsWith('/pooler'))!;
  const hidden = pooler.inputs[0]!;
  m.graph.outputs.push(valueInfoFromType(hidden, inferShapes(m).get(hidden)!));
  const graphs = buildTrainingGraphs(m, { trainable: ['classifier.weight', 'classifier.bias'], loss: { kind: 'classification', logits: 'logits' }, optimizer: { kind: 'adamw', lr: 1e-3 } });
  const train = graphs.train;
  const shapes = inferShapes(train);
  const ffn = train.graph.nodes.find((n) => n.name === '/encoder/layer.1/intermediate/dense/MatMul')!;
  t.is(shapes.get(ffn.inputs[0]!)?.shape?.[1], 1, 'the last block\'s FFN reads one row per example');
  t.true(graphs.eval.graph.outputNames().includes(hidden), 'the eval graph still gives the model\'s outputs');
  const evalShapes = inferShapes(graphs.eval);
  const evalFfn = graphs.eval.graph.nodes.find((n) => n.name === '/encoder/layer.1/intermediate/dense/MatMul')!;
  t.not(evalShapes.get(evalFfn.inputs[0]!)?.shape?.[1], 1, 'the eval graph returns the last hidden state, so its last block computes every row');
});

test('the eval graph computes the rows a classifier reads too; the infer graph is left as the model is', (t) => {
  const m = modelFromProto(buildModel('bert', { layers: 2, dModel: 32, heads: 4, ffn: 64, vocabSize: 50, maxPositions: 16 }).model);
  const graphs = buildTrainingGraphs(m, { trainable: ['classifier.weight', 'classifier.bias'], loss: { kind: 'classification', logits: 'logits' }, optimizer: { kind: 'adamw', lr: 1e-3 } });
  const lastFfnRows = (model: Model) => {
    const ffn = model.graph.nodes.find((n) => n.name === '/encoder/layer.1/intermediate/dense/MatMul')!;
    return inferShapes(model).get(ffn.inputs[0]!)?.shape?.[1];
  };
  t.is(lastFfnRows(graphs.eval), 1);
  t.not(lastFfnRows(graphs.infer), 1);
});
