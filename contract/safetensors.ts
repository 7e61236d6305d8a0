/**
 * safetensors: the Hugging Face tensor file format, used for adapters, `--init` files and
 * checkpoints. Layout: an 8-byte little-endian header length N, N bytes of JSON
 * `{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
 * "__metadata__": {"key": "value"}}` (offsets relative to the data section), then the data.
 *
 * Files come from users, so reading checks everything the format promises, as the reference
 * implementation does: a bounded header, JSON that is an object of well-formed entries, offsets
 * inside the file that tile the data section exactly (no overlaps, no holes, nothing after),
 * and byte lengths that agree with dtype and shape.
 *
 * Pure (bytes in, bytes out; runs in a browser too); reading and writing files is in
 * safetensors-file.ts.
 */
import { UserError } from './errors.ts';

export type SafetensorsDtype = 'BOOL' | 'U8' | 'I8' | 'U16' | 'I16' | 'F16' | 'BF16' | 'U32' | 'I32' | 'F32' | 'U64' | 'I64' | 'F64';

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = {
  BOOL: 1, U8: 1, I8: 1, U16: 2, I16: 2, F16: 2, BF16: 2, U32: 4, I32: 4, F32: 4, U64: 8, I64: 8, F64: 8,
};

export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Little-endian element bytes (a view into the file buffer when read). */
  data: Uint8Array;
}

export interface SafetensorsContents {
  /** Tensors in file order (sorted by data offset). */
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** The reference implementation's bound: a header over 100 MB is refused before parsing. */
export const MAX_HEADER_BYTES = 100_000_000;

function isDtype(s: unknown): s is SafetensorsDtype {
  return typeof s === 'string' && Object.hasOwn(DTYPE_BYTES, s);
}

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Parses safetensors bytes; `source` names the file in error messages. */
export function decodeSafetensors(bytes: Uint8Array, source = '<buffer>'): SafetensorsContents {
  const fail = (what: string): never => {
    throw new UserError(`${source}: not a valid safetensors file: ${what}`);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const n = Number(headerLength);
  if (8 + n > bytes.length) fail(`header length ${n} runs past the end of the ${bytes.length}-byte file`);
  const headerText = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let header: unknown;
  try {
    const text = headerText.decode(bytes.subarray(8, 8 + n));
    if (!text.startsWith('{')) fail('header does not start with "{"');
    header = JSON.parse(text);
  } catch (e) {
    if (e instanceof UserError) throw e;
    fail(`header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(`entry '${name}' is not an object`);
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (!isDtype(dtype)) fail(`tensor '${name}' has unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor '${name}' has a malformed shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor '${name}' has malformed data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail(`tensor '${name}' has data_offsets [${begin}, ${end}] that end before they begin`);
    if (end > dataLength) fail(`tensor '${name}' has data_offsets [${begin}, ${end}] beyond the ${dataLength}-byte data section`);
    const expected = elementCount(shape as number[]) * DTYPE_BYTES[dtype as SafetensorsDtype];
    if (end - begin !== expected) {
      fail(`tensor '${name}' (${dtype} ${JSON.stringify(shape)}) needs ${expected} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    entries.push({ name, dtype: dtype as SafetensorsDtype, shape: [...(shape as number[])], begin, end });
  }
  // The data section must be tiled exactly: sorted by offset, each tensor starts where the last ended.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of entries) {
    if (e.begin < cursor) fail(`tensor '${e.name}' overlaps the previous tensor (begins at ${e.begin}, previous ends at ${cursor})`);
    if (e.begin > cursor) fail(`a gap of ${e.begin - cursor} bytes precedes tensor '${e.name}'`);
    cursor = e.end;
  }
  if (cursor !== dataLength) fail(`${dataLength - cursor} bytes after the last tensor are not described by the header`);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of entries) tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: bytes.subarray(dataStart + e.begin, dataStart + e.end) });
  return { tensors, metadata };
}

export type TensorEntries = Map<string, SafetensorsTensor> | Record<string, SafetensorsTensor>;

/**
 * Serialises tensors. Like the reference writer, data is laid out by descending alignment
 * (then name) so every tensor's data starts aligned to its element size, and the header is
 * padded with spaces to a multiple of 8 bytes.
 */
export function encodeSafetensors(tensors: TensorEntries, metadata?: Record<string, string>): Uint8Array {
  const list = (tensors instanceof Map ? [...tensors] : Object.entries(tensors)).map(([name, t]) => {
    if (name === '__metadata__') throw new Error("'__metadata__' is reserved and cannot name a tensor");
    const expected = elementCount(t.shape) * DTYPE_BYTES[t.dtype];
    if (t.data.byteLength !== expected) throw new Error(`tensor '${name}' (${t.dtype} ${JSON.stringify(t.shape)}) needs ${expected} bytes, got ${t.data.byteLength}`);
    return { name, t };
  });
  list.sort((a, b) => DTYPE_BYTES[b.t.dtype] - DTYPE_BYTES[a.t.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const { name, t } of list) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const text = new TextEncoder().encode(JSON.stringify(header));
  const json = new Uint8Array(Math.ceil(text.length / 8) * 8).fill(0x20);
  json.set(text);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const { t } of list) {
    out.set(t.data, at);
    at += t.data.byteLength;
  }
  return out;
}

/** A float32 tensor entry viewing `values` (no copy). */
export function float32Entry(shape: number[], values: Float32Array): SafetensorsTensor {
  if (values.length !== elementCount(shape)) throw new Error(`shape ${JSON.stringify(shape)} needs ${elementCount(shape)} values, got ${values.length}`);
  return { dtype: 'F32', shape: [...shape], data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

/**
 * A float32 tensor's values as a fresh Float32Array (a copy, so it is aligned and does not
 * pin the file buffer). `name` is for the error when the dtype is not F32.
 */
export function float32Values(t: SafetensorsTensor, name: string): Float32Array {
  if (t.dtype !== 'F32') throw new UserError(`tensor '${name}' is ${t.dtype}; float32 (F32) is required`);
  const out = new Float32Array(t.data.byteLength / 4);
  new Uint8Array(out.buffer).set(t.data);
  return out;
}
