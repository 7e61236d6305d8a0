/**
 * Diagnostics: what the language tools report, with exact positions, and their rendering.
 *
 *   spam.lor2c:4:3: error: unknown setting `alpah` in `lor2c`
 *       alpah 16
 *       ^~~~~
 *     hint: did you mean `alpha`?
 */

/**
 * A span of source text. `line`/`col` are 1-based; `endLine`/`endCol` point just past the last
 * character (so a one-character range has endCol = col + 1). `offset`/`length` count UTF-16
 * code units from the start of the text, like JavaScript string indices.
 */
export interface SourceRange {
  file: string;
  line: number;
  col: number;
  endLine: number;
  endCol: number;
  offset: number;
  length: number;
}

export type Severity = 'error' | 'warning' | 'note';

export interface Diagnostic {
  severity: Severity;
  /** Stable, kebab-case: `syntax`, `unknown-setting`, `overlapping-spans`, ... (listed in spec/language.md). */
  code: string;
  message: string;
  hint?: string;
  range: SourceRange;
}

/** Maps offsets to 1-based line/column; built once per text. */
export class LineIndex {
  private readonly lineStarts: number[] = [0];

  constructor(
    readonly text: string,
    readonly file: string,
  ) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }

  position(offset: number): { line: number; col: number } {
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= clamped) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: clamped - this.lineStarts[lo]! + 1 };
  }

  /** A range from a start offset and a length, both clamped into the text. */
  range(offset: number, length: number): SourceRange {
    const start = Number.isFinite(offset) ? Math.max(0, Math.min(Math.trunc(offset), this.text.length)) : this.text.length;
    const end = Math.max(start, Math.min(start + Math.max(0, Math.trunc(length) || 0), this.text.length));
    const a = this.position(start);
    const b = this.position(end);
    return { file: this.file, line: a.line, col: a.col, endLine: b.line, endCol: b.col, offset: start, length: end - start };
  }

  /** The smallest range covering both. */
  span(first: SourceRange, last: SourceRange): SourceRange {
    const start = Math.min(first.offset, last.offset);
    const end = Math.max(first.offset + first.length, last.offset + last.length);
    return this.range(start, end - start);
  }

  /** Characters on a line, without its line break (and a `\r` before it). */
  lineLength(line: number): number {
    const [start, end] = this.lineBounds(line);
    return end - start;
  }

  lineText(line: number): string {
    const [start, end] = this.lineBounds(line);
    return this.text.slice(start, end);
  }

  /** Columns `fromCol` up to (not including) `toCol` of a line: copies only that part of a long line. */
  lineSlice(line: number, fromCol: number, toCol: number): string {
    const [start, end] = this.lineBounds(line);
    return this.text.slice(Math.min(end, start + fromCol - 1), Math.min(end, start + toCol - 1));
  }

  private lineBounds(line: number): [number, number] {
    const start = this.lineStarts[line - 1] ?? this.text.length;
    const next = this.lineStarts[line];
    let end = next === undefined ? this.text.length : next - 1;
    if (end > start && this.text.charCodeAt(end - 1) === 13) end--;
    return [start, end];
  }
}

/** Source order (how people read a file); at one position errors before warnings before notes. */
export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  const rank: Record<Severity, number> = { error: 0, warning: 1, note: 2 };
  return [...diagnostics].sort(
    (a, b) =>
      a.range.offset - b.range.offset ||
      rank[a.severity] - rank[b.severity] ||
      a.range.length - b.range.length ||
      a.message.localeCompare(b.message),
  );
}

/** At most this many diagnostics are rendered; the rest are counted in one closing line. */
export const RENDERED_DIAGNOSTICS_LIMIT = 20;

/**
 * A source line longer than this is shown as a window of about this many characters around
 * the diagnostic's column, so one huge line never prints (or copies) more than that per diagnostic.
 */
export const EXCERPT_WIDTH = 120;

