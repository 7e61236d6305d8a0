/**
 * Training-step benchmark: full fine-tuning vs a frozen base with low-rank residual adapters
 * (LoR2C-style, one after every LayerNormalization) for the BERT-like and GPT-2-like builders.
 * Prints per graph: compile time, node counts (forward / backward / total), MatMul + Gemm +
 * Conv FLOPs per step computed from inferred shapes, and the measured ORT CPU step time.
 *
 *   npx tsx bench/train-step.ts [--d 128] [--layers 4] [--batch 8] [--seq 64] [--steps 5]
 */
import * as ort from 'onnxruntime-node';
import { parseArgs } from 'node:util';
import { buildBert, buildGpt2 } from '../examples/models/index.ts';
import { GraphBuilder, modelFromProto, modelToProto, attrInt, type Model } from '../compiler/graph/index.ts';
import { DataType, encodeModel, makeTensor, tensorArray, type TensorProto } from '../compiler/onnx/index.ts';
import { inferShapes } from '../compiler/shapes/infer.ts';
import { evaluateDim, type Dim } from '../compiler/shapes/dim.ts';
import { buildTrainingGraphs, type TrainingGraphs } from '../compiler/train/index.ts';

const { values } = parseArgs({ options: { d: { type: 'string', default: '128' }, layers: { type: 'string', default: '4' }, batch: { type: 'string', default: '8' }, seq: { type: 'string', default: '64' }, steps: { type: 'string', default: '5' }, rank: { type: 'string', default: '8' } } });
const D = Number(values.d), L = Number(values.layers), B = Number(values.batch), S = Number(values.seq), STEPS = Number(values.steps), R = Number(values.rank);
const SIZES = { vocabSize: 1000, dModel: D, layers: L, heads: 4, ffn: 4 * D, maxPositions: Math.max(128, S) };

/** h' = h + h A B after every LayerNormalization (A [d, r] small random, B [r, d] zero). */
function addAdapters(model: Model): string[] {
  const g = model.graph;
  const b = new GraphBuilder(g, 'adapter/');
  const names: string[] = [];
  const norms = g.nodes.filter((n) => n.opType === 'LayerNormalization');
  norms.forEach((norm, i) => {
    const h = norm.outputs[0]!;
    const a = `adapter.${i}.A`, bb = `adapter.${i}.B`;
    g.initializers.set(a, makeTensor(a, DataType.FLOAT, [D, R], Float32Array.from({ length: D * R }, (_, k) => Math.sin(k + i) / Math.sqrt(D))));
    g.initializers.set(bb, makeTensor(bb, DataType.FLOAT, [R, D], new Float32Array(R * D)));
    const readers = g.nodes.filter((n) => n.inputs.includes(h));
    const out = b.op('Add', [h, b.op('MatMul', [b.op('MatMul', [h, a]), bb])]);
    for (const r of readers) r.inputs = r.inputs.map((x) => (x === h ? out : x));
    g.outputs = g.outputs.map((o) => o); // outputs unaffected: adapters sit inside
    names.push(a, bb);
  });
  return names;
}

function matmulFlops(m: Model, bindings: Map<string, number>): number {
  const shapes = inferShapes(m);
  const dims = (v: string) => shapes.get(v)?.shape?.map((d: Dim) => evaluateDim(d, bindings) ?? NaN);
  let flops = 0;
  for (const n of m.graph.nodes) {
    if (n.opType === 'MatMul') {
      const a = dims(n.inputs[0]!), y = dims(n.outputs[0]!);
      if (!a || !y) throw new Error(`no shape for MatMul ${n.name}`);
      flops += 2 * y.reduce((p, d) => p * d, 1) * a.at(-1)!;
    } else if (n.opType === 'Gemm') {
      const a = dims(n.inputs[0]!), y = dims(n.outputs[0]!);
      if (!a || !y) throw new Error(`no shape for Gemm ${n.name}`);
      const k = attrInt(n, 'transA', 0) ? a[0]! : a[1]!;
      flops += 2 * y[0]! * y[1]! * k;
    } else if (n.opType === 'Conv' || n.opType === 'ConvTranspose') {
      const w = dims(n.inputs[1]!), y = dims(n.outputs[0]!);
      if (!w || !y) throw new Error(`no shape for ${n.opType} ${n.name}`);
      const perOutput = n.opType === 'Conv' ? w.slice(1).reduce((p, d) => p * d, 1) : w[0]! * w.slice(2).reduce((p, d) => p * d, 1) / attrInt(n, 'group', 1);
      flops += 2 * y.reduce((p, d) => p * d, 1) * perOutput;
    }
  }
  return flops;
}

