/**
 * Serialising ONNX models to bytes, without Node modules (write.ts puts them in files; a page
 * keeps them in memory). Tensors at or above a size threshold go to an external data sink,
 * which is what lets several graphs share one copy of frozen weights.
 */
import { DataLocation, ModelProtoSchema, StringStringEntryProtoSchema, create, toBinary, type ModelProto, type TensorProto } from './proto.ts';
import { tensorByteLength, tensorRawBytes } from './tensor.ts';
import { visitModelTensors } from './walk.ts';
import { deferredBytes, readDeferred, type DeferredBytes } from './deferred.ts';
import { DataType } from './dtype.ts';
import { UserError } from '../../contract/errors.ts';

/** Default: tensors of 1 MiB or more are stored externally. */
export const DEFAULT_EXTERNAL_THRESHOLD = 1 << 20;
const MAX_PROTO_BYTES = 2 ** 31 - 1;
/** Large tensors start on a page boundary so ORT can memory-map them. */
export const PAGE = 4096;

/** Where externalised tensors go: one data file (its name in the models), shared by any number of models. */
export interface ExternalSink {
  /** The file name the models' tensors refer to. */
  readonly location: string;
  /** Places a tensor's bytes (the same Uint8Array once) and returns its offset. */
  place(bytes: Uint8Array): number;
  /**
   * Where a deferred tensor (bytes still in the base model's data file) is referenced from,
   * at its own offset; without it, deferred tensors are read and placed like any other.
   */
  link?(source: DeferredBytes): string;
}

/** Where tensors sit in an external data file: each distinct Uint8Array once, page-aligned. */
export class DataLayout {
  size = 0;
  readonly placed = new Map<Uint8Array, number>();

  /** The offset of `bytes`: where they were placed already, or the next page boundary (`fresh`). */
  offsetOf(bytes: Uint8Array): { offset: number; fresh: boolean } {
    const known = this.placed.get(bytes);
    if (known !== undefined) return { offset: known, fresh: false };
    const offset = Math.ceil(this.size / PAGE) * PAGE;
    this.size = offset + bytes.length;
    this.placed.set(bytes, offset);
    return { offset, fresh: true };
  }
}

/** An external data file built in memory, laid out as write.ts lays it out on disk. */
export class MemorySink implements ExternalSink {
  private readonly layout = new DataLayout();

  constructor(readonly location: string) {}

  place(bytes: Uint8Array): number {
    return this.layout.offsetOf(bytes).offset;
  }

  get used(): boolean {
    return this.layout.placed.size > 0;
  }

  /** The file's bytes. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.layout.size);
    for (const [bytes, at] of this.layout.placed) out.set(bytes, at);
    return out;
  }
}

export interface EncodeOptions {
  /** Where tensors at or above `threshold` bytes go; without it every tensor stays inline. */
  external?: ExternalSink;
  threshold?: number;
}

/**
 * Serialises a model. Externalised tensors are swapped to external references only for the
 * duration of the encode; the caller's ModelProto is left exactly as it was.
 */
export function encodeModel(model: ModelProto, opts: EncodeOptions = {}): Uint8Array {
  const threshold = opts.threshold ?? DEFAULT_EXTERNAL_THRESHOLD;
  const restore: (() => void)[] = [];
  try {
    if (opts.external) {
      const ext = opts.external;
      visitModelTensors(model, (t) => {
        const deferred = deferredBytes(t);
        if (deferred && ext.link) {
          restore.push(swapToExternal(t, ext.link(deferred), deferred.offset, deferred.length));
          return;
        }
        if (t.dataType === DataType.STRING || t.dataLocation === DataLocation.EXTERNAL) return;
        if (tensorByteLength(t) < threshold) return;
        const bytes = tensorRawBytes(t);
        const offset = ext.place(bytes);
        restore.push(swapToExternal(t, ext.location, offset, bytes.length));
      });
    }
    // Without an external file, deferred tensors are inlined (read from disk for this encode only).
    else visitModelTensors(model, (t) => {
      const deferred = deferredBytes(t);
      if (deferred) restore.push(swapToInline(t, readDeferred(deferred)));
    });
    const bytes = toBinary(ModelProtoSchema, model, { writeUnknownFields: true });
    if (bytes.length > MAX_PROTO_BYTES) {
      throw new UserError(`the model encodes to ${bytes.length} bytes, over protobuf's 2 GiB limit`, 'write it with external data (a lower threshold)');
    }
    return bytes;
  } finally {
    for (const undo of restore) undo();
  }
}

function swapToExternal(t: TensorProto, location: string, offset: number, length: number): () => void {
  const saved = { rawData: t.rawData, floatData: t.floatData, doubleData: t.doubleData, int32Data: t.int32Data, int64Data: t.int64Data, uint64Data: t.uint64Data, dataLocation: t.dataLocation, externalData: t.externalData };
  t.rawData = new Uint8Array(0);
  t.floatData = []; t.doubleData = []; t.int32Data = []; t.int64Data = []; t.uint64Data = [];
  t.dataLocation = DataLocation.EXTERNAL;
  t.externalData = [
    create(StringStringEntryProtoSchema, { key: 'location', value: location }),
    create(StringStringEntryProtoSchema, { key: 'offset', value: String(offset) }),
    create(StringStringEntryProtoSchema, { key: 'length', value: String(length) }),
  ];
  return () => Object.assign(t, saved);
}

function swapToInline(t: TensorProto, bytes: Uint8Array): () => void {
  const saved = { rawData: t.rawData, dataLocation: t.dataLocation, externalData: t.externalData };
  t.rawData = bytes as Uint8Array<ArrayBuffer>;
  t.dataLocation = DataLocation.DEFAULT;
  t.externalData = [];
  return () => Object.assign(t, saved);
}

