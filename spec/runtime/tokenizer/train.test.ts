import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HfTokenizer } from '../../../runtime/tokenizer/hf.ts';
import { END_OF_TEXT, trainTokenizer, WORDPIECE_SPECIALS } from '../../../runtime/tokenizer/train.ts';

const dir = mkdtempSync(join(tmpdir(), 'lor2c-tok-'));
const lines = Array.from({ length: 300 }, (_, i) => `Invoice ${i} for the meeting: please review the attached report before friday`);
const corpus = join(dir, 'corpus.csv');
writeFileSync(corpus, `id,text\n${lines.map((l, i) => `${i},"${l}"`).join('\n')}\n`);

function load(json: string, name: string): HfTokenizer {
  const path = join(dir, name);
  writeFileSync(path, json);
  return HfTokenizer.load(path);
}

test('wordpiece: BERT special tokens at 0-4, the vocabulary cut to the size asked, a loadable tokenizer.json', async (t) => {
  const { json, vocabSize, learned } = trainTokenizer({ corpus: [corpus], kind: 'wordpiece', vocabSize: 100 });
  t.is(vocabSize, 100);
  t.true(learned > 100);
  const tok = load(json, 'wp.json');
  t.deepEqual(WORDPIECE_SPECIALS.map((s) => tok.tokenToId(s)), [0, 1, 2, 3, 4]);
  t.is(tok.vocabSize, 100);
  const [e] = await tok.encode(['Please review the report'], undefined, 64);
  t.is(e!.ids[0], 2);
  t.is(e!.ids.at(-1), 3);
  t.false(e!.ids.includes(1), 'every word of the corpus is spelled from kept pieces, no [UNK]');
  t.is(await tok.decode(e!.ids), 'please review the report');
});

test('bpe: byte level, so any text (unseen letters too) round-trips exactly', async (t) => {
  const { json, vocabSize } = trainTokenizer({ corpus: [corpus], kind: 'bpe', vocabSize: 400 });
  t.is(vocabSize, 400);
  const tok = load(json, 'bpe.json');
  t.is(tok.tokenToId(END_OF_TEXT), 0);
  const text = 'Naïve café: ΔΣ 東京 ✓ invoice';
  const [e] = await tok.encode([text], undefined, 256);
  t.is(await tok.decode(e!.ids), text);
  const [common] = await tok.encode(['the meeting'], undefined, 256);
  t.true(common!.ids.length < 'the meeting'.length, 'learned merges shorten common words');
});

test('a file that is not a tokenizer.json is refused saying what it is', (t) => {
  const path = join(dir, 'vocab.txt');
  writeFileSync(path, '[PAD]\n[UNK]\n');
  t.throws(() => HfTokenizer.load(path), { message: /vocab\.txt: not valid JSON/ });
  writeFileSync(path, '{"version":"1.0"}');
  t.throws(() => HfTokenizer.load(path), { message: /not a Hugging Face tokenizer\.json/ });
  t.true(readFileSync(path, 'utf8').length > 0);
});
