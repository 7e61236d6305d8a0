/**
 * A JSONL dataset for a graph, read from a line source (a file: dataset-file.ts; bytes in
 * memory: lines.ts). Opening it streams the file once: every non-blank line is
 * parsed and checked against the schema, and only its byte offset, line number and length are
 * kept, so a file larger than memory is fine. Examples are read back by offset when a batch
 * needs them.
 *
 * Bad rows (policy): by default a bad row is an error at open time, before any training step,
 * listing each bad row as file:line with what is wrong (the first 20; the rest counted), so a run never trains on
 * part of a file and then dies. With `skipInvalid` the bad rows are left out of the dataset and
 * reported in `skipped` for the caller to print. Either way no bad row ever reaches a batch;
 * a row read back later is checked again, and a file changed after opening is an error.
 */
import { UserError } from '../../contract/errors.ts';
import type { LineRef, LineSource } from './lines.ts';
import { checkExample, type CheckedExample, type DataSchema } from './schema.ts';
import { acceptBadRows, BadRows } from './bad-rows.ts';

export interface DatasetOptions {
  /** Leave bad rows out (reported in `skipped`) instead of refusing the file. */
  skipInvalid?: boolean;
}

export class Dataset {
  /** Where each usable example is in the file. */
  readonly refs: LineRef[] = [];
  /** Per-example length (largest symbolic dim), for bucketing and tokens per second. */
  readonly lengths: number[] = [];
  /** Rows left out under `skipInvalid` (counted; the first few with their messages). */
  skipped = new BadRows();
  /** The file's name in messages. */
  readonly path: string;

  private constructor(private readonly reader: LineSource, readonly schema: DataSchema) {
    this.path = reader.name;
  }

  static read(lines: LineSource, schema: DataSchema, opts: DatasetOptions = {}): Dataset {
    const path = lines.name;
    const ds = new Dataset(lines, schema);
    const bad = new BadRows();
    lines.scan((text, ref) => {
      const checked = parseAndCheck(text, schema);
      if (typeof checked === 'string') {
        bad.add(ref.line, checked);
        return;
      }
      ds.refs.push(ref);
      ds.lengths.push(checked.length);
    });
    ds.skipped = acceptBadRows(path, bad, opts.skipInvalid, ds.refs.length, ' (the file is empty)');
    return ds;
  }

  get size(): number {
    return this.refs.length;
  }

  /** Reads, parses and re-checks example `i` (0-based among usable examples). */
  example(i: number): CheckedExample {
    const ref = this.refs[i];
    if (!ref) throw new RangeError(`example ${i} out of range (dataset has ${this.refs.length})`);
    const checked = parseAndCheck(this.reader.read(ref), this.schema);
    if (typeof checked === 'string') {
      throw new UserError(`${this.path}:${ref.line}: ${checked} (the file changed after it was opened)`, 'do not modify a data file while training on it');
    }
    return checked;
  }

  /** Where example `i` came from, as file:line. */
  where(i: number): string {
    return `${this.path}:${this.refs[i]?.line ?? '?'}`;
  }

  close(): void {
    this.reader.close();
  }
}

function parseAndCheck(text: string, schema: DataSchema): CheckedExample | string {
  let row: unknown;
  try {
    row = JSON.parse(text);
  } catch (e) {
    return `not valid JSON (${(e as Error).message})`;
  }
  return checkExample(row, schema);
}
