/**
 * Masked-LM rows for pretraining the BERT-like encoder: text rows tokenized with a WordPiece
 * tokenizer.json, then BERT's masking written into the file (static masking): 15% of the
 * non-special tokens of each row are chosen (at least one); a chosen token becomes [MASK] 80% of
 * the time, a random ordinary token 10%, stays itself 10%. Its label is the original id; every
 * other position is labelled -100 (the loss's ignore index), so only chosen positions count.
 *
 *   npx tsx examples/pretrain/encoder-mask.ts IN.jsonl --tokenizer tokenizer.json --out OUT.jsonl
 *       [--max-length 64] [--copies 1] [--seed 1] [--rows N]
 *
 * --copies writes each row that many times with different masks (RoBERTa's remedy for static
 * masking over many epochs); a run shorter than one pass gains nothing from more than 1.
 * Output rows: {"input_ids": [...], "attention_mask": [...], "labels": [...]}.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../contract/atomic.ts';
import { parseArgs } from 'node:util';
import { HfTokenizer } from '../../runtime/tokenizer/hf.ts';
import { Prng } from '../models/prng.ts';

const IGNORE = -100;
const MASK_RATE = 0.15;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    tokenizer: { type: 'string' }, out: { type: 'string' }, 'max-length': { type: 'string', default: '64' },
    copies: { type: 'string', default: '1' }, seed: { type: 'string', default: '1' }, rows: { type: 'string' },
  },
});
const integer = (name: string, text: string | undefined, min: number) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${text}`);
  return n;
};
if (positionals.length !== 1 || !values.tokenizer || !values.out) throw new Error('usage: encoder-mask.ts IN.jsonl --tokenizer tokenizer.json --out OUT.jsonl [--max-length 64] [--copies 1] [--seed 1] [--rows N]');
const maxLength = integer('max-length', values['max-length'], 4);
const copies = integer('copies', values.copies, 1);
const seed = integer('seed', values.seed, 0);

const tokenizer = HfTokenizer.load(values.tokenizer);
const id = (token: string) => {
  const v = tokenizer.tokenToId(token);
  if (v === undefined) throw new Error(`${values.tokenizer} has no ${token} token: give a WordPiece tokenizer from \`lor2c tokenizer train --kind wordpiece\``);
  return v;
};
const special = new Set(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map(id));
const maskId = id('[MASK]');
const vocab = tokenizer.vocabSize;
const ordinary = Array.from({ length: vocab }, (_, i) => i).filter((i) => !special.has(i));

let texts = readFileSync(positionals[0]!, 'utf8').split('\n').filter((l) => l.trim()).map((l) => (JSON.parse(l) as { text: string }).text);
if (values.rows !== undefined) texts = texts.slice(0, integer('rows', values.rows, 1));
const encoded = await tokenizer.encode(texts, undefined, maxLength);

const rng = new Prng(seed, 'mlm-mask');
const lines: string[] = [];
let chosenTotal = 0, tokenTotal = 0;
for (let copy = 0; copy < copies; copy++) {
  for (const { ids } of encoded) {
    const candidates = ids.flatMap((t, i) => (special.has(t) ? [] : [i]));
    if (candidates.length === 0) continue;
    // Each candidate chosen with probability 15%; a row with none chosen gets one, so every row has a target.
    let chosen = candidates.filter(() => rng.uniform() < MASK_RATE);
    if (chosen.length === 0) chosen = [candidates[Math.floor(rng.uniform() * candidates.length)]!];
    const input = [...ids];
    const labels = ids.map(() => IGNORE);
    for (const i of chosen) {
      labels[i] = ids[i]!;
      const r = rng.uniform();
      if (r < 0.8) input[i] = maskId;
      else if (r < 0.9) input[i] = ordinary[Math.floor(rng.uniform() * ordinary.length)]!;
    }
    chosenTotal += chosen.length;
    tokenTotal += candidates.length;
    lines.push(JSON.stringify({ input_ids: input, attention_mask: ids.map(() => 1), labels }));
  }
}
writeFileAtomic(values.out, `${lines.join('\n')}\n`);
console.log(`wrote ${values.out}: ${lines.length} rows (${copies} masked cop${copies === 1 ? 'y' : 'ies'} of ${encoded.length}), ${chosenTotal.toLocaleString('en-US')} of ${tokenTotal.toLocaleString('en-US')} tokens masked (${((100 * chosenTotal) / tokenTotal).toFixed(1)}%), vocab ${vocab}`);
