/**
 * A provider's kernel table (the format cuda-kernels.ts documents) read into per-op entries,
 * and the question the compiler asks of it: does this node, at this opset and with these
 * element types, have a kernel?
 */
import { DataType } from '../onnx/dtype.ts';

export interface KernelRange {
  from: number;
  /** Inclusive; Infinity for `N+`. */
  to: number;
  /** Type constraint -> the element types (ORT's names) registered for it in this range. */
  constraints: Map<string, ReadonlySet<string>>;
}

export interface KernelEntry {
  domain: string;
  op: string;
  /** Per input / output: alternatives, each a constraint name or a fixed ORT type name; [] = not checked. */
  inputs: string[][];
  outputs: string[][];
  ranges: KernelRange[];
}

/** domain -> op -> entry. */
export type KernelTable = Map<string, Map<string, KernelEntry>>;

const FIXED_TYPES = new Set(['bool', 'double', 'float', 'float16', 'bfloat16', 'int4', 'int8', 'int16', 'int32', 'int64', 'uint4', 'uint8', 'uint16', 'uint32', 'uint64', 'string']);

export function parseKernelTable(text: string, groups: Readonly<Record<string, string>>): KernelTable {
  const table: KernelTable = new Map();
  let domain: string | undefined;
  const expand = (list: string): Set<string> => new Set(list.split(',').flatMap((t) => (groups[t] ?? t).split(',')));
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line) continue;
    const where = `kernel table line ${i + 1}`;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      domain = header[1] === 'ai.onnx' ? '' : header[1]!;
      if (!table.has(domain)) table.set(domain, new Map());
      continue;
    }
    if (domain === undefined) throw new Error(`internal error: ${where} comes before any [domain]`);
    // Signatures hold `X|Y` alternatives without spaces; ranges are set off by ' | '.
    const [head, ...parts] = line.split(' | ').map((s) => s.trim());
    const m = /^(\S+) in=(\S*) out=(\S*)$/.exec(head!);
    if (!m) throw new Error(`internal error: ${where}: expected 'Op in=... out=...', got '${head}'`);
    const signature = (s: string) => (s === '' ? [] : s.split(',').map((p) => (p === '-' ? [] : p.split('|'))));
    const entry: KernelEntry = { domain, op: m[1]!, inputs: signature(m[2]!), outputs: signature(m[3]!), ranges: [] };
    for (const p of parts) {
      const r = /^(\d+)(\+|-(\d+))?(?:\s+(.*))?$/.exec(p);
      if (!r) throw new Error(`internal error: ${where}: bad range '${p}'`);
      const from = Number(r[1]);
      const to = r[2] === '+' ? Infinity : r[3] ? Number(r[3]) : from;
      const constraints = new Map<string, ReadonlySet<string>>();
      for (const c of (r[4] ?? '').split(';').filter(Boolean)) {
        const [name, list] = c.split('=');
        if (!name || !list) throw new Error(`internal error: ${where}: bad constraint '${c}'`);
        constraints.set(name, expand(list));
      }
      entry.ranges.push({ from, to, constraints });
    }
    table.get(domain)!.set(entry.op, entry);
  }
  return table;
}

/** ORT's name of an ONNX element type ('float', 'int64', ...). */
export function ortTypeName(dtype: number): string | undefined {
  return ORT_NAMES[dtype];
}

const ORT_NAMES: Record<number, string> = {
  [DataType.FLOAT]: 'float', [DataType.DOUBLE]: 'double', [DataType.FLOAT16]: 'float16', [DataType.BFLOAT16]: 'bfloat16',
  [DataType.INT8]: 'int8', [DataType.INT16]: 'int16', [DataType.INT32]: 'int32', [DataType.INT64]: 'int64',
  [DataType.UINT8]: 'uint8', [DataType.UINT16]: 'uint16', [DataType.UINT32]: 'uint32', [DataType.UINT64]: 'uint64',
  [DataType.BOOL]: 'bool', [DataType.STRING]: 'string',
};

export type KernelVerdict =
  | { ok: true }
  | { ok: false; reason: 'no-op' }
  | { ok: false; reason: 'no-opset'; registered: string }
  | { ok: false; reason: 'type'; slot: 'input' | 'output'; index: number; type: string; constraint: string; accepted: string[]; range: string };

export function formatRange(r: KernelRange): string {
  return r.to === Infinity ? `${r.from}+` : r.to === r.from ? `${r.from}` : `[${r.from}, ${r.to}]`;
}

/**
 * Whether `table` has a kernel for an op at `opset` with these element types (undefined where
 * not known: that slot is not checked). The opset is the model's for the node's domain; ORT
 * matches the op's schema version, which lies in the same registered range as long as the
 * ranges follow each other, as they do in ORT's lists.
 */
export function lookupKernel(table: KernelTable, domain: string, op: string, opset: number, inputs: (string | undefined)[], outputs: (string | undefined)[]): KernelVerdict {
  const entry = table.get(domain)?.get(op);
  if (!entry) return { ok: false, reason: 'no-op' };
  const range = entry.ranges.find((r) => r.from <= opset && opset <= r.to);
  if (!range) return { ok: false, reason: 'no-opset', registered: entry.ranges.map(formatRange).join(', ') };
  const check = (slot: 'input' | 'output', signature: string[][], types: (string | undefined)[]): KernelVerdict | undefined => {
    for (const [index, type] of types.entries()) {
      if (type === undefined || signature.length === 0) continue;
      const alternatives = signature[Math.min(index, signature.length - 1)]!;
      for (const alt of alternatives) {
        const accepted = FIXED_TYPES.has(alt) ? new Set([alt]) : range.constraints.get(alt);
        if (!accepted) continue; // this range does not define that constraint: try the next
        if (!accepted.has(type)) return { ok: false, reason: 'type', slot, index, type, constraint: alt, accepted: [...accepted], range: formatRange(range) };
        break;
      }
    }
    return undefined;
  };
  return check('input', entry.inputs, inputs) ?? check('output', entry.outputs, outputs) ?? { ok: true };
}
