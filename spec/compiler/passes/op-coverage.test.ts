/** Emitted graphs have a CUDA kernel for every node (op, opset and element types), from ORT's registered-kernel table. */
import test from 'ava';
import { buildBert, buildGpt2, buildLlama } from '../../../examples/models/index.ts';
import { Graph, modelFromProto } from '../../../compiler/graph/index.ts';
import { DataType } from '../../../compiler/onnx/index.ts';
import { differentiate } from '../../../compiler/autodiff/index.ts';
import { buildTrainingGraphs } from '../../../compiler/train/index.ts';
import { checkOpCoverage, cudaKernelTable, formatCoverageProblems } from '../../../compiler/passes/op-coverage.ts';
import { lookupKernel } from '../../../compiler/passes/kernel-table.ts';
import { inferGraphShapes } from '../../../compiler/shapes/index.ts';
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
  test(`full fine-tuning graphs of ${name} have a CUDA kernel for every node`, (t) => {
    const model = modelFromProto(make());
    const trainable = [...model.graph.initializers].filter(([, v]) => v.dataType === DataType.FLOAT).map(([k]) => k);
    const g = buildTrainingGraphs(model, { trainable, loss: { kind: loss, logits: 'logits' }, optimizer: { kind: 'adamw', lr: 1e-3 }, maxGradNorm: 1, accumulationSteps: 2, schedule: { kind: 'cosine', warmupSteps: 2, totalSteps: 10 } });
    for (const m of [g.train, g.eval, g.infer]) t.is(formatCoverageProblems(checkOpCoverage(m.graph, m.opsets)), '');
  });
  // precision fp16 (with loss scaling) and bf16: the half graphs, as `target cuda` compiles them.
  for (const [precision, type] of [['fp16', DataType.FLOAT16], ['bf16', DataType.BFLOAT16]] as const) {
    test(`${precision} full fine-tuning graphs of ${name} have a CUDA kernel for every node, and compute in ${precision}`, (t) => {
      const model = modelFromProto(make());
      const trainable = [...model.graph.initializers].filter(([, v]) => v.dataType === DataType.FLOAT).map(([k]) => k);
      const lossScale = type === DataType.FLOAT16 ? { initial: 65536, growthInterval: 2000 } : undefined;
      const g = buildTrainingGraphs(model, { trainable, loss: { kind: loss, logits: 'logits' }, optimizer: { kind: 'adamw', lr: 1e-3 }, maxGradNorm: 1, accumulationSteps: 2, dropoutSeed: 1, precision: { type, lossScale } });
      for (const m of [g.train, g.eval, g.infer]) t.is(formatCoverageProblems(checkOpCoverage(m.graph, m.opsets)), '');
      const types = inferGraphShapes(g.train.graph, new Map(g.train.opsets));
      const matmuls = g.train.graph.nodes.filter((n) => n.opType === 'MatMul' || n.opType === 'Gemm');
      t.true(matmuls.length > 0 && matmuls.every((n) => types.get(n.outputs[0]!)?.dtype === type), 'every matrix product computes in half');
      for (const op of ['Softmax', 'LayerNormalization', 'LogSoftmax']) {
        for (const n of g.train.graph.nodes.filter((x) => x.opType === op)) t.is(types.get(n.outputs[0]!)?.dtype, DataType.FLOAT, `${op} in float32`);
      }
    });
  }
}

test('every gradient rule emits only nodes with CUDA kernels (float32 graphs, opset >= 13)', (t) => {
  for (const c of OP_CASES) {
    if ((c.opset ?? 18) < 13) continue;
    const built = buildForward(c, 'float32', 7, true);
    const before = new Set(built.graph.nodes.map((n) => n.name || n.outputs[0]));
    const opsets = new Map([['', c.opset ?? 18], ['com.microsoft', 1]]);
    differentiate(built.graph, { loss: 'loss', wrt: built.wrt, opset: c.opset ?? 18 });
    // Checked in the whole graph, so the backward's inputs have the forward's types.
    const backward = checkOpCoverage(built.graph, opsets).map((p) => ({ ...p, nodes: p.nodes.filter((n) => !before.has(n)) })).filter((p) => p.nodes.length);
    t.is(formatCoverageProblems(backward), '', c.name);
  }
});

