/**
 * The committed pretrained encoder (examples/pretrain/encoder/) as the quickstart uses it: its
 * WordPiece tokenizer fits its vocabulary, it is the bare encoder (no MLM head, no pooler), it
 * goes under a new classification head with write.ts --weights-from, and the quickstart's spec
 * compiles on that with raw text and evaluates a few emails.
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { HfTokenizer } from '../../../runtime/index.ts';
import { readModel, writeModel } from '../../../compiler/onnx/index.ts';
import { buildBert } from '../../../examples/models/index.ts';
import { takeWeights } from '../../../examples/models/weights-from.ts';

const ROOT = new URL('../../../examples/', import.meta.url).pathname;
const HERE = join(ROOT, 'pretrain', 'encoder');
// The sizes examples/pretrain/encoder.sh writes and examples/spam/quickstart.sh reads.
const SIZES = { layers: 4, dModel: 64, heads: 4, ffn: 256, vocabSize: 4000, maxPositions: 64 };

test.serial('encoder.onnx + tokenizer.json: a bare encoder that the quickstart puts under a classifier and adapts', async (t) => {
  const tokenizer = HfTokenizer.load(join(HERE, 'tokenizer.json'));
  t.is(tokenizer.vocabSize, SIZES.vocabSize);
  t.is(tokenizer.tokenToId('[MASK]'), 4);
  const encoder = readModel(join(HERE, 'encoder.onnx'));
  t.deepEqual(encoder.graph!.output.map((o) => o.name), ['last_hidden_state']);
  t.false(encoder.graph!.initializer.some((i) => /^(cls|pooler|classifier)\./.test(i.name)));

  const work = mkdtempSync(join(tmpdir(), 'lor2c-encoder-'));
  const { model } = buildBert({ ...SIZES, head: 'classifier', pooling: 'mean', seed: 1 });
  const { fresh } = takeWeights(model, encoder, 'encoder.onnx');
  t.deepEqual(fresh, ['pooler.dense.weight', 'pooler.dense.bias', 'classifier.weight', 'classifier.bias']);
  const base = join(work, 'base.onnx');
  writeModel(model, base);
  const dir = join(work, 'artifacts');
  const compiled = await runCli('compile', join(ROOT, 'spam', 'spam.lor2c'), '--model', base, '--out', dir);
  t.is(compiled.code, 0, compiled.err);
  const data = join(work, 'emails.jsonl');
  writeFileSync(data, '{"text":"win a free prize click here now","label":"spam"}\n{"text":"re the meeting notes from tuesday are attached","label":"ham"}\n');
  const evaluated = await runCli('eval', dir, '--data', data, '--json');
  t.is(evaluated.code, 0, evaluated.err);
  const { metrics } = JSON.parse(evaluated.out);
  t.true(Number.isFinite(metrics.loss) && metrics.accuracy >= 0 && metrics.accuracy <= 1, evaluated.out);
});
