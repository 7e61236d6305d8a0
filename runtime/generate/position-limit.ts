/**
 * The longest sequence a compiled language model takes, from what the manifest says of its
 * inference graph's token inputs: a fixed sequence dim, or the length bound compile read off
 * the model (compiler/emit/input-bounds.ts: a position table gathered by position, a mask
 * buffer or rotary cache sliced to the length). `generate` stops there with a message rather
 * than failing (or reading past a table) mid-run.
 */
import type { Manifest } from '../../contract/manifest.ts';
import { TOKEN_KEYS } from '../data/text-dataset.ts';

export interface PositionLimit {
  /** The longest sequence, in tokens. */
  length: number;
  /** What sets it, for messages. */
  source: string;
}

/** The position limit of the inference graph, or undefined when the manifest states none. */
export function positionLimit(manifest: Manifest): PositionLimit | undefined {
  const limits: PositionLimit[] = [];
  for (const io of manifest.graphs.infer.inputs) {
    if (io.role !== 'batch' || !TOKEN_KEYS.has(io.key ?? io.name)) continue;
    const seq = io.shape[1];
    if (typeof seq === 'number') limits.push({ length: seq, source: `the fixed sequence dim of input '${io.name}'` });
    for (const l of io.bounds?.lengths ?? []) if (l.axis === 1) limits.push({ length: l.max, source: l.why });
  }
  return limits.sort((a, b) => a.length - b.length)[0];
}
