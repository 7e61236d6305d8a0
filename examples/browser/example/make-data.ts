/**
 * Writes the browser example's data (train.jsonl, eval.jsonl beside this file): sequences of
 * 6 to 12 token ids from a vocabulary of 64, label 1 when token 7 occurs. Deterministic (a
 * fixed LCG), so the committed files are what this script writes.
 *
 *   npx tsx examples/browser/example/make-data.ts
 */
import { writeFileSync } from 'node:fs';

let state = 12345;
const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;

function row(): { input_ids: number[]; attention_mask: number[]; label: number } {
  const length = 6 + Math.floor(next() * 7);
  const ids = Array.from({ length }, () => 1 + Math.floor(next() * 63));
  const positive = next() < 0.5;
  const has = ids.includes(7);
  if (positive && !has) ids[Math.floor(next() * length)] = 7;
  if (!positive) for (let i = 0; i < length; i++) if (ids[i] === 7) ids[i] = 8;
  return { input_ids: ids, attention_mask: ids.map(() => 1), label: positive ? 1 : 0 };
}

const lines = (n: number) => Array.from({ length: n }, () => JSON.stringify(row())).join('\n') + '\n';
const here = new URL('.', import.meta.url).pathname;
writeFileSync(`${here}train.jsonl`, lines(256));
writeFileSync(`${here}eval.jsonl`, lines(64));