/** The part of a source line to show for a range starting at `col` (1-based): `text`, and the columns it covers. */
function excerpt(index: LineIndex, line: number, col: number): { text: string; firstCol: number; lastCol: number; cutStart: boolean; cutEnd: boolean } {
  const length = index.lineLength(line);
  if (length <= EXCERPT_WIDTH) return { text: index.lineSlice(line, 1, length + 1), firstCol: 1, lastCol: length + 1, cutStart: false, cutEnd: false };
  // Centre the window on the start of the range, keeping a little context before it.
  const before = Math.floor(EXCERPT_WIDTH / 3);
  const firstCol = Math.max(1, Math.min(col - before, length + 1 - EXCERPT_WIDTH));
  const lastCol = Math.min(length + 1, firstCol + EXCERPT_WIDTH);
  return { text: index.lineSlice(line, firstCol, lastCol), firstCol, lastCol, cutStart: firstCol > 1, cutEnd: lastCol < length + 1 };
}

/** Longest name or value quoted in full in a rendered message; longer ones keep their two ends. */
const QUOTED_WIDTH = 60;

/** A message quoting what the user wrote (`name`) stays short however long that was. */
function shorten(message: string): string {
  // Backticks pair up from the left, as in the messages' markdown-like quoting.
  const clipped = message.replace(/`[^`]*`/g, (q) => (q.length - 2 <= QUOTED_WIDTH ? q : `${q.slice(0, QUOTED_WIDTH / 2)}...${q.slice(-QUOTED_WIDTH / 4)} (${(q.length - 2).toLocaleString('en-US')} characters)`));
  return clipped.length > 4 * EXCERPT_WIDTH ? `${clipped.slice(0, 4 * EXCERPT_WIDTH)}...` : clipped;
}

/** One diagnostic against an index built once for all of them. */
function renderWith(d: Diagnostic, index: LineIndex): string {
  const r = d.range;
  const out = [`${r.file}:${r.line}:${r.col}: ${d.severity}: ${shorten(d.message)}`];
  const lineLength = index.lineLength(r.line);
  const startCol = Math.min(r.col, lineLength + 1);
  const endCol = r.endLine === r.line ? Math.min(Math.max(r.endCol, startCol + 1), Math.max(lineLength + 1, startCol + 1)) : lineLength + 1;
  const shown = excerpt(index, r.line, startCol);
  // Columns of the shown text; an elided part is marked with `...` (which shifts the caret by 3).
  const lead = shown.cutStart ? '...' : '';
  const caretStart = Math.max(shown.firstCol, startCol);
  const caretEnd = Math.max(caretStart + 1, Math.min(endCol, shown.lastCol + (shown.cutEnd ? 0 : 1)));
  // Keep tabs from the source line in the padding so the caret lines up in a terminal.
  const padding = lead.replace(/./g, ' ') + shown.text.slice(0, caretStart - shown.firstCol).replace(/[^\t]/g, ' ');
  out.push(`    ${lead}${shown.text}${shown.cutEnd ? '...' : ''}`);
  out.push(`    ${padding}^${'~'.repeat(caretEnd - caretStart - 1)}`);
  if (d.hint) out.push(`  hint: ${shorten(d.hint)}`);
  return out.join('\n');
}

/**
 * Renders one diagnostic: `file:line:col: severity: message`, the source line (a window of it
 * when long), a `^~~~` underline (to the end of the line when the range spans lines), and the hint.
 */
export function renderDiagnostic(d: Diagnostic, text: string): string {
  return renderWith(d, new LineIndex(text, d.range.file));
}

const count = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

/**
 * Renders diagnostics in source order, at most `limit` of them (RENDERED_DIAGNOSTICS_LIMIT by
 * default); the rest are summed up in a last line (`... and 3,980 more: 3,980 errors`).
 */
export function renderDiagnostics(diagnostics: Diagnostic[], text: string, limit = RENDERED_DIAGNOSTICS_LIMIT): string {
  const sorted = sortDiagnostics(diagnostics);
  if (sorted.length === 0) return '';
  const index = new LineIndex(text, sorted[0]!.range.file);
  const shown = sorted.slice(0, Math.max(0, limit)).map((d) => renderWith(d, index));
  const rest = sorted.slice(shown.length);
  if (rest.length > 0) {
    const bySeverity = (['error', 'warning', 'note'] as const).map((s) => [s, rest.filter((d) => d.severity === s).length] as const).filter(([, n]) => n > 0);
    shown.push(`... and ${rest.length.toLocaleString('en-US')} more: ${bySeverity.map(([s, n]) => count(n, s)).join(', ')} (fix the ones above first; they often cause the rest)`);
  }
  return shown.join('\n');
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}
