/**
 * fuseOneHotSoftmaxGradients: the cross-entropy gradient through LogSoftmax, rewritten as one
 * scatter-add onto exp(y) * -u, gives the same gradient as the rules' zeros / scatter / sum /
 * multiply / subtract (up to the sign of a zero), for the LM and the classification losses;
 * where the scattered tensor has another reader or a row more than one index, nothing changes.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { Graph, GraphBuilder, Model, modelToProto } from '../../../compiler/graph/index.ts';
import { Emitter } from '../../../compiler/graph/emitter.ts';
import { DataType, encodeModel, makeTensor, makeValueInfo } from '../../../compiler/onnx/index.ts';
import { differentiate } from '../../../compiler/autodiff/index.ts';
import { eliminateDeadCode } from '../../../compiler/passes/dce.ts';
import { fuseOneHotSoftmaxGradients } from '../../../compiler/passes/one-hot-softmax-gradient.ts';
import { inferShapes } from '../../../compiler/shapes/infer.ts';
import { valueInfoFromType } from '../../../compiler/shapes/types.ts';
import { classificationLoss, lmLoss } from '../../../compiler/train/losses.ts';
import { rng } from '../autodiff/gradcheck.ts';
import '../../support/ort.ts';

const [B, S, V] = [3, 6, 11];

/** A loss over float32 logits and its gradient; with `fused`, the rewrite applied. */
function lossGraph(kind: 'lm' | 'classification', fused: boolean): { model: Model; gradient: string; rewritten: number } {
  const g = new Graph();
  const logitsShape = kind === 'lm' ? [B, S, V] : [B, V];
  g.inputs.push(valueInfoFromType('logits', { dtype: DataType.FLOAT, shape: logitsShape }));
  g.inputs.push(valueInfoFromType('labels', { dtype: DataType.INT64, shape: logitsShape.slice(0, -1) }));
  const e = new Emitter(g, 17);
  const head = kind === 'lm' ? lmLoss(e, 'logits', 'labels', -100, true) : classificationLoss(e, 'logits', 'labels');
  e.b.op('Identity', [head.loss], undefined, { outputs: ['loss'] });
  g.outputs = [valueInfoFromType('loss', { dtype: DataType.FLOAT })];
  const diff = differentiate(g, { loss: 'loss', wrt: ['logits'], opset: 17 });
  const gradient = diff.gradients.get('logits')!;
  g.outputs.push(valueInfoFromType(gradient, { dtype: DataType.FLOAT }));
  const rewritten = fused ? fuseOneHotSoftmaxGradients(g, 17, diff.emitter.shapes) : 0;
  eliminateDeadCode(g);
  const model = new Model(g);
  model.opsets.set('', 17);
  return { model, gradient, rewritten };
}

async function gradientOf(m: Model, gradient: string, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const proto = modelToProto(m);
  proto.irVersion = 10n;
  const session = await ort.InferenceSession.create(encodeModel(proto));
  return (await session.run(feeds))[gradient]!.data as Float32Array;
}

for (const kind of ['lm', 'classification'] as const) {
  test(`${kind} loss: the same gradient from one scatter-add, with no zeros tensor or sum left`, async (t) => {
    const rand = rng(kind === 'lm' ? 3 : 4);
    const rows = kind === 'lm' ? B * S : B;
    const logits = new ort.Tensor('float32', Float32Array.from({ length: rows * V }, () => 8 * rand() - 4), kind === 'lm' ? [B, S, V] : [B, V]);
    const labels = new ort.Tensor('int64', BigInt64Array.from({ length: rows }, (_, i) => BigInt(i === 4 ? -100 : (i * 7) % V)), kind === 'lm' ? [B, S] : [B]);
    const plain = lossGraph(kind, false);
    const fused = lossGraph(kind, true);
    t.is(fused.rewritten, 1);
    const ops = fused.model.graph.nodes.map((n) => n.opType);
    t.false(ops.includes('ConstantOfShape') && ops.includes('ReduceSum') && ops.includes('Sub'), ops.join(' '));
    const want = await gradientOf(plain.model, plain.gradient, { logits, labels });
    const got = await gradientOf(fused.model, fused.gradient, { logits, labels });
    t.is(got.length, want.length);
    // Equal as numbers (=== treats +0 and -0 alike).
    const differing = [...want].filter((v, i) => v !== got[i]).length;
    t.is(differing, 0, `${differing} of ${want.length} gradient values differ`);
  });
}

test('stays when the scattered tensor has another reader or a row has more than one index', (t) => {
  const build = (perRow: number, extraReader: boolean) => {
    const g = new Graph();
    g.inputs = [makeValueInfo('e', DataType.FLOAT, [B, V]), makeValueInfo('i', DataType.INT64, [B, perRow]), makeValueInfo('u', DataType.FLOAT, [B, perRow])];
    const b = new GraphBuilder(g);
    const zeros = b.op('ConstantOfShape', [b.ints([B, V])], { value: makeTensor('value', DataType.FLOAT, [1], Float32Array.of(0)) });
    const z = b.op('ScatterElements', [zeros, 'i', 'u'], { axis: 1, reduction: 'add' });
    const dx = b.op('Sub', [z, b.op('Mul', ['e', b.op('ReduceSum', [z, b.ints([1])], { keepdims: 1 })])]);
    g.outputs = [makeValueInfo(dx, DataType.FLOAT, [B, V]), ...(extraReader ? [makeValueInfo(z, DataType.FLOAT, [B, V])] : [])];
    const m = new Model(g);
    m.opsets.set('', 17);
    return m;
  };
  const ok = build(1, false);
  t.is(fuseOneHotSoftmaxGradients(ok.graph, 17, inferShapes(ok)), 1, 'the pattern itself is rewritten');
  for (const [perRow, extra] of [[2, false], [1, true]] as const) {
    const m = build(perRow, extra);
    t.is(fuseOneHotSoftmaxGradients(m.graph, 17, inferShapes(m)), 0, `${perRow} per row, Z ${extra ? 'also an output' : 'read once'}`);
  }
});
