/**
 * `lor2c compile --out DIR` never destroys what the user had, and DIR is the old or the new
 * artifacts at every instant: the command is killed (SIGKILL) at each of its renames in turn.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBert } from '../../examples/models/index.ts';
import { writeModel } from '../../compiler/onnx/index.ts';
import { readManifest, readParameterFile } from '../../runtime/artifacts.ts';
import { finishInterruptedUpdate } from '../../contract/artifacts-folder.ts';
import { openSession } from '../../runtime/session.ts';
import { runCli } from '../support/cli.ts';
import '../support/ort.ts';

const dir = mkdtempSync(join(tmpdir(), 'lor2c-out-'));
writeModel(buildBert({ layers: 2, dModel: 16, heads: 2, ffn: 32, vocabSize: 30, seed: 2 }).model, join(dir, 'bert.onnx'));
const spec = (rank: number) => `model "${join(dir, 'bert.onnx')}"\nlor2c {\n  rank ${rank}\n}\ntrain {\n  task classify(logits "logits", labels "label")\n  optimizer adamw(lr 1e-2)\n}\n`;
writeFileSync(join(dir, 'rank2.lor2c'), spec(2));
writeFileSync(join(dir, 'rank3.lor2c'), spec(3));

/** The rank DIR's artifacts were compiled with, after checking that its files agree with each other. */
async function consistentRank(out: string): Promise<number> {
  const manifest = readManifest(out);
  readParameterFile(manifest, join(out, manifest.adapter));
  const session = (await openSession(join(out, manifest.graphs.train.file))).session;
  const expected = manifest.graphs.train.inputs.map((i) => i.name).sort();
  if (JSON.stringify([...session.inputNames].sort()) !== JSON.stringify(expected)) throw new Error(`${out}: train.onnx does not match manifest.json`);
  return manifest.parameters.find((p) => p.role === 'lor2c.A')!.shape[0]!;
}

test.serial('a non-empty folder without artifacts is refused and left as it was; --force adds beside, never over, its files', async (t) => {
  const mine = join(dir, 'mine');
  mkdirSync(mine);
  writeFileSync(join(mine, 'notes.txt'), 'mine');
  const refused = await runCli('compile', join(dir, 'rank2.lor2c'), '--out', mine);
  t.is(refused.code, 1);
  t.regex(refused.err, /not empty and holds no lor2c artifacts \('notes.txt'\)/);
  t.deepEqual(readdirSync(mine), ['notes.txt']);

  const forced = await runCli('compile', join(dir, 'rank2.lor2c'), '--out', mine, '--force');
  t.is(forced.code, 0, forced.err);
  t.is(readFileSync(join(mine, 'notes.txt'), 'utf8'), 'mine');
  t.is(await consistentRank(mine), 2);

  const clash = join(dir, 'clash');
  mkdirSync(clash);
  writeFileSync(join(clash, 'train.onnx'), 'the user model');
  const clashed = await runCli('compile', join(dir, 'rank2.lor2c'), '--out', clash, '--force');
  t.is(clashed.code, 1);
  t.regex(clashed.err, /already has 'train.onnx', which lor2c did not write/);
  t.deepEqual(readdirSync(clash), ['train.onnx']);
  t.is(readFileSync(join(clash, 'train.onnx'), 'utf8'), 'the user model');
});

test.serial('recompiling DIR keeps checkpoints and other files in it, and removes only lor2c files it no longer has', async (t) => {
  const out = join(dir, 'art');
  t.is((await runCli('compile', join(dir, 'rank2.lor2c'), '--out', out, '--emit-ts')).code, 0);
  mkdirSync(join(out, 'ckpt', 'step-00000001'), { recursive: true });
  writeFileSync(join(out, 'ckpt', 'step-00000001', 'state.json'), '{}');
  writeFileSync(join(out, 'notes.md'), 'keep me');
  t.true(existsSync(join(out, 'bindings.ts')));
  const again = await runCli('compile', join(dir, 'rank3.lor2c'), '--out', out);
  t.is(again.code, 0, again.err);
  t.is(await consistentRank(out), 3);
  t.is(readFileSync(join(out, 'notes.md'), 'utf8'), 'keep me');
  t.true(existsSync(join(out, 'ckpt', 'step-00000001', 'state.json')));
  t.false(existsSync(join(out, 'bindings.ts')), 'the stale generated bindings are gone');
  t.deepEqual(readdirSync(out).filter((n) => n.startsWith('.')), []);
});

