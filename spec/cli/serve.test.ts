/** `lor2c infer`, `lor2c export` and `lor2c eval` through the CLI entry point: output, files, exit codes. */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.ts';
import { float32Entry } from '../../contract/safetensors.ts';
import { writeSafetensors } from '../../contract/safetensors-file.ts';
import { writeCheckpoint } from '../../runtime/checkpoint.ts';
import { accuracy } from '../../runtime/metrics.ts';
import { readParameterFile } from '../../runtime/artifacts.ts';
import { randomAdapter, randomRows, referenceLogits, writeAdapterArtifacts } from '../runtime/fixtures/adapter-artifacts.ts';

const run = runCli;

const root = mkdtempSync(join(tmpdir(), 'lor2c-cli-serve-'));
const fixture = writeAdapterArtifacts(join(root, 'artifacts'));
const dir = fixture.dir;
const trained = randomAdapter(fixture.manifest, 31);
const adapterFile = join(root, 'trained.safetensors');
writeSafetensors(adapterFile, new Map(fixture.manifest.parameters.map((p) => [p.name, float32Entry(p.shape, trained.get(p.name)!)])));
// Labels from the trained adapter's own predictions on most rows, so accuracy is known exactly.
const rows = randomRows(fixture.D, [3, 1, 4, 2, 5, 2, 3, 1], 32);
const predicted = rows.map((r) => {
  const l = referenceLogits(fixture, trained, r.x) as number[];
  return l.indexOf(Math.max(...l));
});
const labels = predicted.map((p, i) => (i % 4 === 3 ? (p + 1) % fixture.K : p));
const dataFile = join(root, 'data.jsonl');
writeFileSync(dataFile, rows.map((r, i) => JSON.stringify({ x: r.x, labels: labels[i] })).join('\n') + '\n\n');

const parseLines = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l));

test.serial('infer prints one JSON object per row: label, probabilities, logits, line', async (t) => {
  const r = await run('infer', dir, '--data', dataFile, '--adapter', adapterFile, '--batch', '3');
  t.is(r.code, 0, r.err);
  const out = parseLines(r.out);
  t.is(out.length, rows.length);
  out.forEach((o, i) => {
    t.is(o.line, i + 1);
    t.is(o.label, predicted[i]);
    t.is(o.probabilities.length, fixture.K);
    const want = referenceLogits(fixture, trained, rows[i]!.x) as number[];
    t.true(o.logits.every((v: number, k: number) => Math.abs(v - want[k]!) < 1e-4));
  });
});

test.serial('infer --out writes the file atomically; a checkpoint supplies the values', async (t) => {
  const ckpt = join(root, 'ckpt');
  const params = new Map(fixture.manifest.parameters.map((p) => [p.name, { shape: p.shape, data: trained.get(p.name)! }]));
  writeCheckpoint(ckpt, { step: 7, data: { epoch: 0, batch: 7 }, rng: { seed: 0 }, plan: {}, artifacts: dir, parameters: params, optimizer: new Map() });
  const outFile = join(root, 'results.jsonl');
  const r = await run('infer', dir, '--data', dataFile, '--checkpoint', ckpt, '--out', outFile);
  t.is(r.code, 0, r.err);
  t.is(r.out, '');
  t.regex(r.err, /wrote 8 results/);
  t.deepEqual(parseLines(readFileSync(outFile, 'utf8')).map((o) => o.label), predicted);
  t.deepEqual(readdirSync(root).filter((f) => f.endsWith('.tmp')), []);
});

test.serial('eval prints the task metrics; --json is machine-readable', async (t) => {
  const r = await run('eval', dir, '--data', dataFile, '--adapter', adapterFile, '--json');
  t.is(r.code, 0, r.err);
  const { examples, metrics } = JSON.parse(r.out);
  t.is(examples, rows.length);
  t.is(metrics.accuracy, accuracy(predicted, labels));
  t.is(metrics.accuracy, 0.75);
  t.true(Number.isFinite(metrics.loss) && metrics.loss > 0);
  for (const k of ['f1', 'mcc']) t.true(k in metrics);
  const text = await run('eval', dir, '--data', dataFile, '--adapter', adapterFile);
  t.is(text.code, 0);
  t.regex(text.out, /8 examples, values from .*trained\.safetensors\n {2}loss +\d/);
  t.regex(text.out, /accuracy +0\.750000/);
});

