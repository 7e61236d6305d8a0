/** A checkpoint is read with the artifacts it belongs to, and only those; non-finite values are refused. */
import test from 'ava';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointArtifacts, manifestDigest } from '../../runtime/checkpoint-artifacts.ts';
import { sourceParameters } from '../../runtime/adapter.ts';
import { writeCheckpoint } from '../../runtime/checkpoint.ts';
import { float32Entry } from '../../contract/safetensors.ts';
import { writeSafetensors } from '../../contract/safetensors-file.ts';
import { randomAdapter, writeAdapterArtifacts } from './fixtures/adapter-artifacts.ts';

const root = mkdtempSync(join(tmpdir(), 'lor2c-ckpt-artifacts-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));
const fixture = writeAdapterArtifacts(join(root, 'artifacts'));
const values = randomAdapter(fixture.manifest, 5);
const tensors = new Map(fixture.manifest.parameters.map((p) => [p.name, { shape: p.shape, data: values.get(p.name)! }]));
const info = { data: { epoch: 0, batch: 0 }, rng: { seed: 0 }, plan: {}, optimizer: new Map(), step: 3, parameters: tensors };

test('an adapter or checkpoint holding NaN / Inf is refused, naming the tensor', (t) => {
  const bad = new Map([...values].map(([k, v]) => [k, Float32Array.from(v)]));
  bad.get('head.weight')![2] = Number.NaN;
  const file = join(root, 'nan.safetensors');
  writeSafetensors(file, new Map(fixture.manifest.parameters.map((p) => [p.name, float32Entry(p.shape, bad.get(p.name)!)])));
  t.throws(() => sourceParameters(fixture.dir, fixture.manifest, { adapter: file }), { message: /'head\.weight' holds NaN at element 2/ });
  const ckpt = join(root, 'ckpt-inf');
  const inf = new Map(tensors);
  inf.set('lor2c.b1.B', { ...inf.get('lor2c.b1.B')!, data: inf.get('lor2c.b1.B')!.data.map((x, i) => (i < 2 ? Infinity : x)) });
  writeCheckpoint(ckpt, { ...info, artifacts: fixture.dir, parameters: inf });
  t.throws(() => sourceParameters(fixture.dir, fixture.manifest, { checkpoint: ckpt }), { message: /'lor2c\.b1\.B' holds Infinity at element 0 \(2 non-finite values\)/ });
});

test("a checkpoint naming another artifacts folder is refused; DIR's own recompile is followed, also after DIR moved", (t) => {
  const other = join(root, 'other');
  cpSync(fixture.dir, other, { recursive: true });
  t.is(checkpointArtifacts(fixture.dir, { dir: 'ck', artifacts: other }).dir, other, 'compiled from the same base and spec (a library hook recompiling elsewhere)');
  const m = JSON.parse(readFileSync(join(other, 'manifest.json'), 'utf8'));
  writeFileSync(join(other, 'manifest.json'), JSON.stringify({ ...m, base: { ...m.base, sha256: 'b'.repeat(64) } }));
  t.throws(() => checkpointArtifacts(fixture.dir, { dir: 'ck', artifacts: other }), { message: /belongs to .*other, which was not compiled from the base model of .*: sha256 bbbbbbbbbbbb/ });
  t.throws(() => checkpointArtifacts(fixture.dir, { dir: 'ck', artifacts: '/gone/structure/step-00000009' }), { message: /which are not .* nor one of its recompiles/ });
  // DIR/structure/step-N of DIR itself: followed.
  const step = join(fixture.dir, 'structure', 'step-00000005');
  mkdirSync(join(fixture.dir, 'structure'), { recursive: true });
  cpSync(fixture.dir, join(root, 'copy'), { recursive: true });
  cpSync(join(root, 'copy'), step, { recursive: true });
  t.is(checkpointArtifacts(fixture.dir, { dir: 'ck', artifacts: step }).dir, step);
  // The whole folder moved: the checkpoint's old path is gone; the same step-N under DIR serves.
  t.is(checkpointArtifacts(fixture.dir, { dir: 'ck', artifacts: '/gone/artifacts/structure/step-00000005' }).dir, step);
  // The artifacts compiled again since the checkpoint was written (its recorded manifest digest): refused.
  const digest = manifestDigest(step);
  t.is(checkpointArtifacts(fixture.dir, { dir: 'ck', artifacts: step, manifestSha256: digest }).dir, step);
  const manifest = JSON.parse(readFileSync(join(step, 'manifest.json'), 'utf8'));
  writeFileSync(join(step, 'manifest.json'), JSON.stringify({ ...manifest, plan: { other: true } }));
  t.throws(() => checkpointArtifacts(fixture.dir, { dir: 'ck', artifacts: step, manifestSha256: digest }), { message: /compiled again since \(manifest\.json changed\)/ });
});

test('a checkpoint trained on another base model (its recorded sha256) is refused by train --resume, eval, infer and export alike', (t) => {
  const ckpt = join(root, 'ckpt-base');
  writeCheckpoint(ckpt, { ...info, artifacts: fixture.dir, base: { sha256: 'a'.repeat(64) } });
  t.throws(() => sourceParameters(fixture.dir, fixture.manifest, { checkpoint: ckpt }), { message: /trained on a base model with sha256 aaaaaaaaaaaa\.\.\., but .* was compiled from hand-built-mlp\.onnx/ });
  writeCheckpoint(ckpt, { ...info, artifacts: fixture.dir, base: { sha256: fixture.manifest.base.sha256 } });
  t.is(sourceParameters(fixture.dir, fixture.manifest, { checkpoint: ckpt }).source.kind, 'checkpoint');
});
