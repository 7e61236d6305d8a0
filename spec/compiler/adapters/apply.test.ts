/**
 * LoR2C and LoRA rewrites on the builder models, checked numerically in ORT:
 * with B = 0 the adapted model computes exactly the base model (docs/method.md section 1), and with
 * random A and B the added path equals (alpha / r) x A^T B^T computed independently in JS.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { buildBert, buildGpt2, buildLlama } from '../../../examples/models/index.ts';
import { cloneModel, modelFromProto, modelToProto, type Model } from '../../../compiler/graph/index.ts';
import { locateBlocks } from '../../../compiler/locate/index.ts';
import { applyAdapters, type AdapterStructure } from '../../../compiler/adapters/apply.ts';
import { sitesFromBlocks } from '../../../compiler/adapters/sites-from-blocks.ts';
import { DataType, encodeModel, makeTensor, makeValueInfo, tensorArray } from '../../../compiler/onnx/index.ts';
import type { Lor2cModule } from '../../../contract/plan.ts';
import { isUserError } from '../../../contract/errors.ts';
import '../../support/ort.ts';

const lor2c = (s: number, e: number, rank = 4, alpha = 8): Lor2cModule => ({ id: s === e ? `b${s}` : `b${s}_${e}`, section: 'lor2c', span: [s, e], rank, alpha, dropout: 0.1, init: 'kaiming' });

function feeds(model: Model, batch = 2, seq = 6): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const v of model.graph.feedInputs()) {
    const n = batch * seq;
    const data = v.name === 'attention_mask' ? BigInt64Array.from({ length: n }, (_, i) => (i % seq < seq - 1 || i < seq ? 1n : 0n)) : BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 37 + 11) % 97));
    out[v.name] = new ort.Tensor('int64', data, [batch, seq]);
  }
  return out;
}

async function run(model: Model, extra: string[] = []): Promise<Record<string, ort.Tensor>> {
  const m = cloneModel(model);
  for (const name of extra) if (!m.graph.outputNames().includes(name)) m.graph.outputs.push(makeValueInfo(name, DataType.FLOAT));
  const session = await ort.InferenceSession.create(encodeModel(modelToProto(m)));
  return session.run(feeds(model));
}

const builders = { bert: () => buildBert({ layers: 3 }), gpt2: () => buildGpt2({ layers: 3 }), llama: () => buildLlama({ layers: 3 }) };

for (const [arch, build] of Object.entries(builders)) {
  test(`${arch}: with B = 0 the adapted model computes exactly the base model`, async (t) => {
    const base = modelFromProto(build().model);
    const adapted = cloneModel(base);
    const sites = sitesFromBlocks(locateBlocks(adapted));
    const structure: AdapterStructure = {
      modules: [lor2c(0, 0), lor2c(1, 2)],
      share: [],
      lora: [{ section: 'lora', block: 1, target: { kind: 'role', role: 'v' }, rank: 2, alpha: 4, dropout: 0, init: 'kaiming' }],
    };
    const applied = applyAdapters(adapted, sites, structure, { seed: 1 });
    t.deepEqual(applied.parameters.map((p) => p.name).sort(), ['lor2c.b0.A', 'lor2c.b0.B', 'lor2c.b1_2.A', 'lor2c.b1_2.B', 'lora.b1.v.A', 'lora.b1.v.B']);
    const [a, b] = [await run(base), await run(adapted)];
    for (const name of Object.keys(a)) t.deepEqual(b[name]!.data, a[name]!.data, name);
  });

  test(`${arch}: with random A and B the LoR2C path adds (alpha/r) h_s A^T B^T to h_(e+1)`, async (t) => {
    const base = modelFromProto(build().model);
    const map = locateBlocks(base);
    const [s, e] = [0, 1];
    const hs = map.streams[s]!, he = map.streams[e + 1]!;
    const reference = await run(base, [hs, he]);
    const adapted = cloneModel(base);
    // Expose h_(e+1) so the rewrite interposes on a graph output: its name must carry the sum.
    adapted.graph.outputs.push(makeValueInfo(he, DataType.FLOAT));
    const m = lor2c(s, e, 3, 12);
    applyAdapters(adapted, sitesFromBlocks(map), { modules: [m], share: [], lora: [] }, { seed: 2 });
    const d = map.hidden;
    const A = tensorArray(adapted.graph.initializers.get('lor2c.b0_1.A')!) as Float32Array;
    const B = Float32Array.from({ length: d * 3 }, (_, i) => Math.sin(i + 1) * 0.1);
    adapted.graph.initializers.set('lor2c.b0_1.B', makeTensor('lor2c.b0_1.B', DataType.FLOAT, [d, 3], B));
    const out = await run(adapted);
    const x = reference[hs]!.data as Float32Array, y = reference[he]!.data as Float32Array, got = out[he]!.data as Float32Array;
    let worst = 0;
    for (let row = 0; row < x.length / d; row++) {
      const down = [0, 1, 2].map((k) => { let acc = 0; for (let j = 0; j < d; j++) acc += x[row * d + j]! * A[k * d + j]!; return acc * (12 / 3); });
      for (let i = 0; i < d; i++) {
        const delta = down.reduce((acc, v, k) => acc + v * B[i * 3 + k]!, 0);
        worst = Math.max(worst, Math.abs(y[row * d + i]! + delta - got[row * d + i]!));
      }
    }
    t.true(worst < 1e-4, `max error ${worst}`);
  });
}

test('ShareLoR2C: one A for the group, a B per module; parameter counts follow docs/method.md', (t) => {
  const base = modelFromProto(buildBert({ layers: 4, dModel: 32, heads: 2, ffn: 64 }).model);
  const sites = sitesFromBlocks(locateBlocks(base));
  const modules = [0, 1, 2, 3].map((i) => lor2c(i, i, 8));
  const plain = applyAdapters(cloneModel(base), sites, { modules, share: [], lora: [] }, { seed: 0 });
  const count = (ps: { shape: number[] }[]) => ps.reduce((n, p) => n + p.shape[0]! * p.shape[1]!, 0);
  t.is(count(plain.parameters), 4 * 2 * 32 * 8);
  const shared = applyAdapters(cloneModel(base), sites, { modules, share: [{ share: 'A', modules: modules.map((m) => m.id) }], lora: [] }, { seed: 0 });
  t.is(count(shared.parameters), 32 * 8 + 4 * 32 * 8);
  t.true(shared.parameters.some((p) => p.name === 'lor2c.shared0.A'));
});

test('a rank above the adapted matrix\'s width (a mistyped `rank 1e9`) is refused before any factor is allocated', (t) => {
  const base = modelFromProto(buildBert({ layers: 2, dModel: 32, heads: 2, ffn: 64 }).model);
  const sites = sitesFromBlocks(locateBlocks(base));
  for (const rank of [1e9, 33]) {
    const error = t.throws(() => applyAdapters(cloneModel(base), sites, { modules: [lor2c(0, 0, rank)], share: [], lora: [] }, { seed: 0 }));
    t.true(isUserError(error), String(error?.stack));
    t.regex(error!.message, new RegExp(`rank ${rank} of b0 is larger than the width 32 it factors`));
  }
  const up = { section: 'lora', block: 1, target: { kind: 'role' as const, role: 'up' as const }, rank: 40, alpha: 4, dropout: 0, init: 'kaiming' as const };
  const error = t.throws(() => applyAdapters(cloneModel(base), sites, { modules: [], share: [], lora: [up] }, { seed: 0 }));
  t.true(isUserError(error), String(error?.stack));
  t.regex(error!.message, /rank 40 of .* is larger than the width 32 it factors/, 'the 32 -> 64 up projection');
  t.is(applyAdapters(cloneModel(base), sites, { modules: [lor2c(0, 0, 32)], share: [], lora: [] }, { seed: 0 }).parameters.length, 2, 'rank = d is allowed');
});

test('RoBERTa-base-sized counts (d 768, 12 blocks, r 8): LoR2C 147,456, ShareLoR2C 79,872 (docs/method.md sections 1, 2)', (t) => {
  // Only d and the block count matter to the adapters: a small vocabulary and FFN keep the build quick.
  const base = modelFromProto(buildBert({ layers: 12, dModel: 768, heads: 12, ffn: 32, vocabSize: 8, maxPositions: 16 }).model);
  const sites = sitesFromBlocks(locateBlocks(base));
  t.is(sites.hidden, 768);
  const modules = Array.from({ length: 12 }, (_, i) => lor2c(i, i, 8, 16));
  const count = (ps: { shape: number[] }[]) => ps.reduce((n, p) => n + p.shape[0]! * p.shape[1]!, 0);
  t.is(count(applyAdapters(cloneModel(base), sites, { modules, share: [], lora: [] }, { seed: 0 }).parameters), 147_456);
  t.is(count(applyAdapters(cloneModel(base), sites, { modules, share: [{ share: 'A', modules: modules.map((m) => m.id) }], lora: [] }, { seed: 0 }).parameters), 79_872);
  // LoRA r = 8 on query and value, the comparison docs/method.md makes: 294,912.
  const lora = [...Array(12).keys()].flatMap((block) => (['q', 'v'] as const).map((role) => ({ section: 'lora', block, target: { kind: 'role' as const, role }, rank: 8, alpha: 16, dropout: 0, init: 'kaiming' as const })));
  t.is(count(applyAdapters(cloneModel(base), sites, { modules: [], share: [], lora }, { seed: 0 }).parameters), 294_912);
});

test('LoRA on q and v of a fused QKV split by Gather (timm ViT export): delta in their column blocks == folding it into the weight', async (t) => {
  const { readModel } = await import('../../../compiler/onnx/index.ts');
  const base = modelFromProto(readModel('spec/fixtures/torch/vit-opset14.onnx'));
  const map = locateBlocks(base);
  const qkv = map.blocks[0]!.projections.find((p) => p.role === 'qkv')!;
  t.false(qkv.parts!.q.lastAxis, 'this export splits q, k, v with a Gather, not on the last axis');
  const adapted = cloneModel(base);
  const lora = (['q', 'v'] as const).map((role) => ({ section: 'lora', block: 0, target: { kind: 'role' as const, role }, rank: 2, alpha: 4, dropout: 0, init: 'kaiming' as const }));
  applyAdapters(adapted, sitesFromBlocks(map), { modules: [], share: [], lora }, { seed: 3 });
  const d = qkv.inFeatures, w = qkv.outFeatures / 3, scale = 4 / 2;
  const W = Float32Array.from(tensorArray(base.graph.initializers.get(qkv.weight)!) as Float32Array); // [in, out]
  const folded = cloneModel(base);
  for (const [role, index] of [['q', 0], ['v', 2]] as const) {
    const B = Float32Array.from({ length: w * 2 }, (_, i) => Math.cos(i + index) * 0.2);
    adapted.graph.initializers.set(`lora.b0.${role}.B`, makeTensor(`lora.b0.${role}.B`, DataType.FLOAT, [w, 2], B));
    const A = tensorArray(adapted.graph.initializers.get(`lora.b0.${role}.A`)!) as Float32Array; // [2, in]
    for (let i = 0; i < d; i++) for (let o = 0; o < w; o++) W[i * 3 * w + index * w + o]! += scale * (A[i]! * B[o * 2]! + A[d + i]! * B[o * 2 + 1]!);
  }
  folded.graph.initializers.set(qkv.weight, makeTensor(qkv.weight, DataType.FLOAT, [d, 3 * w], W));
  const pixels = new ort.Tensor('float32', Float32Array.from({ length: 2 * 3 * 16 * 16 }, (_, i) => Math.sin(i * 0.37)), [2, 3, 16, 16]);
  const outputs = async (m: Model) => (await (await ort.InferenceSession.create(encodeModel(modelToProto(m)))).run({ pixel_values: pixels })).logits!.data as Float32Array;
  const [a, b, base0] = [await outputs(adapted), await outputs(folded), await outputs(base)];
  const worst = Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
  t.true(worst < 1e-5, `max difference ${worst}`);
  t.true(Math.max(...a.map((x, i) => Math.abs(x - base0[i]!))) > 1e-3, 'the delta changes the output');
});
