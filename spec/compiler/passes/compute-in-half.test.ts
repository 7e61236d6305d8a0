/**
 * `precision fp16` / `bf16` on a small BERT-shaped model: the half graphs are well formed (ORT
 * type-checks the cuda graphs while opening them, every node has a CUDA kernel at half types),
 * and 4 AdamW steps on CPU, where each half op computes in float32 between Casts
 * (round-half-on-cpu.ts), give losses within a stated tolerance of float32 training.
 */
import test from 'ava';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { DataType } from '../../../compiler/onnx/index.ts';
import { validateGraph } from '../../../compiler/graph/validate.ts';
import { inferGraphShapes } from '../../../compiler/shapes/index.ts';
import { checkOpCoverage, formatCoverageProblems } from '../../../compiler/passes/op-coverage.ts';
import { writeModel } from '../../../compiler/onnx/index.ts';
import { buildBert, toHalfExport } from '../../../examples/models/index.ts';

const buildWide = () => buildBert({ layers: 2, dModel: 128, heads: 2, ffn: 512, vocabSize: 50 }).model;
import { compilePrecision, dir, losses, trainCompiled } from '../../support/precision-run.ts';

// Tolerances on the loss (about 0.69 here), per step, ten times the differences measured
// (float16 keeps 11 significant bits, bfloat16 8): 9e-6 and 1e-4.
const TOLERANCE = { fp16: 1e-4, bf16: 1e-3 } as const;

for (const [precision, type] of [['fp16', DataType.FLOAT16], ['bf16', DataType.BFLOAT16]] as const) {
  test(`${precision}: the cuda graphs are well formed, have a CUDA kernel for every node and compute their matrix products in ${precision}`, async (t) => {
    const { compiled } = compilePrecision(`${precision}-cuda`, precision, { target: 'cuda' });
    t.is(compiled.cudaFallback, '');
    for (const [name, m] of Object.entries({ train: compiled.graphs.train, eval: compiled.graphs.eval, infer: compiled.graphs.infer })) {
      t.deepEqual(validateGraph(m.graph), [], name);
      t.is(formatCoverageProblems(checkOpCoverage(m.graph, m.opsets)), '', name);
      const types = inferGraphShapes(m.graph, new Map(m.opsets));
      const products = m.graph.nodes.filter((n) => n.opType === 'MatMul' || n.opType === 'Gemm');
      t.true(products.length > 0 && products.every((n) => types.get(n.outputs[0]!)?.dtype === type), `${name}: every MatMul / Gemm in ${precision}`);
      // Inputs and outputs stay float32 (master weights, optimizer state, loss, logits).
      t.false([...m.graph.inputs, ...m.graph.outputs].some((v) => v.type?.value.case === 'tensorType' && v.type.value.value.elemType === type), `${name}: no ${precision} input or output`);
      // ORT resolves the graph's types when opening it, before it assigns kernels: a node whose
      // inputs disagree fails there. The CPU provider then lacks bfloat16 kernels (and casts
      // float16 ones itself): that refusal comes after the types were found consistent.
      try {
        await (await ort.InferenceSession.create(join(dir, `${precision}-cuda`, `${name}.onnx`))).release();
      } catch (e) {
        t.regex(String((e as Error).message), /^Could not find an implementation for \w+\(\d+\) node/, name);
      }
    }
    const train = compiled.graphs.train;
    t.is(train.graph.outputNames().includes('overflow'), precision === 'fp16', 'overflow detection only with loss scaling');
  });
}

test('fp16 and bf16 train on CPU with losses within tolerance of fp32 over 4 AdamW steps, and differ from it', async (t) => {
  compilePrecision('fp32', 'fp32');
  const fp32 = losses(await trainCompiled('fp32'));
  t.is(fp32.length, 4);
  for (const precision of ['fp16', 'bf16'] as const) {
    compilePrecision(precision, precision);
    const run = await trainCompiled(precision);
    t.is(run.result.status, 'done');
    const half = losses(run);
    t.is(half.length, 4);
    for (let i = 0; i < 4; i++) t.true(Math.abs(half[i]! - fp32[i]!) <= TOLERANCE[precision], `${precision} step ${i + 1}: ${half[i]} vs fp32 ${fp32[i]}`);
    // The half graph really rounds: its losses are not float32's.
    t.notDeepEqual(half, fp32);
    t.log(`${precision}: ${half.map((l) => l.toFixed(7)).join(' ')}; fp32 ${fp32.map((l) => l.toFixed(7)).join(' ')}`);
  }
});

test('fp16 on a base stored in float16, target cuda: its large frozen weights are read as stored, without a Cast', (t) => {
  // compute-in-float32 keeps half weights above 64 KiB: the FFN weights of d 128 x 512 (128 KiB).
  writeModel(toHalfExport(buildWide()), join(dir, 'bert-half.onnx'));
  const { compiled } = compilePrecision('half-base-fp16', 'fp16', { target: 'cuda', model: 'bert-half.onnx' });
  const g = compiled.graphs.train.graph;
  const stored = [...g.initializers.values()].filter((w) => w.dataType === DataType.FLOAT16);
  t.true(stored.length >= 4, `${stored.length} float16 weights`);
  for (const w of stored) {
    const readers = g.nodes.filter((n) => n.inputs.includes(w.name));
    t.true(readers.length > 0 && readers.every((n) => n.opType !== 'Cast'), `${w.name} read by ${readers.map((n) => n.opType).join(', ')}`);
  }
});
