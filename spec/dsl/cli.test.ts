/** `lor2c check` and `lor2c fmt` through the CLI entry point: output and exit codes. */
import test from 'ava';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../support/cli.ts';
import { buildBert } from '../../examples/models/index.ts';
import { writeModel } from '../../compiler/onnx/index.ts';

const run = runCli;

const dir = mkdtempSync(path.join(tmpdir(), 'lor2c-dsl-cli-'));
const good = path.join(dir, 'good.lor2c');
writeFileSync(good, 'model "m.onnx"\nlor2c {rank 8;alpha 16}  # modules\n');
const bad = path.join(dir, 'bad.lor2c');
writeFileSync(bad, 'lor2c {\n  alpah 16\n');

// ava runs tests of a file concurrently; console capture must not interleave.
test.serial('check: clean spec exits 0 with a summary', async (t) => {
  const r = await run('check', good);
  t.is(r.code, 0, r.err);
  t.regex(r.out, /good\.lor2c: ok/);
  t.regex(r.out, /lor2c lor2c: all blocks, span 1, rank 8, alpha 16/);
});

test.serial('check: diagnostics exit 1, rendered with position and hint', async (t) => {
  const r = await run('check', bad);
  t.is(r.code, 1);
  t.regex(r.err, /bad\.lor2c:2:3: error: unknown setting `alpah` in `lor2c \{ \}`\n {4} {2}alpah 16\n {4} {2}\^~~~~\n {2}hint: did you mean `alpha`\?/);
  t.regex(r.err, /expected `\}` but the file ended/);
});

test.serial('check --model: the model decides block ranges and the parameter report', async (t) => {
  const model = path.join(dir, 'bert.onnx');
  writeModel(buildBert({ layers: 3, dModel: 32, heads: 2, ffn: 64 }).model, model);
  const ok = await run('check', good, '--model', model);
  t.is(ok.code, 0, ok.err);
  t.regex(ok.out, /blocks {6}3 \(post-ln, hidden 32\)/);
  t.regex(ok.out, /total +1,536 /); // 3 modules x 2 x d 32 x r 8
  const tooFar = path.join(dir, 'far.lor2c');
  writeFileSync(tooFar, 'lor2c {\n  blocks 0..5\n}\n');
  const far = await run('check', tooFar, '--model', model);
  t.is(far.code, 1);
  t.regex(far.err, /far\.lor2c:2:3: error: blocks 0\.\.5 but the model has 3 blocks/);
  const missing = await run('check', good, '--model', path.join(dir, 'absent.onnx'));
  t.is(missing.code, 1);
  t.regex(missing.err, /cannot read model .*absent\.onnx/);
});

test.serial('check and fmt: usage errors exit 2; --help exits 0', async (t) => {
  t.is((await run('check')).code, 2);
  t.is((await run('check', good, '--bogus')).code, 2);
  t.is((await run('fmt')).code, 2);
  t.is((await run('fmt', good, '--write', '--check')).code, 2);
  const help = await run('fmt', '--help');
  t.is(help.code, 0);
  t.regex(help.out, /Usage: lor2c fmt SPEC\.lor2c/);
});

test.serial('check: a missing file exits 1', async (t) => {
  const r = await run('check', path.join(dir, 'nope.lor2c'));
  t.is(r.code, 1);
  t.regex(r.err, /cannot open spec .*nope\.lor2c: no such file or directory/);
});

test.serial('fmt prints, --check detects, --write rewrites atomically', async (t) => {
  const expected = 'model "m.onnx"\nlor2c {\n  rank 8\n  alpha 16\n}  # modules\n';
  const printed = await run('fmt', good);
  t.is(printed.code, 0);
  t.is(printed.out, expected);
  t.is((await run('fmt', good, '--check')).code, 1);
  t.is((await run('fmt', good, '--write')).code, 0);
  t.is(readFileSync(good, 'utf8'), expected);
  t.is((await run('fmt', good, '--check')).code, 0);
  t.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temp file left');
});

test.serial('fmt refuses a spec with syntax errors and leaves it alone', async (t) => {
  const before = readFileSync(bad, 'utf8');
  const r = await run('fmt', bad, '--write');
  t.is(r.code, 1);
  t.regex(r.err, /not formatted/);
  t.is(readFileSync(bad, 'utf8'), before);
});
