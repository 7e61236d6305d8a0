/**
 * End to end on real compiled artifacts: `lor2c compile` a spec (LoR2C with a shared A, LoRA on
 * q and v, the classifier trained) against a builder BERT, put trained values in a checkpoint,
 * `lor2c export` the adapter and merged models (plain and LoRA-folded), then `lor2c infer` with
 * the exported adapter, the Pipeline with hot-swapped adapters, and the merged models in plain
 * onnxruntime must all agree.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.ts';
import { buildBert } from '../../examples/models/index.ts';
import { readModel, writeModel } from '../../compiler/onnx/index.ts';
import { readManifest } from '../../runtime/artifacts.ts';
import { writeCheckpoint } from '../../runtime/checkpoint.ts';
import { Pipeline } from '../../runtime/pipeline.ts';
import { Rng } from '../../runtime/data/prng.ts';
import { randomAdapter } from '../runtime/fixtures/adapter-artifacts.ts';

const run = runCli;

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = a.length === b.length ? 0 : Infinity;
  for (let i = 0; i < Math.min(a.length, b.length); i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

const bertRoot = mkdtempSync(join(tmpdir(), 'lor2c-serve-compiled-'));
writeModel(buildBert({ layers: 2, dModel: 32, heads: 2, ffn: 64, vocabSize: 50, seed: 3 }).model, join(bertRoot, 'bert.onnx'));

/** One route check per LoRA dropout: the inference graph keeps a Dropout (the identity) in each path with dropout > 0. */
const routes = test.macro(async (t, loraDropout: number) => {
  const root = mkdtempSync(join(tmpdir(), 'lor2c-serve-compiled-'));
  writeFileSync(join(root, 'spec.lor2c'), `model "${join(bertRoot, 'bert.onnx')}"
lor2c { rank 4; alpha 8; blocks all }
share A
lora { on q, v; rank 2; alpha 4; dropout ${loraDropout} }
train {
  task classify(logits "logits", labels "label")
  trainable "classifier.*"
  batch 4
  steps 2
}
`);
  const dir = join(root, 'artifacts');
  const compiled = await run('compile', join(root, 'spec.lor2c'), '--out', dir);
  t.is(compiled.code, 0, compiled.err);
  const manifest = readManifest(dir);
  const names = manifest.parameters.map((p) => p.name);
  t.true(names.includes('lor2c.shared0.A') && names.includes('lora.b1.v.B') && names.some((n) => n.startsWith('classifier')), names.join(', '));

  // "Trained" values: every matrix non-zero, so every path moves the logits.
  const trained = randomAdapter(manifest, 7, 0.2);
  const other = randomAdapter(manifest, 8, 0.2);
  const ckpt = join(root, 'ckpt');
  const tensors = new Map(manifest.parameters.map((p) => [p.name, { shape: p.shape, data: trained.get(p.name)! }]));
  writeCheckpoint(ckpt, { step: 2, data: { epoch: 0, batch: 2 }, rng: { seed: 0 }, plan: manifest.plan, artifacts: dir, parameters: tensors, optimizer: new Map() });

  const out = join(root, 'export');
  const exported = await run('export', dir, '--checkpoint', ckpt, '--adapter', join(out, 'adapter_model.safetensors'), '--merged', join(out, 'model.onnx'));
  t.is(exported.code, 0, exported.err);
  const folded = await run('export', dir, '--checkpoint', ckpt, '--merged', join(out, 'folded.onnx'), '--fold-lora');
  t.is(folded.code, 0, folded.err);
  t.regex(folded.out, /folded LoRA b0\.q into /);
  t.is((folded.out.match(/folded LoRA/g) ?? []).length, 4, folded.out);
  const config = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
  t.is(config.modules.length, 2);
  t.deepEqual(config.modules.map((m: { span: number[] }) => m.span), [[0, 0], [1, 1]]);
  t.is(config.lora.length, 4);

  // Rows of different lengths: batches are padded, the attention mask hides the padding.
  const rng = new Rng(4);
  const rows = [5, 3, 8, 2, 6].map((len) => ({
    input_ids: Array.from({ length: len }, () => Math.floor(rng.nextFloat() * 50)),
    attention_mask: Array.from({ length: len }, () => 1),
    label: 0,
  }));
  const data = join(root, 'rows.jsonl');
  writeFileSync(data, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const inferred = await run('infer', dir, '--data', data, '--adapter', join(out, 'adapter_model.safetensors'), '--batch', '3');
  t.is(inferred.code, 0, inferred.err);
  const viaCli = inferred.out.trim().split('\n').map((l) => JSON.parse(l) as { logits: number[]; label: number });

  const single = async (file: string) => {
    const session = await ort.InferenceSession.create(file);
    const results: Float32Array[] = [];
    for (const r of rows) {
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(r.input_ids.map(BigInt)), [1, r.input_ids.length]),
        attention_mask: new ort.Tensor('int64', BigInt64Array.from(r.attention_mask.map(BigInt)), [1, r.attention_mask.length]),
      };
      const wanted = session.inputNames.filter((n) => !(n in feeds));
      t.deepEqual(wanted, [], 'merged models take only data inputs');
      results.push((await session.run(feeds)).logits!.data as Float32Array);
    }
    await session.release();
    return results;
  };
  const merged = await single(join(out, 'model.onnx'));
  const mergedFolded = await single(join(out, 'folded.onnx'));

  const pipeline = await Pipeline.load(dir, { batchSize: 3 });
  pipeline.useAdapter(other);
  const withOther = await pipeline.runRows(rows);
  pipeline.useAdapter(trained);
  const withTrained = await pipeline.runRows(rows);
  await pipeline.release();

  const worst = { cli: 0, merged: 0, folded: 0 };
  for (const [i] of rows.entries()) {
    const p = withTrained[i]!.logits!.data;
    worst.cli = Math.max(worst.cli, maxDiff(viaCli[i]!.logits, p));
    worst.merged = Math.max(worst.merged, maxDiff(merged[i]!, p));
    worst.folded = Math.max(worst.folded, maxDiff(mergedFolded[i]!, p));
    t.true(maxDiff(viaCli[i]!.logits, p) <= 1e-6, `cli vs pipeline, row ${i}`);
    t.true(maxDiff(merged[i]!, p) <= 1e-5, `merged vs pipeline, row ${i}: ${maxDiff(merged[i]!, p)}`);
    t.true(maxDiff(mergedFolded[i]!, p) <= 1e-4, `folded vs pipeline, row ${i}: ${maxDiff(mergedFolded[i]!, p)}`);
    t.true(maxDiff(withOther[i]!.logits!.data, p) > 1e-3, `the other adapter changes row ${i}`);
  }
  t.log(`largest |difference| from the pipeline: cli ${worst.cli}, merged ${worst.merged}, folded ${worst.folded}`);
  // The constant factors are transposed once at export: no Transpose of an initializer is left.
  for (const file of ['model.onnx', 'folded.onnx']) {
    const graph = readModel(join(out, file)).graph!;
    const constants = new Set(graph.initializer.map((i) => i.name));
    t.deepEqual(graph.node.filter((n) => n.opType === 'Transpose' && constants.has(n.input[0]!)).map((n) => n.input[0]), [], file);
  }
  const foldedGraph = readModel(join(out, 'folded.onnx')).graph!;
  t.false(foldedGraph.initializer.some((i) => i.name.startsWith('lora.')), 'every LoRA factor was folded away');
  const dropouts = (file: string) => readModel(join(out, file)).graph!.node.filter((n) => n.opType === 'Dropout').length;
  t.is(dropouts('model.onnx') - dropouts('folded.onnx'), loraDropout > 0 ? 4 : 0, 'the LoRA paths\' Dropouts go with them');
});

test.serial('compile -> checkpoint -> export adapter + merged -> infer: every route gives the same logits', routes, 0);
test.serial('the same with LoRA dropout 0.1: --fold-lora folds through the inference graph\'s Dropout', routes, 0.1);
