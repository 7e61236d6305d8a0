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

  lineText(line: number): string {
    const start = this.lineStarts[line - 1] ?? this.text.length;
    const next = this.lineStarts[line];
    const end = next === undefined ? this.text.length : next - 1;
    return this.text.slice(start, end).replace(/\r$/, '');
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

/**
 * Renders one diagnostic: `file:line:col: severity: message`, the source line, a `^~~~`
 * underline (to the end of the line when the range spans lines), and the hint.
 */
export function renderDiagnostic(d: Diagnostic, text: string): string {
  const index = new LineIndex(text, d.range.file);
  const r = d.range;
  const out = [`${r.file}:${r.line}:${r.col}: ${d.severity}: ${d.message}`];
  const line = index.lineText(r.line);
  const startCol = Math.min(r.col, line.length + 1);
  const endCol = r.endLine === r.line ? Math.min(Math.max(r.endCol, startCol + 1), Math.max(line.length + 1, startCol + 1)) : line.length + 1;
  // Keep tabs from the source line in the padding so the caret lines up in a terminal.
  const padding = line.slice(0, startCol - 1).replace(/[^\t]/g, ' ');
  const width = Math.max(1, endCol - startCol);
  out.push(`    ${line}`);
  out.push(`    ${padding}^${'~'.repeat(width - 1)}`);
  if (d.hint) out.push(`  hint: ${d.hint}`);
  return out.join('\n');
}

export function renderDiagnostics(diagnostics: Diagnostic[], text: string): string {
  return sortDiagnostics(diagnostics)
    .map((d) => renderDiagnostic(d, text))
    .join('\n');
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}
