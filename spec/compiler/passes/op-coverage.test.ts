/** Emitted graphs use only ops both ORT providers (CPU and CUDA) implement. */
import test from 'ava';
import { buildBert, buildGpt2, buildLlama } from '../../../examples/models/index.ts';
import { Graph, modelFromProto } from '../../../compiler/graph/index.ts';
import { DataType } from '../../../compiler/onnx/index.ts';
import { differentiate } from '../../../compiler/autodiff/index.ts';
import { buildTrainingGraphs } from '../../../compiler/train/index.ts';
import { checkOpCoverage, formatCoverageProblems } from '../../../compiler/passes/op-coverage.ts';
import { buildForward } from '../autodiff/gradcheck.ts';
import { OP_CASES } from '../autodiff/op-cases.ts';

const SIZES = { vocabSize: 40, dModel: 16, layers: 1, heads: 2, ffn: 32, maxPositions: 16 };

const MODELS = [
  ['bert', () => buildBert(SIZES).model, 'classification'],
  ['bert with opset-20 Gelu', () => buildBert({ ...SIZES, geluForm: 'op', layerNormForm: 'decomposed' }).model, 'classification'],
  ['gpt2', () => buildGpt2(SIZES).model, 'lm'],
  ['gpt2 gemm projections', () => buildGpt2({ ...SIZES, projection: 'gemm', causalMask: 'constant' }).model, 'lm'],
  ['llama', () => buildLlama(SIZES).model, 'lm'],
] as const;

for (const [name, make, loss] of MODELS) {
  test(`full fine-tuning graphs of ${name} use only CPU+CUDA ops`, (t) => {
    const model = modelFromProto(make());
    const trainable = [...model.graph.initializers].filter(([, v]) => v.dataType === DataType.FLOAT).map(([k]) => k);
    const g = buildTrainingGraphs(model, { trainable, loss: { kind: loss, logits: 'logits' }, optimizer: { kind: 'adamw', lr: 1e-3 }, maxGradNorm: 1, accumulationSteps: 2, schedule: { kind: 'cosine', warmupSteps: 2, totalSteps: 10 } });
    for (const m of [g.train, g.eval, g.infer]) t.deepEqual(formatCoverageProblems(checkOpCoverage(m.graph)), '');
  });
}

test('every gradient rule emits only CPU+CUDA ops (float32 graphs, opset >= 13)', (t) => {
  for (const c of OP_CASES) {
    if ((c.opset ?? 18) < 13) continue;
    const built = buildForward(c, 'float32', 7, true);
    const before = new Set(built.graph.nodes);
    differentiate(built.graph, { loss: 'loss', wrt: built.wrt, opset: c.opset ?? 18 });
    const backward = new Graph();
    backward.nodes = built.graph.nodes.filter((n) => !before.has(n));
    t.is(formatCoverageProblems(checkOpCoverage(backward)), '', c.name);
  }
});

test('ops outside the portable set are reported with their nodes', (t) => {
  const g = new Graph();
  g.nodes.push({ name: 'u', opType: 'Unique', domain: '', inputs: ['x'], outputs: ['y'], attributes: [] });
  g.nodes.push({ name: 'c', opType: 'CastLike', domain: '', inputs: ['y', 'x'], outputs: ['z'], attributes: [] });
  g.nodes.push({ name: 'm', opType: 'MatMul', domain: '', inputs: ['z', 'z'], outputs: ['w'], attributes: [] });
  t.deepEqual(checkOpCoverage(g).map((p) => [p.opType, p.nodes]), [['Unique', ['u']], ['CastLike', ['c']]]);
});
