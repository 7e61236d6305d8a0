/**
 * The token-level loss as masked LM uses it (no shift, labels -100 where nothing is predicted):
 * its value is the mean cross-entropy over the labelled positions only, and its gradient, from
 * autodiff, is (softmax - onehot) / count at those positions and exactly 0 elsewhere, checked
 * against that closed form and against central finite differences, in float64. With the causal
 * shift, position t is scored against label t + 1 and the last position against nothing, also
 * when the labels are a model's int32 input_ids.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { Graph, Model, modelToProto } from '../../../compiler/graph/index.ts';
import { Emitter } from '../../../compiler/graph/emitter.ts';
import { DataType, encodeModel } from '../../../compiler/onnx/index.ts';
import { differentiate } from '../../../compiler/autodiff/index.ts';
import { valueInfoFromType } from '../../../compiler/shapes/types.ts';
import { lmLoss } from '../../../compiler/train/losses.ts';
import { rng } from '../autodiff/gradcheck.ts';

const [B, S, V] = [2, 5, 7];
const IGNORE = -100;
// Row 0 predicts positions 1 and 3, row 1 only position 4: three targets of ten positions.
const LABELS = [IGNORE, 3, IGNORE, 6, IGNORE, IGNORE, IGNORE, IGNORE, IGNORE, 0];

async function lossGraph(withGradient: boolean, opts: { shift?: boolean; labels?: DataType } = {}) {
  const graph = new Graph();
  graph.inputs.push(valueInfoFromType('logits', { dtype: DataType.DOUBLE, shape: [B, S, V] }));
  graph.inputs.push(valueInfoFromType('labels', { dtype: opts.labels ?? DataType.INT64, shape: [B, S] }));
  const e = new Emitter(graph, 17);
  const head = lmLoss(e, 'logits', 'labels', IGNORE, opts.shift ?? false);
  e.b.op('Identity', [head.loss], undefined, { outputs: ['loss'] });
  graph.outputs = [valueInfoFromType('loss', { dtype: DataType.DOUBLE })];
  let gradient: string | undefined;
  if (withGradient) {
    gradient = differentiate(graph, { loss: 'loss', wrt: ['logits'], opset: 17 }).gradients.get('logits')!;
    graph.outputs.push(valueInfoFromType(gradient, { dtype: DataType.DOUBLE }));
  }
  const model = new Model(graph);
  model.opsets.set('', 17);
  const proto = modelToProto(model);
  proto.irVersion = 10n;
  const session = await ort.InferenceSession.create(encodeModel(proto), { graphOptimizationLevel: 'disabled' });
  return { session, gradient };
}

const feeds = (logits: number[]) => ({
  logits: new ort.Tensor('float64', Float64Array.from(logits), [B, S, V]),
  labels: new ort.Tensor('int64', BigInt64Array.from(LABELS.map(BigInt)), [B, S]),
});

test('lm loss without shift: mean cross-entropy over labelled positions, gradient 0 where the label is the ignore index', async (t) => {
  const rand = rng(5);
  const logits = Array.from({ length: B * S * V }, () => 4 * rand() - 2);
  // Closed form, in float64: softmax per position; the loss and dLoss/dlogits.
  const targets = LABELS.flatMap((l, p) => (l === IGNORE ? [] : [p]));
  let expectedLoss = 0;
  const expectedGrad = new Array<number>(B * S * V).fill(0);
  for (const p of targets) {
    const row = logits.slice(p * V, (p + 1) * V);
    const max = Math.max(...row);
    const z = row.reduce((s, x) => s + Math.exp(x - max), 0);
    expectedLoss += -(row[LABELS[p]!]! - max - Math.log(z)) / targets.length;
    row.forEach((x, k) => (expectedGrad[p * V + k] = (Math.exp(x - max) / z - (k === LABELS[p] ? 1 : 0)) / targets.length));
  }

  const { session, gradient } = await lossGraph(true);
  const out = await session.run(feeds(logits));
  const loss = Number((out.loss!.data as Float64Array)[0]);
  const grad = Array.from(out[gradient!]!.data as Float64Array);
  t.true(Math.abs(loss - expectedLoss) < 1e-12, `loss ${loss}, expected ${expectedLoss}`);
  t.true(grad.every((g, i) => Math.abs(g - expectedGrad[i]!) < 1e-12), 'autodiff matches the closed form');
  const ignored = grad.filter((_, i) => LABELS[Math.floor(i / V)] === IGNORE);
  t.true(ignored.length === (B * S - targets.length) * V && ignored.every((g) => g === 0), 'no gradient at ignored positions');

  // Central differences of the loss graph itself, at every element of one labelled and one ignored position.
  const { session: forward } = await lossGraph(false);
  const h = 1e-6;
  for (const p of [3, 2]) {
    for (let k = 0; k < V; k++) {
      const at = async (delta: number) => {
        const moved = logits.slice();
        moved[p * V + k]! += delta;
        return Number(((await forward.run(feeds(moved))).loss!.data as Float64Array)[0]);
      };
      const numeric = ((await at(h)) - (await at(-h))) / (2 * h);
      t.true(Math.abs(numeric - grad[p * V + k]!) < 1e-7, `position ${p}, logit ${k}: numeric ${numeric}, autodiff ${grad[p * V + k]}`);
    }
  }
});

test('lm loss with the causal shift: position t against label t + 1, the last position against nothing; int32 labels too', async (t) => {
  const rand = rng(9);
  const logits = Array.from({ length: B * S * V }, () => 4 * rand() - 2);
  // Every label real except one; the shift pairs position p with label p + 1 in the same row.
  const labels = Array.from({ length: B * S }, (_, p) => (p === 7 ? IGNORE : (p * 3) % V));
  const pairs: [number, number][] = [];
  for (let p = 0; p < B * S; p++) if (p % S !== S - 1 && labels[p + 1] !== IGNORE) pairs.push([p, labels[p + 1]!]);
  let expected = 0;
  for (const [p, label] of pairs) {
    const row = logits.slice(p * V, (p + 1) * V);
    const max = Math.max(...row);
    expected += -(row[label]! - max - Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0))) / pairs.length;
  }
  for (const [dtype, tensor] of [
    [DataType.INT64, new ort.Tensor('int64', BigInt64Array.from(labels.map(BigInt)), [B, S])],
    [DataType.INT32, new ort.Tensor('int32', Int32Array.from(labels), [B, S])],
  ] as const) {
    const { session, gradient } = await lossGraph(true, { shift: true, labels: dtype });
    const out = await session.run({ logits: new ort.Tensor('float64', Float64Array.from(logits), [B, S, V]), labels: tensor });
    const loss = Number((out.loss!.data as Float64Array)[0]);
    t.true(Math.abs(loss - expected) < 1e-12, `${tensor.type}: loss ${loss}, expected ${expected}`);
    const grad = Array.from(out[gradient!]!.data as Float64Array);
    const last = grad.filter((_, i) => Math.floor(i / V) % S === S - 1);
    t.true(last.every((g) => g === 0), 'the last position of each row has no gradient');
  }
});
