/**
 * accumulateIntoGemm: a layer input's gradient, summed over the projections that read it, is
 * accumulated by the projections' Gemms through their C input; the gradient is the same up to
 * float rounding, and a Gemm whose product has another reader, or a sum that broadcasts, stays.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { Graph, GraphBuilder, Model, modelToProto } from '../../../compiler/graph/index.ts';
import { DataType, encodeModel, makeTensor } from '../../../compiler/onnx/index.ts';
import { differentiate } from '../../../compiler/autodiff/index.ts';
import { eliminateDeadCode } from '../../../compiler/passes/dce.ts';
import { accumulateIntoGemm } from '../../../compiler/passes/accumulate-into-gemm.ts';
import { valueInfoFromType } from '../../../compiler/shapes/types.ts';
import { rng } from '../autodiff/gradcheck.ts';
import '../../support/ort.ts';

const [N, S, D, P] = [2, 3, 6, 5];

/** h [n, s, D] read by three projections and by itself (a residual); the loss's gradient for h, with `fused` the rewrite applied. */
function projections(fused: boolean, extraReader = false): { model: Model; gradient: string; rewritten: number } {
  const g = new Graph();
  const b = new GraphBuilder(g);
  const rand = rng(7);
  g.inputs.push(valueInfoFromType('h', { dtype: DataType.FLOAT, shape: ['n', 's', D] }));
  const weight = (name: string) => {
    g.initializers.set(name, makeTensor(name, DataType.FLOAT, [D, P], Float32Array.from({ length: D * P }, () => rand() - 0.5)));
    return name;
  };
  const terms = ['Wq', 'Wk', 'Wv'].map((w, i) => {
    const y = b.op('MatMul', ['h', weight(w)]);
    return b.op('ReduceSum', [b.op('Mul', [y, i === 1 ? y : b.constant('c', DataType.FLOAT, [], Float32Array.of(i + 0.5))])], { keepdims: 0 });
  });
  terms.push(b.op('ReduceSum', [b.op('Mul', ['h', 'h'])], { keepdims: 0 }));
  b.op('Sum', terms, undefined, { outputs: ['loss'] });
  g.outputs = [valueInfoFromType('loss', { dtype: DataType.FLOAT })];
  const diff = differentiate(g, { loss: 'loss', wrt: ['h'], opset: 17 });
  const gradient = diff.gradients.get('h')!;
  g.outputs.push(valueInfoFromType(gradient, { dtype: DataType.FLOAT }));
  if (extraReader) {
    // Every projection's input gradient also a graph output: no Gemm may write into another.
    for (const n of g.nodes.filter((x) => x.opType === 'Gemm')) g.outputs.push(valueInfoFromType(n.outputs[0]!, { dtype: DataType.FLOAT }));
  }
  const rewritten = fused ? accumulateIntoGemm(g, diff.emitter.shapes) : 0;
  eliminateDeadCode(g);
  const model = new Model(g);
  model.opsets.set('', 17);
  return { model, gradient, rewritten };
}

async function gradientOf(m: Model, gradient: string, h: ort.Tensor): Promise<Float32Array> {
  const proto = modelToProto(m);
  proto.irVersion = 10n;
  const session = await ort.InferenceSession.create(encodeModel(proto));
  return (await session.run({ h }))[gradient]!.data as Float32Array;
}

test('the projections\' Gemms accumulate the input gradient: no Sum of their products, the same gradient', async (t) => {
  const rand = rng(11);
  const h = new ort.Tensor('float32', Float32Array.from({ length: N * S * D }, () => 2 * rand() - 1), [N, S, D]);
  const plain = projections(false);
  const fused = projections(true);
  t.is(fused.rewritten, 1);
  const gemms = fused.model.graph.nodes.filter((n) => n.opType === 'Gemm');
  t.is(gemms.length, 3);
  t.is(gemms.filter((n) => (n.inputs[2] ?? '') !== '').length, 3, 'each Gemm adds into the running sum');
  const producers = fused.model.graph.producers();
  for (const n of fused.model.graph.nodes.filter((x) => x.opType === 'Sum' || x.opType === 'Add')) {
    t.false(n.inputs.some((v) => ['Gemm', 'Reshape'].includes(producers.get(v)?.opType ?? '')), `${n.opType} ${n.name} still sums a product`);
  }
  const want = await gradientOf(plain.model, plain.gradient, h);
  const got = await gradientOf(fused.model, fused.gradient, h);
  t.is(got.length, want.length);
  const worst = Math.max(...[...want].map((v, i) => Math.abs(v - got[i]!) / Math.max(1, Math.abs(v))));
  t.true(worst < 1e-6, `largest relative difference ${worst}`);
});

test('stays where a product has another reader', (t) => {
  t.is(projections(true, true).rewritten, 0);
});

test('stays where the sum broadcasts an operand', (t) => {
  const g = new Graph();
  const b = new GraphBuilder(g);
  g.inputs.push(valueInfoFromType('a', { dtype: DataType.FLOAT, shape: [4, 3] }), valueInfoFromType('w', { dtype: DataType.FLOAT, shape: [3, 5] }), valueInfoFromType('bias', { dtype: DataType.FLOAT, shape: [5] }));
  const y = b.op('Gemm', ['a', 'w']);
  const out = b.op('Add', [y, 'bias']);
  g.outputs = [valueInfoFromType(out, { dtype: DataType.FLOAT })];
  const shapes = new Map([[y, { dtype: DataType.FLOAT, shape: [4, 5] }], [out, { dtype: DataType.FLOAT, shape: [4, 5] }], ['bias', { dtype: DataType.FLOAT, shape: [5] }], ['w', { dtype: DataType.FLOAT, shape: [3, 5] }]]);
  t.is(accumulateIntoGemm(g, shapes), 0);
  // The same Add with a full-shaped operand is rewritten (the check above is the broadcast, not the pattern).
  g.inputs.push(valueInfoFromType('r', { dtype: DataType.FLOAT, shape: [4, 5] }));
  g.nodes[1]!.inputs[1] = 'r';
  shapes.set('r', { dtype: DataType.FLOAT, shape: [4, 5] });
  t.is(accumulateIntoGemm(g, shapes), 1);
  t.deepEqual(g.nodes.map((n) => n.opType), ['Gemm']);
});

test('stays where the sum reads one product twice', (t) => {
  const g = new Graph();
  const b = new GraphBuilder(g);
  g.inputs.push(valueInfoFromType('a', { dtype: DataType.FLOAT, shape: [4, 3] }), valueInfoFromType('w', { dtype: DataType.FLOAT, shape: [3, 5] }), valueInfoFromType('r', { dtype: DataType.FLOAT, shape: [4, 5] }));
  const y = b.op('Gemm', ['a', 'w']);
  const out = b.op('Sum', ['r', y, y]);
  g.outputs = [valueInfoFromType(out, { dtype: DataType.FLOAT })];
  const full = { dtype: DataType.FLOAT, shape: [4, 5] };
  const shapes = new Map([[y, full], [out, full], ['r', full], ['w', { dtype: DataType.FLOAT, shape: [3, 5] }]]);
  t.is(accumulateIntoGemm(g, shapes), 0);
  t.deepEqual(g.nodes.map((n) => n.opType), ['Gemm', 'Sum']);
});
