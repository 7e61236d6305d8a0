/**
 * End to end: BERT-like (classification) and GPT-2-like (causal LM) models from
 * examples/models, trained for a few dozen AdamW steps in onnxruntime, (a) fully fine-tuned
 * and (b) with the base frozen and extra low-rank residual tensors (with seeded dropout)
 * trained. The loss must fall; a second run with the same seed must be bit-identical.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBert, buildGpt2 } from '../../../examples/models/index.ts';
import { GraphBuilder, modelFromProto, type Model } from '../../../compiler/graph/index.ts';
import { DataType, makeTensor, type TensorProto } from '../../../compiler/onnx/index.ts';
import { inferShapes } from '../../../compiler/shapes/infer.ts';
import { buildTrainingGraphs, type TrainingSpec } from '../../../compiler/train/index.ts';
import { writeGraphs } from '../../../compiler/emit/artifacts.ts';
import { rng } from '../autodiff/gradcheck.ts';
import { Stepper, scalar, int64, sessionOf } from './stepper.ts';

const SIZES = { vocabSize: 40, dModel: 16, layers: 2, heads: 2, ffn: 32, maxPositions: 16 };
const B = 4;
const S = 8;
const STEPS = 30;

/**
 * Adds h' = h + Dropout(h) A B (A [d, r] random, B [r, d] zero) on the value feeding the
 * model's final projection, as a frozen-base test of extra trainable tensors.
 */
function addResidualAdapter(model: Model, seed: number): string[] {
  const g = model.graph;
  const shapes = inferShapes(model);
  // The projection nearest the logits: its activation input is the hidden state.
  const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  let head = producer.get('logits')!;
  while (head.opType !== 'MatMul' && head.opType !== 'Gemm') head = head.inputs.map((i) => producer.get(i)).find(Boolean)!;
  const hidden = head.inputs[0]!;
  const d = shapes.get(hidden)!.shape!.at(-1) as number;
  const r = 4;
  const rand = rng(seed);
  const b = new GraphBuilder(g, 'adapter/');
  g.initializers.set('adapter.A', makeTensor('adapter.A', DataType.FLOAT, [d, r], Float32Array.from({ length: d * r }, () => (rand() * 2 - 1) / Math.sqrt(d))));
  g.initializers.set('adapter.B', makeTensor('adapter.B', DataType.FLOAT, [r, d], new Float32Array(r * d)));
  const dropped = b.op('Dropout', [hidden, b.scalar(0.1)]);
  const delta = b.op('MatMul', [b.op('MatMul', [dropped, 'adapter.A']), 'adapter.B']);
  const adapted = b.op('Add', [hidden, delta]);
  head.inputs[0] = adapted;
  return ['adapter.A', 'adapter.B'];
}

interface Run { losses: number[]; params: Float32Array[] }

async function train(arch: 'bert' | 'gpt2', mode: 'full' | 'frozen'): Promise<{ run: Run; spec: TrainingSpec; model: Model }> {
  const built = arch === 'bert' ? buildBert({ ...SIZES, seed: 3 }) : buildGpt2({ ...SIZES, seed: 3 });
  const model = modelFromProto(built.model);
  const trainable = mode === 'full'
    ? [...model.graph.initializers].filter(([, t]) => t.dataType === DataType.FLOAT).map(([k]) => k)
    : addResidualAdapter(model, 11);
  const spec: TrainingSpec = {
    trainable,
    loss: arch === 'bert' ? { kind: 'classification', logits: 'logits' } : { kind: 'lm', logits: 'logits' },
    optimizer: { kind: 'adamw', lr: mode === 'full' ? 3e-3 : 3e-2 },
    schedule: { kind: 'linear', warmupSteps: 3, totalSteps: 60 },
    maxGradNorm: 1,
    groups: [{ params: (n) => n.endsWith('bias') || n.includes('LayerNorm') || n.includes('ln_'), weightDecay: 0 }],
    dropoutSeed: 5,
  };
  const graphs = buildTrainingGraphs(model, spec);
  const stepper = await Stepper.create(graphs, model.graph.initializers as Map<string, TensorProto>);
  const rand = rng(99);
  const losses: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    // A small fixed pool of batches: learnable in a few dozen steps.
    const k = i % 2;
    const ids = Array.from({ length: B * S }, (_, j) => (j * 7 + k * 13 + 3) % SIZES.vocabSize);
    const batch: Record<string, ort.Tensor> = { input_ids: int64(ids, [B, S]) };
    if (graphs.batchInputs.includes('attention_mask')) batch.attention_mask = int64(new Array(B * S).fill(1), [B, S]);
    batch[graphs.labels] = arch === 'bert' ? int64([0, 1, 1, 0].map((v) => v ^ k), [B]) : int64(ids, [B, S]);
    void rand;
    losses.push(scalar((await stepper.run(batch)).loss));
  }
  const params = graphs.parameters.map((p) => stepper.values.get(p.name)!.data as Float32Array);
  return { run: { losses, params }, spec, model };
}

