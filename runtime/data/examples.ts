/**
 * Opening a data file on Node as Examples (examples-contract.ts): token-id JSONL streams as a
 * Dataset, raw text (CSV / TSV, or JSONL with a text field and no input_ids) is tokenized into
 * a TextDataset. `openExamples` picks by what the file holds.
 */
import { closeSync, readSync } from 'node:fs';
import { UserError } from '../../contract/errors.ts';
import { openRegularFile } from '../../contract/regular-file.ts';
import { openDataset } from './dataset-file.ts';
import type { Examples, OpenExamplesOptions } from './examples-contract.ts';
import { MAX_LINE_BYTES } from './jsonl.ts';
import type { DataSchema } from './schema.ts';
import { textFormatOf } from './text-rows.ts';
import { TextDataset, TOKEN_KEYS } from './text-dataset.ts';

export { classCount, type Examples, type OpenExamplesOptions } from './examples-contract.ts';

export async function openExamples(path: string, schema: DataSchema, opts: OpenExamplesOptions): Promise<Examples> {
  const textField = opts.text?.fields.text ?? 'text';
  if (!holdsText(path, textField)) return openDataset(path, schema, { skipInvalid: opts.skipInvalid });
  if (!opts.text) {
    throw new UserError(`${path} holds raw text ('${textField}' rather than ${schema.inputs.filter((s) => TOKEN_KEYS.has(s.key)).map((s) => `'${s.key}'`).join(', ') || 'the model inputs'}), and no tokenizer was given`, 'pass --tokenizer tokenizer.json (or compile with --tokenizer, which keeps it with the artifacts); `lor2c tokenizer train` builds one from a corpus');
  }
  return TextDataset.open(path, schema, opts.text, { skipInvalid: opts.skipInvalid, task: opts.task, classes: opts.classes });
}

/** A CSV/TSV file, or JSONL whose first row has the text field and no input_ids. */
function holdsText(path: string, textField: string): boolean {
  if (textFormatOf(path) !== 'jsonl') return true;
  const first = firstLine(path);
  if (first === undefined) return false;
  try {
    const row = JSON.parse(first) as Record<string, unknown>;
    return row !== null && typeof row === 'object' && typeof row[textField] === 'string' && !Object.hasOwn(row, 'input_ids');
  } catch {
    return false; // the JSONL reader reports it with its line
  }
}

/** The first non-blank line (read up to its end, at most MAX_LINE_BYTES). */
function firstLine(path: string): string | undefined {
  let fd: number;
  try {
    fd = openRegularFile(path, 'data file').fd;
  } catch {
    return undefined; // the JSONL reader reports it
  }
  try {
    const chunks: Buffer[] = [];
    let position = 0;
    let started = false;
    for (;;) {
      const buf = Buffer.alloc(1 << 16);
      const n = readSync(fd, buf, 0, buf.length, position);
      const chunk = buf.subarray(0, n);
      chunks.push(chunk);
      position += n;
      // Done once a line with content has ended (or the file has).
      let ended = false;
      for (const byte of chunk) {
        if (byte === 0x0a) { if (started) { ended = true; break; } } else if (byte > 0x20) started = true;
      }
      if (ended || n === 0 || position > MAX_LINE_BYTES) {
        const text = Buffer.concat(chunks).toString('utf8').replace(/^\uFEFF/, '');
        return text.split('\n').map((l) => l.trim()).find((l) => l !== '');
      }
    }
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
