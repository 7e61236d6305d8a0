/**
 * Block discovery on torch exports whose structure is hard to find (spec/fixtures/torch/structure,
 * made by scripts/export-structure-models.py: a hand-written GPT with the bias added after the
 * residual Add, GPT-NeoX and Falcon with parallel residuals and per-head fused QKV, T5 and BART
 * encoder-decoders, at opsets 11, 14 and 17 with dynamic shapes and once with fixed shapes; and two
 * front ends, a ViT image classifier (Conv2d patches, CLS token) at opset 13 and a Whisper audio
 * encoder (two Conv1d over log-mel frames) with a classification head at opset 17),
 * checked against what torch itself recorded:
 * - every stack's h_0..h_L, BY VALUE: the streams lor2c names, run in onnxruntime on the probe
 *   input, hold torch's own block inputs and outputs;
 * - the parameter count torch reports;
 * - the roles of every block's projections (cross-attention ones in decoders);
 * - adapters placed where torch's own code puts them: LoRA on q and v of a per-head fused QKV
 *   (the delta added to each part in its own layout, through torch's views) and one LoR2C path
 *   per stack give torch's logits with the same A and B.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyAdapters, type AdapterStructure } from '../../../compiler/adapters/apply.ts';
import { sitesFromBlocks } from '../../../compiler/adapters/sites-from-blocks.ts';
import { modelFromProto, modelToProto, type Model } from '../../../compiler/graph/index.ts';
import { inspectModel } from '../../../compiler/inspect.ts';
import { locateBlocks } from '../../../compiler/locate/index.ts';
import { DataType, encodeModel, makeTensor, makeValueInfo, readModel } from '../../../compiler/onnx/index.ts';
import { rolesPerBlock } from './support.ts';

ort.env.logLevel = 'error';

const DIR = join(import.meta.dirname, '../../fixtures/torch/structure');
interface TensorJson { shape: number[]; values: number[] }
interface Arch {
  parameters: number;
  stacks?: string[];
  roles?: string[][];
  /** Token ids [b, s], or a front end's float input (pixels [b, c, h, w], log-mel frames [b, mels, frames]). */
  probe?: Record<string, unknown[]>;
  streams?: Record<string, TensorJson[]>;
  adapters?: {
    rank: number;
    alpha: number;
    lora: { block: number; role: 'q' | 'v'; A: TensorJson; B: TensorJson }[];
    lor2c: { stack: string; block: number; A: TensorJson; B: TensorJson }[];
    logits: TensorJson;
  };
}
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as { layers: number; archs: Record<string, Arch>; files: Record<string, { arch: string; opset: number; fixed: boolean; folded?: string[] }> };

/** Tolerance for float32 values over two tiny layers. */
const ABS = 1e-4;

/** Nested arrays -> their shape. */
function shapeOf(v: unknown): number[] {
  return Array.isArray(v) ? [v.length, ...shapeOf(v[0])] : [];
}

/** The probe as the model's inputs take it: token ids (int64) or a front end's pixels / log-mel frames (float32). */
function feeds(model: Model, arch: Arch): Record<string, ort.Tensor> {
  return Object.fromEntries(Object.entries(arch.probe!).map(([name, value]) => {
    const declared = model.graph.inputs.find((v) => v.name === name)?.type?.value;
    const isFloat = declared?.case === 'tensorType' && declared.value.elemType === DataType.FLOAT;
    const flat = (value as unknown[]).flat(Infinity) as number[];
    return [name, isFloat ? new ort.Tensor('float32', Float32Array.from(flat), shapeOf(value)) : new ort.Tensor('int64', BigInt64Array.from(flat.map(BigInt)), shapeOf(value))];
  }));
}

function worstDiff(got: ArrayLike<number>, want: number[]): number {
  let worst = got.length === want.length ? 0 : Infinity;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  return worst;
}

async function run(model: Model, arch: Arch, outputs: string[]): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(encodeModel(modelToProto(model)));
  try {
    return await session.run(feeds(model, arch), outputs);
  } finally {
    await session.release();
  }
}

const load = (file: string) => readModel(join(DIR, file));