test.serial('export --adapter and --merged; infer with the exported adapter and the merged model agree', async (t) => {
  const outDir = join(root, 'exported');
  const ckpt = join(root, 'ckpt');
  // The output folder does not exist yet: it is created.
  const ok = await run('export', dir, '--checkpoint', ckpt, '--adapter', join(outDir, 'adapter_model.safetensors'), '--merged', join(outDir, 'model.onnx'), '--fold-lora');
  t.is(ok.code, 0, ok.err);
  t.regex(ok.out, /step 7/);
  t.regex(ok.out, /folded LoRA b0\.q into block0\.W/);
  // The merged model's data file is named per export (model.onnx.<12 hex>.data), so a kill never pairs two exports.
  const written = readdirSync(outDir).sort();
  t.deepEqual(written.filter((n) => !/^model\.onnx\.[0-9a-f]{12}\.data$/.test(n)), ['adapter_config.json', 'adapter_model.safetensors', 'model.onnx']);
  t.is(written.length, 4, written.join(', '));
  const config = JSON.parse(readFileSync(join(outDir, 'adapter_config.json'), 'utf8'));
  t.like(config, { method: 'lor2c', source: { kind: 'checkpoint', step: 7 } });

  const viaAdapter = parseLines((await run('infer', dir, '--data', dataFile, '--adapter', join(outDir, 'adapter_model.safetensors'))).out);
  const session = await ort.InferenceSession.create(join(outDir, 'model.onnx'));
  for (const [i, row] of rows.entries()) {
    const x = new ort.Tensor('float32', Float32Array.from(row.x.flat()), [1, row.x.length, fixture.D]);
    const merged = (await session.run({ x })).logits!.data as Float32Array;
    t.true(viaAdapter[i].logits.every((v: number, k: number) => Math.abs(v - merged[k]!) < 1e-5), `row ${i}`);
  }
  await session.release();
});

test.serial('user mistakes: usage errors exit 2, bad inputs exit 1, never a stack trace', async (t) => {
  const cases: [string[], number, RegExp][] = [
    [['infer', dir], 2, /--data FILE is required/],
    [['infer', dir, '--data', dataFile, '--target', 'tpu'], 2, /--target must be cpu or cuda/],
    [['train', dir, '--data', dataFile, '--prepack', 'maybe'], 2, /--prepack must be auto, on or off, got 'maybe'/],
    [['compile', join(root, 'any.lor2c'), '--out', join(root, 'any'), '--update', 'inplace'], 2, /--update must be fused or split, got 'inplace'/],
    [['infer', dir, '--data', dataFile, '--batch', '0'], 2, /--batch must be a positive integer/],
    [['infer', dir, '--data', dataFile, '--adapter', adapterFile, '--checkpoint', 'c'], 2, /not both/],
    [['infer', dir, '--data', dataFile, '--best'], 2, /--best needs --checkpoint/],
    [['export', dir], 2, /say what to export/],
    [['export', dir, '--adapter', 'x.bin'], 2, /must end in \.safetensors/],
    [['export', dir, '--adapter', join(root, 'a.safetensors'), '--fold-lora'], 2, /--fold-lora applies to --merged/],
    [['eval', join(root, 'nowhere'), '--data', dataFile], 1, /manifest\.json is missing/],
    [['infer', dir, '--data', join(root, 'missing.jsonl')], 1, /cannot open data file/],
    [['infer', dir, '--data', dataFile, '--adapter', join(root, 'missing.safetensors')], 1, /cannot open safetensors file .*missing.safetensors: no such file or directory/],
    [['eval', dir, '--data', dataFile, '--checkpoint', join(root, 'nockpt')], 1, /checkpoint not found/],
  ];
  for (const [argv, code, message] of cases) {
    const r = await run(...argv);
    t.is(r.code, code, argv.join(' '));
    t.regex(r.err, message, argv.join(' '));
    t.notRegex(r.err, /\n\s+at /, argv.join(' '));
  }
  const bad = join(root, 'bad.jsonl');
  writeFileSync(bad, `${JSON.stringify({ x: rows[0]!.x })}\n{"x": [[1, 2]]}\n`);
  const r = await run('infer', dir, '--data', bad);
  t.is(r.code, 1);
  t.regex(r.err, /bad\.jsonl:2: 'x\[0\]' has length 2, expected 16/);
  const skipped = await run('infer', dir, '--data', bad, '--skip-invalid');
  t.is(skipped.code, 0);
  t.is(parseLines(skipped.out).length, 1);
  t.regex(skipped.err, /skipped .*bad\.jsonl:2/);
  const wrong = join(root, 'wrong.safetensors');
  writeSafetensors(wrong, { 'head.weight': float32Entry([2, 2], new Float32Array(4)) });
  const mismatch = await run('export', dir, '--merged', join(root, 'm.onnx'), '--checkpoint', join(root, 'ckpt'), '--best');
  t.is(mismatch.code, 1, 'the checkpoint has no best');
  const wrongAdapter = await run('eval', dir, '--data', dataFile, '--adapter', wrong);
  t.is(wrongAdapter.code, 1);
  t.regex(wrongAdapter.err, /does not match the artifacts' parameters/);
  t.false(existsSync(join(root, 'm.onnx')));
  const blocked = join(root, 'a-file');
  writeFileSync(blocked, '');
  const unwritable = await run('export', dir, '--adapter', join(blocked, 'x.safetensors'));
  t.is(unwritable.code, 1);
  t.regex(unwritable.err, /cannot create the folder for .*a-file\/x\.safetensors: (ENOTDIR|EEXIST)/);
});

test.serial('infer warns when the adapter config says it was trained on another base model', async (t) => {
  const file = join(root, 'foreign', 'adapter_model.safetensors');
  t.is((await run('export', dir, '--adapter', file)).code, 0);
  const configFile = join(root, 'foreign', 'adapter_config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8'));
  const quiet = await run('infer', dir, '--data', dataFile, '--adapter', file);
  t.notRegex(quiet.err, /warning/);
  writeFileSync(configFile, JSON.stringify({ ...config, base_model_name_or_path: 'other.onnx', base_model_sha256: 'a'.repeat(64) }));
  const r = await run('infer', dir, '--data', dataFile, '--adapter', file);
  t.is(r.code, 0);
  t.regex(r.err, /warning: adapter_model\.safetensors was trained on base model other\.onnx \(sha256 aaaaaaaaaaaa\.\.\.\), but these artifacts were compiled from hand-built-mlp\.onnx/);
});

