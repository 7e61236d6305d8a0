/**
 * Weights left where they are. The compiler never needs the values of a base model's large
 * frozen weights (it rewrites the graph around them), so a model read with `deferAbove` keeps
 * every external tensor at or above that size in the user's data file: the TensorProto stays
 * marked external and this module remembers which (confined, resolved) file and byte range
 * hold its bytes, and how to read them (read.ts gives the file reader). Reading them (tensorRawBytes) fetches them from disk for the caller, without
 * keeping them; writing a model (encodeModel with an ExternalDataFile) references a hard link
 * of the data file instead of copying bytes through JavaScript.
 *
 * The record is keyed by the tensor's `externalData` array: copyMessage (the shallow copy
 * every pass uses) keeps that array, so a cloned graph's tensors still find their bytes, while
 * a tensor whose external reference is replaced no longer claims the old bytes.
 */
import { DataLocation, type TensorProto } from './proto.ts';

export interface DeferredBytes {
  /** Resolved path of the data file (inside the model's folder when it was read). */
  file: string;
  /** The location as the model wrote it (relative to the model's folder). */
  location: string;
  offset: number;
  length: number;
  /** Size of the data file when the model was read: a file changed since is refused. */
  fileSize: number;
  /**
   * Reads `length` bytes at absolute `offset` of the data file, anew each call (the reader
   * that deferred it, read.ts, owns the file access; this record stays free of Node modules).
   */
  readRange(offset: number, length: number): Uint8Array;
}

const deferred = new WeakMap<object, DeferredBytes>();

export function deferBytes(t: TensorProto, where: DeferredBytes): void {
  deferred.set(t.externalData, where);
}

/** Where a deferred tensor's bytes are, or undefined for a tensor whose bytes are in memory. */
export function deferredBytes(t: TensorProto): DeferredBytes | undefined {
  return t.dataLocation === DataLocation.EXTERNAL ? deferred.get(t.externalData) : undefined;
}

/** Reads `length` bytes at `start` of a deferred tensor (all of them by default). */
export function readDeferred(d: DeferredBytes, start = 0, length = d.length - start): Uint8Array {
  if (start < 0 || length < 0 || start + length > d.length) throw new RangeError(`bytes ${start}..${start + length} outside a ${d.length}-byte tensor`);
  return d.readRange(d.offset + start, length);
}

type ElementArray = { readonly length: number; [i: number]: number | bigint };
type ArrayClass = { new (buffer: ArrayBuffer, byteOffset: number, length: number): ElementArray; BYTES_PER_ELEMENT: number };

/** Bytes read per page by pagedElements: small, because callers mostly sample. */
const PAGE_BYTES = 4096;
const PAGES_KEPT = 8;

/**
 * The elements of a deferred tensor as an array-like that reads small pages from disk on
 * demand (the few most recent kept), for code that looks at a few elements of many large
 * tensors (parameter counting's rules) without loading them. Sequential scans work, slowly:
 * load the tensor (tensorArray) to read it all.
 */
export function pagedElements(d: DeferredBytes, Cls: ArrayClass): ArrayLike<number | bigint> {
  const size = Cls.BYTES_PER_ELEMENT;
  const perPage = PAGE_BYTES / size;
  const length = Math.floor(d.length / size);
  const pages = new Map<number, ElementArray>();
  const page = (p: number): ElementArray => {
    let got = pages.get(p);
    if (got) return got;
    const start = p * PAGE_BYTES;
    const bytes = readDeferred(d, start, Math.min(PAGE_BYTES, length * size - start));
    got = new Cls(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / size);
    if (pages.size >= PAGES_KEPT) pages.delete(pages.keys().next().value!);
    pages.set(p, got);
    return got;
  };
  return new Proxy({ length } as ArrayLike<number | bigint>, {
    get: (target, key) => {
      if (typeof key !== 'string' || key === 'length') return Reflect.get(target, key);
      const i = Number(key);
      if (!Number.isInteger(i) || i < 0 || i >= length) return undefined;
      return page(Math.floor(i / perPage))[i % perPage];
    },
  });
}
