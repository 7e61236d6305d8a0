/**
 * `lor2c export` killed (SIGKILL) at each of its renames leaves the old export or the new one,
 * each model with its own data, never a model paired with another export's data; exports never
 * write over the artifacts' files, the base model, or a file lor2c did not export.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildBert } from '../../examples/models/index.ts';
import { writeModel } from '../../compiler/onnx/index.ts';
import { compileSpecFile } from '../../compiler/compile.ts';
import { runCli } from '../support/cli.ts';
import '../support/ort.ts';

const dir = mkdtempSync(join(tmpdir(), 'lor2c-export-faults-'));
const art = join(dir, 'art');
const ckpt = join(dir, 'ckpt');

test.before(async () => {
  writeModel(buildBert({ layers: 2, dModel: 16, heads: 2, ffn: 32, vocabSize: 30, seed: 2 }).model, join(dir, 'bert.onnx'));
  writeFileSync(join(dir, 'spec.lor2c'), 'model "bert.onnx"\nlor2c {\n  rank 2\n}\ntrain {\n  task classify(logits "logits", labels "label")\n  trainable "classifier.*"\n  trainable "embeddings.word_embeddings.weight"\n  optimizer adamw(lr 5e-2)\n  batch 4\n}\n');
  compileSpecFile(join(dir, 'spec.lor2c'), { out: art });
  const rows = Array.from({ length: 16 }, (_, i) => JSON.stringify({ input_ids: [1 + (i % 7), 2, 3], attention_mask: [1, 1, 1], label: i % 2 }));
  writeFileSync(join(dir, 'train.jsonl'), rows.join('\n'));
  const r = await runCli('train', art, '--data', join(dir, 'train.jsonl'), '--steps', '3', '--checkpoint', ckpt);
  if (r.code !== 0) throw new Error(r.err);
});

async function logits(model: string): Promise<number[]> {
  const s = await ort.InferenceSession.create(model);
  const ids = new ort.Tensor('int64', BigInt64Array.from([1n, 5n, 7n]), [1, 3]);
  return Array.from((await s.run({ input_ids: ids, attention_mask: new ort.Tensor('int64', BigInt64Array.from([1n, 1n, 1n]), [1, 3]) })).logits!.data as Float32Array);
}

function crashingExport(at: number, args: string[]): Promise<{ killed: boolean; calls?: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(process.cwd(), 'spec/support/crash-at.ts'), 'renameSync', String(at), 'export', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve) => child.on('exit', (_c, signal) => resolve({ killed: signal === 'SIGKILL', calls: /calls=(\d+)/.exec(err) ? Number(/calls=(\d+)/.exec(err)![1]) : undefined })));
}

test.serial('export --merged killed at every rename: the model runs with the old values or the new, whole; leftovers go with the next export', async (t) => {
  const out = join(dir, 'm.onnx');
  t.is((await runCli('export', art, '--merged', out)).code, 0);
  const before = await logits(out);
  const probe = join(dir, 'probe.onnx');
  t.is((await runCli('export', art, '--merged', probe)).code, 0);
  const { calls } = await crashingExport(1e9, [art, '--merged', probe, '--checkpoint', ckpt]);
  const after = await logits(probe);
  t.notDeepEqual(after, before, 'the checkpoint differs from the initial values');
  t.true(calls !== undefined && calls >= 2, `renames: ${calls}`);
  for (let at = 1; at <= calls!; at++) {
    t.true((await crashingExport(at, [art, '--merged', out, '--checkpoint', ckpt])).killed);
    const now = await logits(out);
    t.true(JSON.stringify(now) === JSON.stringify(before) || JSON.stringify(now) === JSON.stringify(after), `rename ${at}: a mix of two exports`);
    t.is((await runCli('export', art, '--merged', out)).code, 0);
    t.deepEqual(await logits(out), before);
  }
  t.deepEqual(readdirSync(dir).filter((n) => n.startsWith('m.onnx')).length, 2, 'm.onnx and one data file');
  t.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.')), []);
});

test.serial('exports never write over the artifacts, the base model, or a file lor2c did not export', async (t) => {
  for (const [flag, target] of [['--merged', join(art, 'infer.onnx')], ['--merged', join(dir, 'bert.onnx')], ['--adapter', join(art, 'adapter.safetensors')]] as const) {
    const before = readFileSync(target);
    const r = await runCli('export', art, flag, target);
    t.is(r.code, 1, r.err);
    t.regex(r.err, /would overwrite (the base model|a file of the artifacts)/);
    t.true(readFileSync(target).equals(before));
  }
  const mine = join(dir, 'mine.onnx');
  writeFileSync(mine, 'not a model of lor2c');
  const r = await runCli('export', art, '--merged', mine);
  t.is(r.code, 1, r.err);
  t.regex(r.err, /mine.onnx exists and is not an ONNX model; lor2c replaces only a merged model it exported itself/);
  t.is(readFileSync(mine, 'utf8'), 'not a model of lor2c');
});
