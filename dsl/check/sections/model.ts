/** `model "path.onnx"`: the model to adapt. */
import path from 'node:path';
import { TOP_KEYS } from '../hints.ts';
import type { Entry, SpecReader } from '../reader.ts';

export function readModel(r: SpecReader, e: Entry): string | undefined {
  const p = r.string(r.one(e, 'a path in quotes', TOP_KEYS), 'the model path');
  if (p === undefined) return undefined;
  if (p.length === 0) {
    r.error('bad-value', e.values[0]!.range, 'the model path is empty');
    return undefined;
  }
  // Relative to the spec's folder, so a spec and its model can move together.
  return path.isAbsolute(p) ? p : path.join(path.dirname(r.file), p);
}
