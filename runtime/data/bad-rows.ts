/**
 * The bad rows of a data file, kept bounded: every bad row is counted, but only the
 * LISTED_BAD_ROWS earliest (by line) keep their message. A file with millions of bad rows costs
 * no memory and prints a short summary, whether it is refused or its bad rows are skipped.
 */
import { UserError } from '../../contract/errors.ts';

export interface BadRow {
  line: number;
  message: string;
}

/** Bad rows named one by one in an error or a skip summary; the rest are counted. */
export const LISTED_BAD_ROWS = 20;

export class BadRows {
  /** The earliest bad rows (at most LISTED_BAD_ROWS), in line order. */
  readonly listed: BadRow[] = [];
  /** All bad rows, listed or not. */
  count = 0;

  add(line: number, message: string): void {
    this.count++;
    if (this.listed.length === LISTED_BAD_ROWS && line >= this.listed[LISTED_BAD_ROWS - 1]!.line) return;
    let at = this.listed.length;
    while (at > 0 && this.listed[at - 1]!.line > line) at--;
    this.listed.splice(at, 0, { line, message });
    if (this.listed.length > LISTED_BAD_ROWS) this.listed.pop();
  }

  /** 'PATH:LINE: message' for each listed row, then '... and N more' when some were only counted. */
  lines(path: string): string[] {
    const out = this.listed.map((b) => `${path}:${b.line}: ${b.message}`);
    if (this.count > this.listed.length) out.push(`... and ${this.count - this.listed.length} more bad rows in ${path}`);
    return out;
  }
}

/**
 * The one verdict on a file's bad rows, for every dataset kind: without --skip-invalid any bad row
 * refuses the file (the first LISTED_BAD_ROWS named by line); with it they are skipped, unless
 * nothing usable is left. Returns the rows to record as skipped.
 */
export function acceptBadRows(path: string, bad: BadRows, skipInvalid: boolean | undefined, usable: number, whenEmpty = ''): BadRows {
  if (bad.count > 0 && !skipInvalid) {
    const listed = bad.lines(path).map((l) => `  ${l}`).join('\n');
    throw new UserError(`${path}: ${bad.count} bad row${bad.count === 1 ? '' : 's'}; nothing was trained on this file:\n${listed}`, 'fix the rows, or pass --skip-invalid to leave them out');
  }
  if (usable === 0) throw new UserError(`${path}: no usable examples${bad.count ? ` (${bad.count} bad rows skipped)` : whenEmpty}`);
  return bad;
}
