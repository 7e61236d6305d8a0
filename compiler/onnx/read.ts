/**
 * Reading ONNX models from untrusted files. Every failure is a UserError that names the file
 * and, where one is to blame, the tensor: a truncated or corrupt protobuf, external data that
 * points outside the model's folder or past the end of its file, dims no machine could hold.
 * External data is loaded into raw_data, so the ModelProto returned is self-contained.
 */
import { closeSync, readSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { DataLocation, fromBinary, ModelProtoSchema, type ModelProto, type TensorProto } from './proto.ts';
import { tensorByteLength } from './tensor.ts';
import { checkTensorData, checkTensorHeader, type TensorLimits } from './check-tensor.ts';
import { checkGraph } from './check-graph.ts';
import { visitModelGraphs, visitModelTensors } from './walk.ts';
import { deferBytes } from './deferred.ts';
import { UserError } from '../../contract/errors.ts';
import { openRegularFile } from '../../contract/regular-file.ts';

/** maxElements defaults to 2^36 (256 GiB of float32), maxRank to 64. */
export type ReadLimits = TensorLimits;

export const DEFAULT_LIMITS: ReadLimits = { maxElements: 2 ** 36, maxRank: 64 };

export interface ReadOptions {
  limits?: ReadLimits;
  /**
   * External tensors of at least this many bytes are not loaded: they stay on disk (see
   * deferred.ts) and are read only if something asks for their values. Default: load all.
   */
  deferAbove?: number;
}

/** Protobuf messages cannot exceed 2 GiB; weights beyond that live in external data. */
const MAX_PROTO_BYTES = 2 ** 31 - 1;

export function readModel(path: string, opts: ReadOptions = {}): ModelProto {
  const { fd, stat } = openRegularFile(path, {
    notRegular: (kind) => new UserError(`cannot read model '${path}': it is ${kind}, not a file`, 'give the path of an .onnx file'),
    cannotOpen: (cause) => new UserError(`cannot read model '${path}': ${cause}`, 'check the path'),
  });
  try {
    if (stat.size > MAX_PROTO_BYTES) {
      throw new UserError(`model '${path}' is ${stat.size} bytes, over protobuf's 2 GiB limit`, 'store the weights as ONNX external data');
    }
    const bytes = readWhole(fd, stat.size);
    return decodeModel(bytes, { label: path, baseDir: dirname(resolve(path)), limits: opts.limits, deferAbove: opts.deferAbove });
  } finally {
    closeSync(fd);
  }
}

function readWhole(fd: number, size: number): Uint8Array {
  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  while (off < size) {
    const n = readSync(fd, buf, off, size - off, off);
    if (n === 0) break;
    off += n;
  }
  return buf.subarray(0, off);
}

export interface DecodeOptions {
  /** Names the source in messages (a file path). */
  label?: string;
  /** Folder that external data locations are relative to; without it external data is an error. */
  baseDir?: string;
  limits?: ReadLimits;
  /** See ReadOptions.deferAbove. */
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
  const files = new ExternalFiles(opts.baseDir, label);
  try {
    visitModelTensors(model, (t, where) => {
      const name = `tensor '${t.name}' (${where}) in '${label}'`;
      checkTensorHeader(t, name, limits);
      if (t.dataLocation === DataLocation.EXTERNAL) files.load(t, where, opts.deferAbove);
      checkTensorData(t, name);
    });
  } finally {
    files.close();
  }
  return model;
}

/** Opens external data files once each, confined to the model's folder. */
class ExternalFiles {
  private readonly open = new Map<string, { fd: number; size: number }>();
  private readonly root?: string;

  constructor(
    baseDir: string | undefined,
    private readonly label: string,
  ) {
    this.root = baseDir === undefined ? undefined : realpathSync(baseDir);
  }

  load(t: TensorProto, where: string, deferAbove = Infinity): void {
    const name = `tensor '${t.name}' (${where}) in '${this.label}'`;
    const kv = new Map(t.externalData.map((e) => [e.key, e.value]));
    const location = kv.get('location');
    if (!location) throw new UserError(`${name} is marked external but has no 'location'`);
    if (this.root === undefined) throw new UserError(`${name} uses external data '${location}', but the model was not read from a file`, 'read the model from its path so its data file can be found');
    const file = this.confine(location, name);
    const offset = parseNonNegative(kv.get('offset') ?? '0', 'offset', name);
    const { fd, size } = this.fileFor(file, name, location);
    const wanted = kv.has('length') ? parseNonNegative(kv.get('length')!, 'length', name) : tensorByteLength(t);
    if (offset + wanted > size) {
      throw new UserError(`${name}: external data '${location}' offset ${offset} + length ${wanted} runs past the end of the file (${size} bytes)`, 'the data file is truncated or does not belong to this model');
    }
    if (wanted >= deferAbove && wanted === tensorByteLength(t) && t.dataType !== 8) {
      t.externalData = [...t.externalData]; // this tensor's own key (deferred.ts)
      deferBytes(t, { file, location, offset, length: wanted, fileSize: size });
      return;
    }
    const buf = Buffer.allocUnsafe(wanted);
    let got = 0;
    while (got < wanted) {
      const n = readSync(fd, buf, got, wanted - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    t.rawData = new Uint8Array(buf.buffer, buf.byteOffset, got) as Uint8Array<ArrayBuffer>;
    t.dataLocation = DataLocation.DEFAULT;
    t.externalData = [];
  }

  /** Resolves a location inside the model folder; absolute paths, `..` escapes and symlinks out are refused. */
  private confine(location: string, name: string): string {
    const root = this.root!;
    const refuse = () => new UserError(`${name}: external data location '${location}' points outside the model's folder`, 'external data files must sit in the model folder or below it');
    if (isAbsolute(location) || location.includes('\0') || /^[a-zA-Z]:/.test(location)) throw refuse();
    const path = resolve(root, location);
    const rel = relative(root, path);
    if (rel.startsWith('..') || isAbsolute(rel)) throw refuse();
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      throw new UserError(`${name}: external data file '${location}' does not exist next to the model`, 'copy the data file beside the .onnx file');
    }
    if (real !== root && !real.startsWith(root + sep)) throw refuse();
    return real;
  }

  private fileFor(file: string, name: string, location: string) {
    let entry = this.open.get(file);
    if (!entry) {
      const { fd, stat } = openRegularFile(file, {
        notRegular: (kind) => new UserError(`${name}: external data location '${location}' is ${kind}, not a data file`, 'the location must name a regular file beside the model (the file its exporter wrote)'),
        cannotOpen: (cause) => new UserError(`${name}: cannot open external data '${location}': ${cause}`),
      });
      entry = { fd, size: stat.size };
      this.open.set(file, entry);
    }
    return entry;
  }

  close(): void {
    for (const { fd } of this.open.values()) closeSync(fd);
  }
}

function parseNonNegative(text: string, what: string, name: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new UserError(`${name}: external data ${what} '${text}' is not a valid byte count`);
  return n;
}