async function stepTime(g: TrainingGraphs, initial: Map<string, TensorProto>, arch: string): Promise<number> {
  const session = await ort.InferenceSession.create(encodeModel(modelToProto(g.train)));
  const feeds: Record<string, ort.Tensor> = {};
  for (const p of g.parameters) {
    const data = (tensorArray(initial.get(p.name)!) as Float32Array).slice();
    feeds[p.name] = new ort.Tensor('float32', data, p.dims);
    for (const s of p.state) feeds[s.input] = new ort.Tensor('float32', new Float32Array(data.length), p.dims);
  }
  const ids = BigInt64Array.from({ length: B * S }, (_, i) => BigInt((i * 31 + 7) % 1000));
  feeds.input_ids = new ort.Tensor('int64', ids, [B, S]);
  if (g.batchInputs.includes('attention_mask')) feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(B * S).fill(1n), [B, S]);
  feeds[g.labels] = arch === 'bert' ? new ort.Tensor('int64', new BigInt64Array(B), [B]) : new ort.Tensor('int64', ids, [B, S]);
  feeds[g.step] = new ort.Tensor('int64', BigInt64Array.of(0n), []);
  await session.run(feeds); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) await session.run(feeds);
  return (performance.now() - t0) / STEPS;
}

console.log(`d=${D} layers=${L} batch=${B} seq=${S} adapter rank=${R}; ORT CPU, ${STEPS} timed steps`);
console.log('model  training          params     compile ms  fwd nodes  bwd nodes  train nodes  train GFLOP/step  fwd-only GFLOP  ms/step');
for (const arch of ['bert', 'gpt2'] as const) {
  for (const mode of ['full', 'frozen+adapters'] as const) {
    const built = arch === 'bert' ? buildBert(SIZES) : buildGpt2(SIZES);
    const model = modelFromProto(built.model);
    const trainable = mode === 'full' ? [...model.graph.initializers].filter(([, t]) => t.dataType === DataType.FLOAT).map(([k]) => k) : addAdapters(model);
    const graphs = buildTrainingGraphs(model, { trainable, loss: arch === 'bert' ? { kind: 'classification', logits: 'logits' } : { kind: 'lm', logits: 'logits' }, optimizer: { kind: 'adamw', lr: 1e-4 } });
    const bindings = new Map([['batch', B], ['seq', S]]);
    const flops = matmulFlops(graphs.train, bindings);
    const fwd = matmulFlops(graphs.infer, bindings);
    const params = graphs.parameters.reduce((s, p) => s + p.dims.reduce((a, d) => a * d, 1), 0);
    const ms = await stepTime(graphs, model.graph.initializers, arch);
    const st = graphs.stats;
    console.log(`${arch.padEnd(6)} ${mode.padEnd(17)} ${String(params).padStart(9)} ${st.compileMs.toFixed(0).padStart(11)} ${String(st.forwardNodes).padStart(10)} ${String(st.backwardNodes).padStart(10)} ${String(st.trainNodes).padStart(12)} ${(flops / 1e9).toFixed(3).padStart(17)} ${(fwd / 1e9).toFixed(3).padStart(15)} ${ms.toFixed(1).padStart(8)}`);
  }
}