for (const arch of ['bert', 'gpt2'] as const) {
  for (const mode of ['full', 'frozen'] as const) {
    test(`${arch}: ${mode === 'full' ? 'full fine-tuning' : 'frozen base + extra tensors'} lowers the loss and repeats bit for bit`, async (t) => {
      const a = await train(arch, mode);
      const first = (a.run.losses[0]! + a.run.losses[1]!) / 2;
      const last = (a.run.losses.at(-1)! + a.run.losses.at(-2)!) / 2;
      t.log(`loss ${first.toFixed(4)} -> ${last.toFixed(4)} over ${STEPS} steps`);
      // A rank-4 adapter on one hidden state learns slower than the whole model.
      t.true(last < first * (mode === 'full' ? 0.8 : 0.96), `loss went from ${first} to ${last}`);
      const b = await train(arch, mode);
      t.deepEqual(b.run.losses, a.run.losses);
      b.run.params.forEach((p, i) => t.true(Buffer.from(p.buffer, p.byteOffset, p.byteLength).equals(Buffer.from(a.run.params[i]!.buffer, a.run.params[i]!.byteOffset, a.run.params[i]!.byteLength))));
    });
  }
}

test('frozen weights are never differentiated, and are stored once for the three graphs', async (t) => {
  const model = modelFromProto(buildGpt2({ ...SIZES, seed: 3 }).model);
  const trainable = addResidualAdapter(model, 11);
  const graphs = buildTrainingGraphs(model, { trainable, loss: { kind: 'lm', logits: 'logits' }, optimizer: { kind: 'adamw', lr: 1e-3 } });
  // No gradient flows into a frozen initializer: no backward node reads-and-scatters into one.
  const frozen = [...graphs.train.graph.initializers.keys()].filter((k) => model.graph.initializers.has(k));
  t.true(frozen.length > 10);
  t.false(graphs.train.graph.nodes.some((n) => n.opType === 'ScatterND'), 'no embedding gradient with a frozen embedding');
  const dir = mkdtempSync(join(tmpdir(), 'lor2c-train-'));
  try {
    writeGraphs(dir, graphs, 'weights.bin', 1024);
    const paths = { data: join(dir, 'weights.bin'), train: join(dir, 'train.onnx'), eval: join(dir, 'eval.onnx'), infer: join(dir, 'infer.onnx') };
    // Each large frozen weight once, page-aligned (4 KiB) as ExternalDataFile places them.
    const large = frozen.map((k) => model.graph.initializers.get(k)!.rawData.length).filter((n) => n >= 1024);
    const once = large.reduce((s, n) => s + Math.ceil(n / 4096) * 4096, 0);
    const dataSize = statSync(paths.data).size;
    t.log(`external data ${dataSize} bytes for ${large.length} large frozen weights (${once} bytes when each is stored once)`);
    t.true(large.length > 3);
    t.true(dataSize <= once, 'each frozen weight is written once');
    for (const p of [paths.train, paths.eval, paths.infer]) await t.notThrowsAsync(ort.InferenceSession.create(p));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  void sessionOf;
});