for (const [file, info] of Object.entries(manifest.files)) {
  const arch = manifest.archs[info.arch]!;
  if (!arch.streams) continue;

  test(`${file}: stacks, roles and parameter count`, (t) => {
    const proto = load(file);
    const map = locateBlocks(modelFromProto(proto));
    const names = arch.stacks!.length === 1 ? ['main'] : arch.stacks!;
    t.deepEqual(map.stacks.map((s) => [s.name, s.count]), names.map((n) => [n, manifest.layers]));
    const roles = arch.stacks!.flatMap((_, k) => Array.from({ length: manifest.layers }, () => [...arch.roles![k]!].sort()));
    t.deepEqual(rolesPerBlock(map).map((r) => [...r].sort()), roles);
    // Constant folding at fixed shapes can fold a parameter into what it computes (`wpe[:s]`),
    // which no reader of the file can undo: the script lists those, and the count is then lower.
    const counted = inspectModel(proto).parameters;
    if (info.folded) t.true(counted < arch.parameters, `folded ${info.folded.join(', ')}`);
    else t.is(counted, arch.parameters, 'torch counts the parameters so');
  });

  test(`${file}: every stack's h_0..h_L holds torch's hidden states`, async (t) => {
    const model = modelFromProto(load(file));
    const map = locateBlocks(model);
    const names = arch.stacks!.length === 1 ? ['main'] : arch.stacks!;
    const wanted = map.stacks.flatMap((s, k) => s.streams.map((h, i) => ({ h, ref: arch.streams![arch.stacks![names.indexOf(s.name)] ?? arch.stacks![k]!]![i]! })));
    const extra = [...new Set(wanted.map((w) => w.h))].filter((h) => !model.graph.outputs.some((o) => o.name === h));
    model.graph.outputs.push(...extra.map((h) => makeValueInfo(h, DataType.FLOAT)));
    const out = await run(model, arch, [...new Set(wanted.map((w) => w.h))]);
    for (const { h, ref } of wanted) {
      t.deepEqual([...out[h]!.dims], ref.shape, `'${h}' shape`);
      const d = worstDiff(out[h]!.data as Float32Array, ref.values);
      t.true(d < ABS, `'${h}' differs from torch's by ${d}`);
    }
  });

  if (!arch.adapters) continue;
  test(`${file}: LoRA on q, v and LoR2C per stack land where torch's code puts them`, async (t) => {
    const model = modelFromProto(load(file));
    const map = locateBlocks(model);
    const ad = arch.adapters!;
    const stackFirst = (name: string) => map.stacks.find((s) => s.name === (name || 'main'))!.first;
    const structure: AdapterStructure = {
      modules: ad.lor2c.map((m, k) => ({ id: `m${k}`, section: 'lor2c', span: [stackFirst(m.stack) + m.block, stackFirst(m.stack) + m.block], rank: ad.rank, alpha: ad.alpha, dropout: 0, init: 'kaiming' })),
      share: [],
      lora: ad.lora.map((l) => ({ section: 'lora', block: l.block, target: { kind: 'role', role: l.role }, rank: ad.rank, alpha: ad.alpha, dropout: 0, init: 'kaiming' })),
    };
    const applied = applyAdapters(model, sitesFromBlocks(map), structure, { seed: 1 });
    const values = new Map<string, TensorJson>();
    ad.lor2c.forEach((m, k) => {
      values.set(applied.parameters.find((p) => p.module === `m${k}` && p.role === 'lor2c.A')!.name, m.A);
      values.set(applied.parameters.find((p) => p.module === `m${k}` && p.role === 'lor2c.B')!.name, m.B);
    });
    for (const l of ad.lora) {
      const own = applied.parameters.filter((p) => p.module.startsWith(`b${l.block}.`) && p.module.endsWith(`.${l.role}`));
      t.is(own.length, 2, `LoRA parameters of block ${l.block} ${l.role}`);
      values.set(own.find((p) => p.role === 'lora.A')!.name, l.A);
      values.set(own.find((p) => p.role === 'lora.B')!.name, l.B);
    }
    t.is(values.size, applied.parameters.length);
    for (const [name, v] of values) model.graph.initializers.set(name, makeTensor(name, DataType.FLOAT, v.shape, Float32Array.from(v.values)));
    const out = await run(model, arch, ['logits']);
    const d = worstDiff(out.logits!.data as Float32Array, ad.logits.values);
    t.log(`max |lor2c - torch| = ${d.toExponential(2)}`);
    t.true(d < ABS, `logits differ from torch's by ${d}`);
  });
}
