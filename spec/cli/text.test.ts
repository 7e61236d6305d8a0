/**
 * Raw text end to end through the CLI, as a user with a CSV and no token ids would: build a
 * tokenizer, compile with it, train and evaluate on CSV with string labels, infer label names.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBert } from '../../examples/models/index.ts';
import { writeModel } from '../../compiler/onnx/index.ts';
import { runCli } from '../support/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'lor2c-text-cli-'));
const spamWords = ['win', 'money', 'prize', 'free', 'click', 'offer', 'cash'];
const hamWords = ['meeting', 'notes', 'report', 'lunch', 'project', 'review', 'team'];

function rows(n: number, seed: number): string {
  const lines = ['text,label'];
  for (let i = 0; i < n; i++) {
    const spam = (i + seed) % 2 === 0;
    const words = spam ? spamWords : hamWords;
    const text = Array.from({ length: 5 }, (_, j) => words[(i * 3 + j * 5 + seed) % words.length]).join(' ');
    lines.push(`"${text}, the ${i}",${spam ? 'spam' : 'ham'}`);
  }
  return lines.join('\n') + '\n';
}

test.serial('tokenizer train -> compile --tokenizer -> train / eval on CSV with string labels -> infer prints names', async (t) => {
  const train = join(root, 'train.csv'), dev = join(root, 'dev.csv');
  writeFileSync(train, rows(64, 0));
  writeFileSync(dev, rows(20, 1));
  const tok = await runCli('tokenizer', 'train', train, '--out', join(root, 'tokenizer.json'), '--vocab-size', '200');
  t.is(tok.code, 0, tok.err);
  t.regex(tok.out, /wordpiece, \d+ tokens/);

  writeModel(buildBert({ layers: 1, dModel: 32, heads: 2, ffn: 64, vocabSize: 200, seed: 3 }).model, join(root, 'bert.onnx'));
  writeFileSync(join(root, 'spec.lor2c'), `model "bert.onnx"
lor2c { rank 4; alpha 8; dropout 0 }
train {
  task classify(logits "logits", labels "label")
  trainable "*"
  optimizer adamw(lr 3e-3)
  batch 8
  steps 40
  seed 1
}
`);
  const dir = join(root, 'artifacts');
  const compiled = await runCli('compile', join(root, 'spec.lor2c'), '--out', dir, '--tokenizer', join(root, 'tokenizer.json'), '--max-length', '16');
  t.is(compiled.code, 0, compiled.err);
  const trained = await runCli('train', dir, '--data', train, '--eval-data', dev, '--checkpoint', join(root, 'ckpt'));
  t.is(trained.code, 0, trained.err);
  t.log(trained.out.split("\n").slice(-3).join(" | "));
  t.regex(trained.err, /labels ham=0, spam=1/);
  t.notRegex(trained.err, /warning/);
  t.regex(trained.out, /eval .*f1\(spam\) /, 'F1 is class id 1\'s, and the line says which label that is');
  const kept = JSON.parse(readFileSync(join(dir, 'text.json'), 'utf8'));
  t.deepEqual(kept.labels.id2label, { 0: 'ham', 1: 'spam' });
  t.is(kept.maxLength, 16);

  const evaluated = await runCli('eval', dir, '--data', dev, '--json', '--checkpoint', join(root, 'ckpt'));
  t.is(evaluated.code, 0, evaluated.err);
  const accuracy = JSON.parse(evaluated.out).metrics.accuracy;
  t.log(`dev accuracy after 40 steps: ${accuracy}`);
  t.true(accuracy >= 0.9, `accuracy ${accuracy}`);
  t.deepEqual(Object.keys(JSON.parse(evaluated.out).metrics), ['loss', 'accuracy', 'f1', 'mcc'], 'the JSON key stays f1');
  const shown = await runCli('eval', dir, '--data', dev, '--checkpoint', join(root, 'ckpt'));
  t.is(shown.code, 0, shown.err);
  t.regex(shown.out, /^ {2}f1\(spam\) {2}\d\.\d{6}$/m);

  // A positive class that is not one of the labels is refused before evaluating, naming them.
  writeFileSync(join(root, 'junk.lor2c'), readFileSync(join(root, 'spec.lor2c'), 'utf8').replace('labels "label")', 'labels "label", positive "junk")'));
  const junkDir = join(root, 'junk-artifacts');
  const junk = await runCli('compile', join(root, 'junk.lor2c'), '--out', junkDir, '--tokenizer', join(root, 'tokenizer.json'), '--max-length', '16');
  t.is(junk.code, 0, junk.err);
  t.is(JSON.parse(readFileSync(join(junkDir, 'manifest.json'), 'utf8')).task.positive, 'junk');
  const refused = await runCli('eval', junkDir, '--data', dev);
  t.is(refused.code, 1);
  t.regex(refused.err, /positive "junk"\): no such label; the labels are "ham", "spam"/);
  t.notRegex(refused.err, /\n\s+at /, 'no stack trace');

  const query = join(root, 'query.csv');
  writeFileSync(query, 'text\n"free cash prize, click"\n"team meeting notes"\n');
  const inferred = await runCli('infer', dir, '--data', query, '--checkpoint', join(root, 'ckpt'));
  t.is(inferred.code, 0, inferred.err);
  const out = inferred.out.trim().split('\n').map((l) => JSON.parse(l));
  t.deepEqual(out.map((r) => [r.line, r.label]), [[2, 'spam'], [3, 'ham']]);
  t.deepEqual(out.map((r) => r.label_id), [1, 0]);

  writeFileSync(join(root, 'bad.csv'), 'text,label\nwin money,spam\nlunch,maybe\n');
  const bad = await runCli('eval', dir, '--data', join(root, 'bad.csv'));
  t.is(bad.code, 1);
  t.regex(bad.err, /bad\.csv:3: unknown label "maybe": the labels are "ham", "spam"/);
  t.notRegex(bad.err, /\n\s+at /, 'no stack trace');
});

test.serial('the spec names the tokenizer and the text settings (`text { }`); a flag overrides its setting', async (t) => {
  const train = join(root, 'spec-train.csv');
  writeFileSync(train, rows(24, 2));
  const tok = await runCli('tokenizer', 'train', train, '--out', join(root, 'spec-tokenizer.json'), '--vocab-size', '200');
  t.is(tok.code, 0, tok.err);
  writeModel(buildBert({ layers: 1, dModel: 32, heads: 2, ffn: 64, vocabSize: 200, seed: 4 }).model, join(root, 'spec-bert.onnx'));
  const spec = join(root, 'text.lor2c');
  writeFileSync(spec, `model "spec-bert.onnx"
text {
  tokenizer "spec-tokenizer.json"   # relative to the spec, like the model
  max_length 12
  labels ["spam", "ham"]
}
lor2c { rank 4; alpha 8; dropout 0 }
train {
  task classify(logits "logits", labels "label")
  batch 8
  steps 3
}
`);
  const dir = join(root, 'spec-artifacts');
  const compiled = await runCli('compile', spec, '--out', dir);
  t.is(compiled.code, 0, compiled.err);
  t.regex(compiled.out, /text .*tokenizer .*spec-tokenizer\.json/);
  const kept = JSON.parse(readFileSync(join(dir, 'text.json'), 'utf8'));
  t.is(kept.maxLength, 12);
  t.deepEqual(kept.labels.id2label, { 0: 'spam', 1: 'ham' }, 'the spec\'s order, not sorted');
  const trained = await runCli('train', dir, '--data', train);
  t.is(trained.code, 0, trained.err);
  t.regex(trained.out, /done at step 3/);

  const overridden = await runCli('compile', spec, '--out', dir, '--max-length', '10');
  t.is(overridden.code, 0, overridden.err);
  t.is(JSON.parse(readFileSync(join(dir, 'text.json'), 'utf8')).maxLength, 10);

  writeFileSync(join(root, 'no-tokenizer.lor2c'), 'model "spec-bert.onnx"\ntext {\n  max_length 12\n}\ntrain { task classify(logits "logits", labels "label") }\n');
  const refused = await runCli('compile', join(root, 'no-tokenizer.lor2c'), '--out', join(root, 'never'));
  t.is(refused.code, 1);
  t.regex(refused.err, /no-tokenizer\.lor2c:2:1.*`text \{ \}` needs the tokenizer/s);
  t.regex(refused.err, /tokenizer "tokenizer\.json"/);
});

test.serial('a label map fixed from data of one class, for a model of two, is kept with a warning naming the missing id', async (t) => {
  const dir = join(root, 'one-class');
  const compiled = await runCli('compile', join(root, 'spec.lor2c'), '--out', dir, '--tokenizer', join(root, 'tokenizer.json'), '--max-length', '16');
  t.is(compiled.code, 0, compiled.err);
  const hamOnly = join(root, 'ham-only.csv');
  writeFileSync(hamOnly, rows(16, 0).split('\n').filter((l, i) => i === 0 || l.endsWith(',ham')).join('\n') + '\n');
  const trained = await runCli('train', dir, '--data', hamOnly, '--steps', '1', '--checkpoint', join(root, 'ckpt-one'));
  t.is(trained.code, 0, trained.err);
  t.regex(trained.err, /warning: the data has 1 label \(ham\) but the model's logits have 2 classes; id 1 has no name\. .*labels \[\.\.\.\]/);
});