test.serial('infer on an LM: the next tokens with probabilities; with --logits the per-position logits cut to each row', async (t) => {
  const lm = writeAdapterArtifacts(join(root, 'lm'), { task: 'lm', outputs: 6 });
  const lmRows = randomRows(lm.D, [4, 2, 3], 33);
  const file = join(root, 'lm.jsonl');
  writeFileSync(file, lmRows.map((r) => JSON.stringify(r)).join('\n'));
  const r = await run('infer', lm.dir, '--data', file, '--batch', '2', '--logits', '--top', '3');
  t.is(r.code, 0, r.err);
  const out = parseLines(r.out);
  const brief = parseLines((await run('infer', lm.dir, '--data', file)).out);
  t.true(brief.every((o) => !('logits' in o) && o.top.length === 5), 'logits only with --logits; 5 next tokens by default');
  const initial = new Map([...readParameterFile(lm.manifest, join(lm.dir, 'adapter.safetensors'))].map(([k, v]) => [k, v.data]));
  out.forEach((o, i) => {
    const want = referenceLogits(lm, initial, lmRows[i]!.x) as number[][];
    t.is(o.logits.length, lmRows[i]!.x.length);
    const last = want.at(-1)!;
    t.is(o.next_token, last.indexOf(Math.max(...last)));
    const exps = last.map((v) => Math.exp(v - Math.max(...last)));
    const probabilities = exps.map((e) => e / exps.reduce((a, b) => a + b, 0));
    const ranked = probabilities.map((p, id) => ({ id, p })).sort((a, b) => b.p - a.p).slice(0, 3);
    t.deepEqual(o.top.map((x: { id: number }) => x.id), ranked.map((x) => x.id));
    t.true(o.top.every((x: { probability: number }, k: number) => Math.abs(x.probability - ranked[k]!.p) < 1e-4));
    t.deepEqual(brief[i].top.slice(0, 3), o.top);
    t.true(o.logits.flat().every((v: number, k: number) => Math.abs(v - want.flat()[k]!) < 1e-4));
  });
});

test.serial('--help for each command exits 0 with its usage', async (t) => {
  for (const name of ['infer', 'export', 'eval', 'generate']) {
    const r = await run(name, '--help');
    t.is(r.code, 0);
    t.regex(r.out, new RegExp(`^Usage: lor2c ${name} DIR`));
  }
});
