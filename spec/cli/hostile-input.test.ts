/**
 * Absurd sizes and malformed values in what the user gives lor2c (specs, models, data files,
 * checkpoints): each is a clear error naming what is wrong, never a stack trace or a hang.
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBert, buildLlama } from '../../examples/models/index.ts';
import { compileSpecFile } from '../../compiler/compile.ts';
import { writeModel } from '../../compiler/onnx/index.ts';
import { runCli } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'lor2c-hostile-'));
const model = join(dir, 'bert.onnx');
writeModel(buildBert({ layers: 2, dModel: 16, heads: 2, ffn: 32, vocabSize: 30, seed: 2 }).model, model);
const spec = (lor2c: string, train = '') => `model "${model}"\nlor2c {\n  ${lor2c}\n}\ntrain {\n  task classify(logits "logits", labels "label")\n  ${train}\n}\n`;

/** No stack frame lines ("    at f (file:1:2)") in what the CLI printed. */
function noStackTrace(t: { notRegex: (s: string, r: RegExp) => void }, text: string): void {
  t.notRegex(text, /^\s+at .+:\d+:\d+\)?$/m);
}

test.serial('rank 1e9 is refused at compile with the width it cannot exceed', async (t) => {
  writeFileSync(join(dir, 'rank.lor2c'), spec('rank 1000000000'));
  const r = await runCli('compile', join(dir, 'rank.lor2c'), '--out', join(dir, 'rank-art'));
  t.is(r.code, 1, r.err);
  t.regex(r.err, /rank 1000000000 of b0 is larger than the width 16 it factors/);
  noStackTrace(t, r.err);
});

test.serial('an integer setting beyond exact integers (seed 1e300) is a positioned spec error', async (t) => {
  writeFileSync(join(dir, 'seed.lor2c'), spec('rank 2', 'seed 1e300'));
  const r = await runCli('check', join(dir, 'seed.lor2c'));
  t.is(r.code, 1, r.out + r.err);
  t.regex(r.out + r.err, /seed.lor2c:7:\d+: error: seed is too large for an integer/);
});

const bertArt = join(dir, 'bert-art');
const row = (ids: number[], label: number) => JSON.stringify({ input_ids: ids, attention_mask: ids.map(() => 1), label });
const good = Array.from({ length: 7 }, (_, i) => row([1 + i, 2, 3], i % 2));

for (const [what, bad, message] of [
  ['label -1 (would train as class 1)', row([1, 2, 3], -1), /'label' is -1, outside \[0, 1\]: the logits 'logits' have 2 classes/],
  ['label 5 of 2 classes', row([1, 2, 3], 5), /'label' is 5, outside \[0, 1\]: the logits 'logits' have 2 classes/],
  ['token -5 (would read row vocab-5)', row([1, -5, 3], 0), /'input_ids\[1\]' is -5, outside \[0, 29\]: the table '.*word_embeddings.*' it indexes has 30 rows/],
  ['a token past the vocabulary', row([1, 30, 3], 0), /'input_ids\[1\]' is 30, outside \[0, 29\]/],
  ['a sequence longer than the position table', row(Array.from({ length: 129 }, () => 1), 0), /'input_ids' has length 129, longer than the model takes \(128\): the table '.*position_embeddings.*' indexed by positions along it has 128 rows/],
] as const) {
  test.serial(`train refuses ${what} before step 1, naming file:line`, async (t) => {
    if (!(await import('node:fs')).existsSync(bertArt)) {
      writeFileSync(join(dir, 'bert.lor2c'), spec('rank 2', 'batch 4'));
      compileSpecFile(join(dir, 'bert.lor2c'), { out: bertArt });
    }
    const data = join(dir, `bad-${what.replace(/\W+/g, '-')}.jsonl`);
    writeFileSync(data, [...good.slice(0, 5), bad, ...good.slice(5)].join('\n'));
    const r = await runCli('train', bertArt, '--data', data, '--steps', '2');
    t.is(r.code, 1, r.err);
    t.true(r.err.includes(`${data}:6: `), r.err);
    t.regex(r.err, message);
    t.notRegex(r.err, /step 1\//);
    noStackTrace(t, r.err);
    // The same check guards evaluation data and inference.
    const e = await runCli('eval', bertArt, '--data', data);
    t.is(e.code, 1, e.err);
    t.regex(e.err, message);
  });
}

test.serial('a language model: label ids are token ids or the ignore index; positions of rotary tables bound the length', async (t) => {
  const lm = join(dir, 'llama.onnx');
  writeModel(buildLlama({ layers: 2, dModel: 16, heads: 2, ffn: 32, vocabSize: 40, maxPositions: 16, seed: 3 }).model, lm);
  writeFileSync(join(dir, 'lm.lor2c'), `model "${lm}"\nlor2c {\n  rank 2\n}\ntrain {\n  task lm(logits "logits", labels "input_ids")\n  batch 2\n}\n`);
  const art = join(dir, 'lm-art');
  compileSpecFile(join(dir, 'lm.lor2c'), { out: art });
  const ok = [JSON.stringify({ input_ids: [1, 2, 3] }), JSON.stringify({ input_ids: [4, 5, 39] })];
  const data = join(dir, 'lm.jsonl');
  writeFileSync(data, [...ok, JSON.stringify({ input_ids: [1, 40] })].join('\n'));
  const r = await runCli('train', art, '--data', data, '--steps', '1');
  t.is(r.code, 1, r.err);
  t.regex(r.err, new RegExp(`${data.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: 'input_ids\\[1\\]' is 40, outside \\[0, 39\\]`));
  writeFileSync(data, [...ok, JSON.stringify({ input_ids: Array.from({ length: 17 }, () => 1) })].join('\n'));
  const long = await runCli('train', art, '--data', data, '--steps', '1');
  t.is(long.code, 1, long.err);
  t.regex(long.err, /:3: 'input_ids' has length 17, longer than the model takes \(16\)/);
  writeFileSync(data, ok.join('\n'));
  t.is((await runCli('train', art, '--data', data, '--steps', '1')).code, 0);
});