function graphOf(nodes: { op: string; domain?: string; inputs: [string, number][]; output: [string, number] }[]): Graph {
  const g = new Graph();
  const seen = new Set<string>();
  for (const n of nodes) {
    for (const [name, dtype] of n.inputs) {
      if (seen.has(name)) continue;
      seen.add(name);
      g.inputs.push({ name, type: { value: { case: 'tensorType', value: { elemType: dtype, shape: { dim: [] } } } } } as never);
    }
    seen.add(n.output[0]);
    g.nodes.push({ name: `${n.op}_${n.output[0]}`, opType: n.op, domain: n.domain ?? '', inputs: n.inputs.map(([x]) => x), outputs: [n.output[0]], attributes: [] });
    g.valueInfo.set(n.output[0], { name: n.output[0], type: { value: { case: 'tensorType', value: { elemType: n.output[1], shape: { dim: [] } } } } } as never);
  }
  return g;
}

test('a node whose op, opset or input type CUDA does not register is reported with its node, covered ones are not', (t) => {
  const g = graphOf([
    { op: 'MatMul', inputs: [['a', DataType.FLOAT], ['b', DataType.FLOAT]], output: ['mm', DataType.FLOAT] },
    { op: 'Unique', inputs: [['mm', DataType.FLOAT]], output: ['u', DataType.FLOAT] },
    // OneHot's values (T3) are float, float16 or int64 on CUDA: a double one has no kernel.
    { op: 'OneHot', inputs: [['idx', DataType.INT64], ['depth', DataType.INT64], ['vals', DataType.DOUBLE]], output: ['oh', DataType.DOUBLE] },
    { op: 'OneHot', inputs: [['idx', DataType.INT64], ['depth', DataType.INT64], ['fvals', DataType.FLOAT]], output: ['ohf', DataType.FLOAT] },
    // MatMul has no int64 kernel on CUDA (it has on CPU).
    { op: 'MatMul', inputs: [['i', DataType.INT64], ['j', DataType.INT64]], output: ['mi', DataType.INT64] },
    { op: 'Gelu', domain: 'com.microsoft', inputs: [['mm', DataType.FLOAT]], output: ['ge', DataType.FLOAT] },
  ]);
  const problems = checkOpCoverage(g, new Map([['', 18], ['com.microsoft', 1]]));
  t.deepEqual(problems.map((p) => [p.opType, p.nodes]), [['Unique', ['Unique_u']], ['OneHot', ['OneHot_oh']], ['MatMul', ['MatMul_mi']]]);
  t.regex(problems[1]!.why, /input 2 is double; CUDA registers T3 = float, float16, int64 at 11\+/);
  t.regex(formatCoverageProblems(problems), /Unique \(1 node, e\.g\. 'Unique_u': no CUDA kernel\)/);
});

test('an opset below the first registered CUDA kernel is reported (ConstantOfShape is registered from 9)', (t) => {
  const g = graphOf([{ op: 'ConstantOfShape', inputs: [['s', DataType.INT64]], output: ['z', DataType.FLOAT] }]);
  t.regex(formatCoverageProblems(checkOpCoverage(g, new Map([['', 8]]))), /no CUDA kernel at ai\.onnx opset 8 \(registered: 9\+\)/);
  t.is(formatCoverageProblems(checkOpCoverage(g, new Map([['', 9]]))), '');
});

test('the table reads ranges, type groups and signature alternatives', (t) => {
  const table = cudaKernelTable();
  // Add: 14+ all numbers incl. int8; 13 without int8.
  t.true(lookupKernel(table, '', 'Add', 14, ['int8', 'int8'], ['int8']).ok);
  t.like(lookupKernel(table, '', 'Add', 13, ['int8', 'int8'], ['int8']), { ok: false, reason: 'type', constraint: 'T', range: '13' });
  // Identity's input is V from 14 on and T before: both are found.
  t.true(lookupKernel(table, '', 'Identity', 13, ['float'], ['float']).ok);
  t.true(lookupKernel(table, '', 'Identity', 21, ['float'], ['float']).ok);
  // Cast's output type is checked too (string is not a CUDA Cast target).
  t.like(lookupKernel(table, '', 'Cast', 21, ['float'], ['string']), { ok: false, slot: 'output', index: 0 });
  // Unknown types are not checked.
  t.true(lookupKernel(table, '', 'MatMul', 18, [undefined, undefined], [undefined]).ok);
});