function crashingCompile(cwd: string, at: number, specFile: string, out: string): Promise<{ killed: boolean; calls?: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(process.cwd(), 'spec/support/crash-at.ts'), 'renameSync', String(at), 'compile', specFile, '--out', out], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve) => child.on('exit', (_code, signal) => resolve({ killed: signal === 'SIGKILL', calls: /calls=(\d+)/.exec(err) ? Number(/calls=(\d+)/.exec(err)![1]) : undefined })));
}

test('killed at renames across a recompile, DIR holds the old or the new artifacts whole, and the next compile leaves nothing behind', async (t) => {
  const root = join(dir, 'kills');
  mkdirSync(root);
  // How many renames a recompile does.
  const probe = join(root, 'probe');
  t.is((await runCli('compile', join(dir, 'rank2.lor2c'), '--out', probe)).code, 0);
  const { calls } = await crashingCompile(process.cwd(), 1e9, join(dir, 'rank3.lor2c'), probe);
  t.true(calls !== undefined && calls >= 5, `renames counted: ${calls}`);
  const seen = new Set<number>();
  // The first rename (writing the staging folder, before the commit point) and the last (the
  // move of manifest.json, after every other file moved): the two sides of the commit, kept to
  // two points so the test stays short.
  const points = [1, calls!];
  for (let i = 0; i < points.length; i += 2) {
    await Promise.all(points.slice(i, i + 2).map(async (at) => {
      const out = join(root, `at-${at}`);
      t.is((await runCli('compile', join(dir, 'rank2.lor2c'), '--out', out)).code, 0);
      writeFileSync(join(out, 'notes.md'), 'keep me');
      const { killed } = await crashingCompile(process.cwd(), at, join(dir, 'rank3.lor2c'), out);
      t.true(killed, `rename ${at} was reached`);
      const rank = await consistentRank(out);
      t.true(rank === 2 || rank === 3, `rename ${at}: rank ${rank}`);
      seen.add(rank);
      t.is(readFileSync(join(out, 'notes.md'), 'utf8'), 'keep me');
      t.is((await runCli('compile', join(dir, 'rank3.lor2c'), '--out', out)).code, 0);
      t.is(await consistentRank(out), 3);
      t.deepEqual(readdirSync(out).filter((n) => n.startsWith('.')), [], `rename ${at}: leftovers`);
    }));
  }
  t.deepEqual([...seen].sort(), [2, 3], 'kills before and after the commit point were both exercised');
});

test('a damaged list of replaced files can only remove plain names inside DIR, never DIR itself or its parent', (t) => {
  const parent = mkdtempSync(join(dir, 'damaged-'));
  const out = join(parent, 'out');
  mkdirSync(join(out, '.lor2c-commit'), { recursive: true });
  writeFileSync(join(parent, 'notes.txt'), 'the user\'s');
  writeFileSync(join(out, 'old.onnx'), 'replaced');
  writeFileSync(join(out, '.lor2c-commit', 'manifest.json'), '{}');
  writeFileSync(join(out, '.lor2c-commit', '.obsolete.json'), JSON.stringify(['..', '.', '', '..\\x', 'old.onnx', 7]));
  finishInterruptedUpdate(out);
  t.is(readFileSync(join(parent, 'notes.txt'), 'utf8'), 'the user\'s');
  t.true(existsSync(join(out, 'manifest.json')));
  t.false(existsSync(join(out, 'old.onnx')), 'a plain name listed is removed');
  t.false(existsSync(join(out, '.lor2c-commit')));
});
