/**
 * Rows of raw text: JSONL with a text field, or CSV / TSV with a header line (parsed by
 * csv-parse, so quoted fields, embedded newlines and delimiters inside quotes are handled as
 * RFC 4180 says). Each row keeps the line it starts on, for file:line messages.
 */
import { closeSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse } from 'csv-parse/sync';
import { UserError } from '../../contract/errors.ts';
import { openRegularFile } from '../../contract/regular-file.ts';
import { scanLines } from './jsonl.ts';
import { previewValue } from '../preview.ts';

/** Which fields of a row hold what. */
export interface TextFields {
  /** The text (default 'text'). */
  text: string;
  /** The second text of a sentence pair, if the task has pairs. */
  pair?: string;
  /** The label (the task's label key); absent or empty in rows for inference. */
  label?: string;
}

export interface TextRow {
  line: number;
  text: string;
  pair?: string;
  /** As written: a string (CSV, or a JSON string) or a JSON number. */
  label?: string | number;
}

/** A row that could not be read, with its line. */
export interface TextRowProblem {
  line: number;
  message: string;
}

/** A CSV / TSV file is read whole; one larger than this is refused rather than exhausting memory. */
const MAX_CSV_BYTES = 1 << 30;

export type TextFormat = 'jsonl' | 'csv' | 'tsv';

export function textFormatOf(path: string): TextFormat {
  const ext = extname(path).toLowerCase();
  return ext === '.csv' ? 'csv' : ext === '.tsv' || ext === '.tab' ? 'tsv' : 'jsonl';
}

export function readTextRows(path: string, fields: TextFields, needLabel: boolean): { rows: TextRow[]; problems: TextRowProblem[] } {
  const format = textFormatOf(path);
  return format === 'jsonl' ? readJsonl(path, fields, needLabel) : readDelimited(path, format === 'csv' ? ',' : '\t', fields, needLabel);
}

function readJsonl(path: string, fields: TextFields, needLabel: boolean): { rows: TextRow[]; problems: TextRowProblem[] } {
  const rows: TextRow[] = [];
  const problems: TextRowProblem[] = [];
  scanLines(path, (text, ref) => {
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch (e) {
      problems.push({ line: ref.line, message: `not valid JSON (${(e as Error).message})` });
      return;
    }
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      problems.push({ line: ref.line, message: 'expected a JSON object' });
      return;
    }
    const r = toRow(row as Record<string, unknown>, ref.line, fields, needLabel);
    if (typeof r === 'string') problems.push({ line: ref.line, message: r });
    else rows.push(r);
  });
  return { rows, problems };
}

function readDelimited(path: string, delimiter: string, fields: TextFields, needLabel: boolean): { rows: TextRow[]; problems: TextRowProblem[] } {
  let input: Buffer;
  const { fd, stat } = openRegularFile(path, 'data file');
  try {
    if (stat.size > MAX_CSV_BYTES) throw new UserError(`${path}: ${stat.size} bytes; CSV/TSV files are read whole and at most ${MAX_CSV_BYTES} bytes are accepted`, 'convert it to JSONL (one {"text": ..., "label": ...} a line), which is streamed');
    input = readFileSync(fd);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read data file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  } finally {
    closeSync(fd);
  }
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(input, { columns: true, bom: true, delimiter, info: true, skip_empty_lines: true, relax_column_count: false, trim: false }) as typeof records;
  } catch (e) {
    const err = e as Error & { lines?: number; code?: string };
    throw new UserError(`${path}:${err.lines ?? '?'}: ${err.message.replace(/^Invalid Record Length: /, '')}`, `a ${delimiter === ',' ? 'CSV' : 'TSV'} file needs a header line naming its columns, and the same number of fields on every line (quote fields that hold the delimiter)`);
  }
  const rows: TextRow[] = [];
  const problems: TextRowProblem[] = [];
  for (const { record, info } of records) {
    // info.lines is the line where the record ends; a quoted field may span lines, so count back.
    const line = info.lines - countNewlines(record);
    const r = toRow(record, line, fields, needLabel);
    if (typeof r === 'string') problems.push({ line, message: r });
    else rows.push(r);
  }
  if (records.length === 0) throw new UserError(`${path}: no rows after the header line`);
  return { rows, problems };
}

function countNewlines(record: Record<string, string>): number {
  let n = 0;
  for (const v of Object.values(record)) for (let i = v.indexOf('\n'); i >= 0; i = v.indexOf('\n', i + 1)) n++;
  return n;
}

function toRow(obj: Record<string, unknown>, line: number, fields: TextFields, needLabel: boolean): TextRow | string {
  const columns = () => `the row has ${Object.keys(obj).map((k) => `'${k}'`).join(', ') || 'no fields'}`;
  const text = obj[fields.text];
  if (typeof text !== 'string') return text === undefined ? `no '${fields.text}' field (${columns()}; --text-field names the text field)` : `'${fields.text}' must be a string, got ${typeof text}`;
  const row: TextRow = { line, text };
  if (fields.pair !== undefined) {
    const pair = obj[fields.pair];
    if (typeof pair !== 'string') return pair === undefined ? `no '${fields.pair}' field for the pair's second text (${columns()})` : `'${fields.pair}' must be a string, got ${typeof pair}`;
    row.pair = pair;
  }
  if (fields.label !== undefined) {
    const label = obj[fields.label];
    if (label === undefined || label === null || label === '') {
      if (needLabel) return label === undefined ? `no '${fields.label}' field (${columns()})` : `the label '${fields.label}' is empty`;
    } else if (typeof label === 'string' || (typeof label === 'number' && Number.isFinite(label))) {
      row.label = label;
    } else {
      return `the label '${fields.label}' must be a string or a number, got ${previewValue(label)}`;
    }
  }
  return row;
}
