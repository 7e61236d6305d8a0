/**
 * The compact type notation the shape specs use: 'float32[batch, seq, 768]', 'int64[2]=[0, -1]',
 * 'float32?'. In an expected type, '=[...]' also requires those contents and '=?' requires the
 * contents to be unknown (where inference must not claim a value it cannot know).
 */
import { dataTypeFromName, dataTypeName } from '../../../compiler/onnx/dtype.ts';
import { formatShape, normalizeDim, type Dim, type Inferred, type ValueType } from '../../../compiler/shapes/index.ts';

function parseDims(text: string): Dim[] {
  if (text.trim() === '') return [];
  return text.split(',').map((s) => {
    const t = s.trim();
    return /^-?\d+(\.\d+)?(e\d+)?$/.test(t) ? Number(t) : normalizeDim(t);
  });
}

export function parseType(text: string): Inferred {
  const m = /^(\w+)(\?|\[([^\]]*)\])(?:=\[(.*)\])?$/.exec(text.replace(/\s+/g, ' ').trim().replace(/=\?$/, ''));
  if (!m) throw new Error(`bad type notation '${text}'`);
  const dtype = dataTypeFromName(m[1]!);
  if (dtype === undefined) throw new Error(`unknown dtype '${m[1]}'`);
  const t: Inferred = { dtype };
  if (m[2] !== '?') t.shape = parseDims(m[3]!);
  if (m[4] !== undefined) t.value = parseDims(m[4]);
  return t;
}

export function formatType(t: ValueType | undefined): string {
  if (!t || (!t.dtype && !t.shape)) return 'unknown';
  return `${dataTypeName(t.dtype)}${t.shape ? formatShape(t.shape) : '?'}`;
}

/** Whether `actual` matches the notation; 'unk' in an expected shape matches any generated symbol. */
export function matchesType(actual: Inferred | undefined, expected: string | null): boolean {
  if (expected === null) return !actual || (!actual.dtype && !actual.shape);
  if (!actual) return false;
  const e = parseType(expected);
  if (actual.dtype !== e.dtype) return false;
  if (!e.shape || !actual.shape) return !e.shape && !actual.shape;
  const shapeMatches = e.shape.length === actual.shape.length && e.shape.every((d, i) => (d === 'unk' ? String(actual.shape![i]).startsWith('unk__') : d === actual.shape![i]));
  if (!shapeMatches) return false;
  const value = actual.value;
  if (/=\?\s*$/.test(expected)) return value === undefined;
  if (e.value) return value !== undefined && value.length === e.value.length && e.value.every((d, i) => d === value[i]);
  return true;
}

export function formatValue(t: Inferred | undefined): string {
  return t?.value ? `=[${t.value.join(', ')}]` : '';
}
