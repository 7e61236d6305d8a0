/**
 * Decoding ONNX model bytes from an untrusted source, without Node modules (a page decodes a
 * base model it was given). Every failure is a UserError that names the source and, where one
 * is to blame, the tensor: a truncated or corrupt protobuf, external data that points outside
 * the model's folder or past the end of its file, dims no machine could hold. External data
 * comes through an ExternalData (read.ts: files beside the model; memory-data.ts: bytes by
 * name) and is loaded into raw_data, unless deferred, so the ModelProto returned is
 * self-contained.
 */
import { DataLocation, fromBinary, ModelProtoSchema, type ModelProto, type TensorProto } from './proto.ts';
import { tensorByteLength } from './tensor.ts';
import { checkTensorData, checkTensorHeader, type TensorLimits } from './check-tensor.ts';
import { checkGraph } from './check-graph.ts';
import { visitModelGraphs, visitModelTensors } from './walk.ts';
import { deferBytes } from './deferred.ts';
import { UserError } from '../../contract/errors.ts';

/** maxElements defaults to 2^36 (256 GiB of float32), maxRank to 64. */
export type ReadLimits = TensorLimits;

export const DEFAULT_LIMITS: ReadLimits = { maxElements: 2 ** 36, maxRank: 64 };

/** One external data file, opened by the location a tensor names. */
export interface ExternalDataFile {
  /** Names the file for deferred reads and links (a resolved path, or the location itself). */
  file: string;
  size: number;
  /** `length` bytes at `offset` (the caller has checked the range). */
  read(offset: number, length: number): Uint8Array;
  /** A reader usable after close (for deferred tensors); absent: tensors are always loaded. */
  reader?: (offset: number, length: number) => Uint8Array;
}

/** Where a model's external data files are found. */
export interface ExternalData {
  /** The file at `location`, confined to the model's folder; a UserError naming `name` otherwise. */
  open(location: string, name: string): ExternalDataFile;
  close(): void;
}

export interface DecodeOptions {
  /** Names the source in messages (a file path). */
  label?: string;
  /** The model's external data files; without it external data is an error. */
  external?: ExternalData;
  limits?: ReadLimits;
  /**
   * External tensors of at least this many bytes are not loaded: they stay where they are (see
   * deferred.ts) and are read only if something asks for their values. Default: load all.
   */
  deferAbove?: number;
}

export function decodeModel(bytes: Uint8Array, opts: DecodeOptions = {}): ModelProto {
  const label = opts.label ?? 'model';
  const limits = opts.limits ?? DEFAULT_LIMITS;
  let model: ModelProto;
  try {
    model = fromBinary(ModelProtoSchema, bytes, { readUnknownFields: true });
  } catch (e) {
    throw new UserError(`'${label}' is not a valid ONNX model (truncated or corrupt protobuf: ${(e as Error).message})`, 'check that the file was fully written and is an .onnx model');
  }
  if (!model.graph) throw new UserError(`'${label}' has no graph: not an ONNX model, or a truncated one`);
  visitModelGraphs(model, (g, where) => checkGraph(g, where, label, limits));
  const files = new Map<string, ExternalDataFile>();
  try {
    visitModelTensors(model, (t, where) => {
      const name = `tensor '${t.name}' (${where}) in '${label}'`;
      checkTensorHeader(t, name, limits);
      if (t.dataLocation === DataLocation.EXTERNAL) loadExternal(t, name, files, opts.external, opts.deferAbove);
      checkTensorData(t, name);
    });
  } finally {
    opts.external?.close();
  }
  return model;
}

function loadExternal(t: TensorProto, name: string, files: Map<string, ExternalDataFile>, external: ExternalData | undefined, deferAbove = Infinity): void {
  const kv = new Map(t.externalData.map((e) => [e.key, e.value]));
  const location = kv.get('location');
  if (!location) throw new UserError(`${name} is marked external but has no 'location'`);
  if (!external) throw new UserError(`${name} uses external data '${location}', but the model was not read from a file`, 'read the model from its path so its data file can be found');
  const offset = parseNonNegative(kv.get('offset') ?? '0', 'offset', name);
  let file = files.get(location);
  if (!file) files.set(location, (file = external.open(location, name)));
  const wanted = kv.has('length') ? parseNonNegative(kv.get('length')!, 'length', name) : tensorByteLength(t);
  if (offset + wanted > file.size) {
    throw new UserError(`${name}: external data '${location}' offset ${offset} + length ${wanted} runs past the end of the file (${file.size} bytes)`, 'the data file is truncated or does not belong to this model');
  }
  if (file.reader && wanted >= deferAbove && wanted === tensorByteLength(t) && t.dataType !== 8) {
    t.externalData = [...t.externalData]; // this tensor's own key (deferred.ts)
    deferBytes(t, { file: file.file, location, offset, length: wanted, fileSize: file.size, readRange: file.reader });
    return;
  }
  t.rawData = file.read(offset, wanted) as Uint8Array<ArrayBuffer>;
  t.dataLocation = DataLocation.DEFAULT;
  t.externalData = [];
}

function parseNonNegative(text: string, what: string, name: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new UserError(`${name}: external data ${what} '${text}' is not a valid byte count`);
  return n;
}
