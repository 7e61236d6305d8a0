/**
 * Inference pipelines: adapters hot-swapped on one loaded infer.onnx, checked against an
 * independent float64 forward pass and against separately merged standalone models.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pipeline } from '../../runtime/pipeline.ts';
import { exportMerged } from '../../runtime/export.ts';
import { randomAdapter, randomRows, referenceLogits, writeAdapterArtifacts } from './fixtures/adapter-artifacts.ts';
import { float32Entry } from '../../contract/safetensors.ts';
import { writeSafetensors } from '../../contract/safetensors-file.ts';
import { writeTinyArtifacts } from './fixtures/tiny-artifacts.ts';

const root = mkdtempSync(join(tmpdir(), 'lor2c-pipeline-'));
const fixture = writeAdapterArtifacts(join(root, 'classify'));
const lm = writeAdapterArtifacts(join(root, 'lm'), { task: 'lm', outputs: 7, seed: 9 });
const adapterA = randomAdapter(fixture.manifest, 1);
const adapterB = randomAdapter(fixture.manifest, 2);

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

test('outputs follow the adapter in use and match a float64 forward pass', async (t) => {
  const p = await Pipeline.load(fixture.dir, { batchSize: 3 });
  t.is(p.provider, 'cpu');
  const rows = randomRows(fixture.D, [3, 5, 1, 4, 2], 11);
  for (const values of [adapterA, adapterB]) {
    p.useAdapter(values);
    const out = await p.runRows(rows);
    t.is(out.length, rows.length);
    rows.forEach((r, i) => {
      const want = referenceLogits(fixture, values, r.x) as number[];
      t.deepEqual(out[i]!.logits!.shape, [fixture.K]);
      t.true(maxDiff(out[i]!.logits!.data, want) < 1e-4, `row ${i}: ${maxDiff(out[i]!.logits!.data, want)}`);
    });
  }
  // The two adapters really differ in what they produce.
  p.useAdapter(adapterA);
  const a = await p.runRows(rows.slice(0, 1));
  p.useAdapter(adapterB);
  const b = await p.runRows(rows.slice(0, 1));
  t.true(maxDiff(a[0]!.logits!.data, b[0]!.logits!.data) > 1e-2);
  await p.release();
});

test('two adapters swapped on one session equal two separately merged models', async (t) => {
  const p = await Pipeline.load(fixture.dir, { batchSize: 4 });
  const rows = randomRows(fixture.D, [4, 4, 2, 6, 3, 1, 5], 12);
  for (const [k, values] of [adapterA, adapterB, adapterA].entries()) {
    p.useAdapter(values);
    const swapped = await p.runRows(rows);
    const merged = join(root, `merged-${k}.onnx`);
    exportMerged(fixture.dir, values, merged);
    const session = await ort.InferenceSession.create(merged);
    t.deepEqual(session.inputNames, ['x'], 'the merged model takes only data');
    for (const [i, r] of rows.entries()) {
      const x = new ort.Tensor('float32', Float32Array.from(r.x.flat()), [1, r.x.length, fixture.D]);
      const out = (await session.run({ x })).logits!.data as Float32Array;
      t.true(maxDiff(out, swapped[i]!.logits!.data) <= 1e-6, `adapter ${k} row ${i}: ${maxDiff(out, swapped[i]!.logits!.data)}`);
    }
    await session.release();
  }
  await p.release();
});

test('classify: argmax label and softmax probabilities', async (t) => {
  const p = await Pipeline.load(fixture.dir, { adapter: adapterB });
  const rows = randomRows(fixture.D, [2, 3, 4], 13);
  const got = await p.classify(rows);
  for (const [i, c] of got.entries()) {
    const want = referenceLogits(fixture, adapterB, rows[i]!.x) as number[];
    t.is(c.label, want.indexOf(Math.max(...want)));
    t.true(Math.abs(c.probabilities.reduce((s, v) => s + v, 0) - 1) < 1e-12);
    t.is(c.probabilities.indexOf(Math.max(...c.probabilities)), c.label);
  }
  await t.throwsAsync(() => p.nextTokenLogits(rows), { message: /language-model task; these artifacts are for 'classify'/ });
  await p.release();
});

test('LM: per-row outputs are cut to the row length; next-token logits are the last position', async (t) => {
  const p = await Pipeline.load(lm.dir, { batchSize: 8 });
  const values = randomAdapter(lm.manifest, 3);
  p.useAdapter(values);
  const rows = randomRows(lm.D, [5, 2, 7], 14);
  const out = await p.runRows(rows);
  const next = await p.nextTokenLogits(rows);
  for (const [i, r] of rows.entries()) {
    const want = referenceLogits(lm, values, r.x) as number[][];
    t.deepEqual(out[i]!.logits!.shape, [r.x.length, lm.K], 'padding positions are not returned');
    t.true(maxDiff(out[i]!.logits!.data, want.flat()) < 1e-4);
    t.true(maxDiff(next[i]!, want.at(-1)!) < 1e-4);
  }
  await p.release();
});

test('a bad adapter is refused with every mismatch listed, and the previous one stays', async (t) => {
  const p = await Pipeline.load(fixture.dir, { adapter: adapterA });
  const rows = randomRows(fixture.D, [2], 15);
  const before = await p.runRows(rows);
  const bad = new Map(adapterA);
  bad.delete('lor2c.b1.B');
  bad.set('lor2c.b0.B', new Float32Array(5));
  bad.set('lor2c.b9.B', new Float32Array(4));
  const err = t.throws(() => p.useAdapter(bad), { message: /do not match the artifacts' parameters/ })!;
  t.regex(err.message, /'lor2c\.b0\.B' has 5 values, expected 64/);
  const file = join(root, 'wrong.safetensors');
  writeSafetensors(file, { 'lor2c.b0.B': float32Entry([4, 4], new Float32Array(16)) });
  const fileErr = t.throws(() => p.useAdapter(file))!;
  t.regex(fileErr.message, /missing 'lora\.b0\.q\.A'/);
  t.regex(fileErr.message, /'lor2c\.b0\.B' has shape \[4,4\], expected \[16,4\]/);
  t.deepEqual((await p.runRows(rows))[0]!.logits!.data, before[0]!.logits!.data);
  await p.release();
});

test('rows are checked: a bad row names its position and key', async (t) => {
  const p = await Pipeline.load(fixture.dir);
  await t.throwsAsync(() => p.runRows([{ x: [[1, 2]] }]), { message: /row 1: 'x\[0\]' has length 2, expected 16/ });
  await t.throwsAsync(() => p.runRows([{ y: 1 }]), { message: /row 1: missing key 'x'/ });
  await t.throwsAsync(() => p.run({}), { message: /missing 'x'/ });
  await p.release();
});

test('the default adapter is the artifacts adapter.safetensors', async (t) => {
  const p = await Pipeline.load(fixture.dir);
  t.deepEqual([...p.adapter.keys()], fixture.manifest.parameters.map((q) => q.name));
  t.true(p.adapter.get('lor2c.b0.B')!.data.some((v) => v !== 0));
  await p.release();
});

test('a graph with a fixed batch size gets full batches; the filler rows are dropped', async (t) => {
  const dir = join(root, 'fixed');
  writeTinyArtifacts(dir, { fixedBatch: 4, features: 4, classes: 3 });
  const p = await Pipeline.load(dir, { batchSize: 16 });
  t.is(p.batchSize, 4);
  const rows = Array.from({ length: 5 }, (_, i) => ({ x: [i, -i, 0.5 * i, 1] }));
  const out = await p.runRows(rows);
  t.is(out.length, 5);
  const W = p.adapter.get('W')!.data, b = p.adapter.get('b')!.data;
  rows.forEach((r, i) => {
    const want = [0, 1, 2].map((c) => r.x.reduce((s, v, f) => s + v * W[f * 3 + c]!, 0) + b[c]!);
    t.true(maxDiff(out[i]!.logits!.data, want) < 1e-5, `row ${i}`);
  });
  await p.release();
});
