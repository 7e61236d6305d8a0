/**
 * `lor2c generate` and `lor2c infer` on a compiled GPT-2-like decoder: greedy decoding checked
 * against an independent float64 forward pass, seeded sampling, the end token, the position
 * limit, a trained checkpoint's adapter, and infer's next-token summary.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGpt2 } from '../../examples/models/index.ts';
import { writeModel } from '../../compiler/onnx/index.ts';
import { gpt2Reference } from '../examples/models/reference.ts';
import { runCli } from '../support/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'lor2c-generate-'));
const SENTENCE = 'the cat sat on the mat and the dog ran to the park';
const MAX_POSITIONS = 16;

const spec = (steps: number) => `model "gpt2.onnx"
lor2c { rank 8; alpha 16; dropout 0 }
train {
  task lm(logits "logits", labels "input_ids", shift true)
  optimizer adamw(lr 3e-2)
  batch 8
  steps ${steps}
  seed 1
}
`;

async function compiled(name: string, init: 'hf' | 'random', tokenizer?: string): Promise<{ dir: string; built: ReturnType<typeof buildGpt2> }> {
  const folder = join(root, name);
  const built = buildGpt2({ layers: 1, dModel: 32, heads: 2, ffn: 64, vocabSize: 300, maxPositions: MAX_POSITIONS, init, seed: 5 });
  mkdirSync(folder, { recursive: true });
  writeModel(built.model, join(folder, 'gpt2.onnx'));
  writeFileSync(join(folder, 'lm.lor2c'), spec(40));
  const dir = join(folder, 'artifacts');
  const r = await runCli('compile', join(folder, 'lm.lor2c'), '--out', dir, ...(tokenizer ? ['--tokenizer', tokenizer, '--max-length', String(MAX_POSITIONS)] : []));
  if (r.code !== 0) throw new Error(r.err);
  return { dir, built };
}

const json = async (...argv: string[]) => {
  const r = await runCli('generate', ...argv, '--json');
  if (r.code !== 0) throw new Error(r.err);
  return { ...(JSON.parse(r.out) as { prompt_ids: number[]; ids: number[]; text?: string; stopped: string }), err: r.err };
};

test.serial('greedy decoding picks the argmax of an independent forward pass at every step', async (t) => {
  const { dir, built } = await compiled('reference', 'random');
  const prompt = [5, 17, 42];
  const got = await json(dir, '--ids', prompt.join(','), '--max-tokens', '8');
  t.is(got.stopped, 'max-tokens');
  const ids = [...prompt];
  for (let step = 0; step < 8; step++) {
    const logits = gpt2Reference(built.model, built.config, { batch: 1, seq: ids.length, ids });
    const last = Array.from(logits.subarray((ids.length - 1) * 300, ids.length * 300));
    const sorted = [...last].sort((a, b) => b - a);
    t.true(sorted[0]! - sorted[1]! > 1e-3, 'no near-tie for float32 to flip');
    ids.push(last.indexOf(sorted[0]!));
  }
  t.deepEqual(got.ids, ids.slice(prompt.length));
  t.deepEqual(got.prompt_ids, prompt);
});

test.serial('sampling repeats with its seed; end token and position limit stop it', async (t) => {
  const { dir } = await compiled('sampling', 'random');
  const sample = (seed: string) => json(dir, '--ids', '1,2,3', '--max-tokens', '10', '--temperature', '1.5', '--top-k', '50', '--seed', seed);
  const a = await sample('1'), b = await sample('1'), c = await sample('2');
  t.deepEqual(a.ids, b.ids);
  t.notDeepEqual(a.ids, c.ids);
  t.regex(a.err, /sampled \(temperature 1\.5, top-k 50, seed 1\)/);

  const greedy = await json(dir, '--ids', '1,2,3', '--max-tokens', '5');
  const end = greedy.ids[greedy.ids.length - 1]!;
  const stopped = await json(dir, '--ids', '1,2,3', '--max-tokens', '5', '--end-id', String(end));
  t.deepEqual(stopped.ids, greedy.ids.slice(0, greedy.ids.indexOf(end) + 1), 'stops right after the end token, which it keeps');
  t.is(stopped.stopped, 'end-token');

  const ten = Array.from({ length: 10 }, (_, i) => i + 1).join(',');
  const limited = await json(dir, '--ids', ten, '--max-tokens', '20');
  t.is(limited.ids.length, MAX_POSITIONS - 10);
  t.is(limited.stopped, 'position-limit');
  t.regex(limited.err, /position limit of 16 tokens reached \(the table 'wpe\.weight' indexed by positions along it has 16 rows\)/);

  const full = await runCli('generate', dir, '--ids', Array.from({ length: MAX_POSITIONS }, () => 1).join(','));
  t.is(full.code, 1);
  t.regex(full.err, /the prompt has 16 tokens; the model takes at most 16 .*leaving no room/);
  const badId = await runCli('generate', dir, '--ids', '1,300');
  t.is(badId.code, 1);
  t.regex(badId.err, /prompt token 2 is 300, not a token id of the model \(0\.\.299\)/);
  const noTokenizer = await runCli('generate', dir, '--prompt', 'hello');
  t.is(noTokenizer.code, 1);
  t.regex(noTokenizer.err, /no tokenizer to read --prompt with/);
  const both = await runCli('generate', dir, '--prompt', 'a', '--ids', '1');
  t.is(both.code, 2);
  const badP = await runCli('generate', dir, '--ids', '1', '--top-p', '1.5');
  t.is(badP.code, 2);
  t.regex(badP.err, /--top-p must be in \(0, 1\]/);
});

test.serial('text in, text out: a LoR2C checkpoint trained on a sentence continues it; infer prints the next tokens', async (t) => {
  const corpus = join(root, 'sentence.jsonl');
  writeFileSync(corpus, Array.from({ length: 64 }, () => JSON.stringify({ text: SENTENCE })).join('\n') + '\n');
  const tokenizer = join(root, 'tokenizer.json');
  t.is((await runCli('tokenizer', 'train', corpus, '--kind', 'bpe', '--vocab-size', '300', '--out', tokenizer)).code, 0);
  const { dir } = await compiled('text', 'hf', tokenizer);
  const trained = await runCli('train', dir, '--data', corpus, '--checkpoint', join(root, 'ckpt'));
  t.is(trained.code, 0, trained.err);

  const before = await runCli('generate', dir, '--prompt', 'the cat', '--max-tokens', '6');
  const after = await runCli('generate', dir, '--prompt', 'the cat', '--max-tokens', '6', '--checkpoint', join(root, 'ckpt'));
  t.is(after.code, 0, after.err);
  t.log(`before: ${before.out.trim()} | after: ${after.out.trim()}`);
  t.true(after.out.startsWith('the cat sat on the'), after.out);
  t.not(before.out, after.out);

  const query = join(root, 'query.jsonl');
  writeFileSync(query, JSON.stringify({ text: 'the cat' }) + '\n');
  const inferred = await runCli('infer', dir, '--data', query, '--checkpoint', join(root, 'ckpt'), '--top', '3');
  t.is(inferred.code, 0, inferred.err);
  const row = JSON.parse(inferred.out);
  t.is(row.top.length, 3);
  t.is(row.top[0].text, ' sat');
  t.is(row.next_token, row.top[0].id);
  t.true(row.top[0].probability >= row.top[1].probability && row.top.reduce((s: number, x: { probability: number }) => s + x.probability, 0) <= 1 + 1e-9);
  t.false('logits' in row, 'no full logits unless asked');
  const withLogits = JSON.parse((await runCli('infer', dir, '--data', query, '--logits', '--top', '1')).out);
  const promptLength = (await json(dir, '--prompt', 'the cat', '--max-tokens', '1')).prompt_ids.length;
  t.is(withLogits.logits.length, promptLength, 'one row per position of "the cat"');
  t.is(withLogits.logits[0].length, 300);
});
