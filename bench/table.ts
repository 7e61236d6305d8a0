/**
 * Markdown tables and the number formats of BENCHMARKS.md. A missing figure (PyTorch not
 * installed, a run left out) is a dash, never a zero.
 */
import { gib } from './measure.ts';

/** A GitHub-flavoured Markdown table; cells may not hold '|' or line breaks (they would break the row). */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  for (const cell of [...headers, ...rows.flat()]) if (/[|\n]/.test(cell)) throw new Error(`table cell holds '|' or a line break: ${JSON.stringify(cell)}`);
  for (const r of rows) if (r.length !== headers.length) throw new Error(`table row has ${r.length} cells, the header ${headers.length}: ${r.join(' / ')}`);
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

const DASH = '-';
const known = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);

/** a / b to two decimals with an 'x', or a dash when either is missing. */
export function ratio(a: number | undefined, b: number | undefined): string {
  return known(a) && known(b) && b !== 0 ? `${(a / b).toFixed(2)}x` : DASH;
}

export function fixed(x: number | undefined, digits: number): string {
  return known(x) ? x.toFixed(digits) : DASH;
}

export function gibCell(bytes: number | undefined): string {
  return known(bytes) ? gib(bytes) : DASH;
}

/** FLOP/s in GFLOP/s, with its share of a reference rate (the machine's MatMul rate). */
export function rateCell(flopsPerSecond: number | undefined, reference: number): string {
  return known(flopsPerSecond) ? `${(flopsPerSecond / 1e9).toFixed(1)} (${((100 * flopsPerSecond) / reference).toFixed(0)}%)` : DASH;
}
