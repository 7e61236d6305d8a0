/**
 * Reading ONNX models from files (decode.ts decodes the bytes): the model file, and external
 * data files confined to the model's folder (absolute paths, `..` escapes and symlinks out
 * are refused). Deferred tensors are read again from their file when asked for, and refused
 * if the file changed size since.
 */
import { closeSync, readSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { ModelProto } from './proto.ts';
import { decodeModel, type ExternalData, type ExternalDataFile, type ReadLimits } from './decode.ts';
import { UserError } from '../../contract/errors.ts';
import { openRegularFile } from '../../contract/regular-file.ts';

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
    const bytes = readAt(fd, Buffer.allocUnsafe(stat.size), 0);
    return decodeModel(bytes, { label: path, external: folderData(dirname(resolve(path))), limits: opts.limits, deferAbove: opts.deferAbove });
  } finally {
    closeSync(fd);
  }
}

/** Fills `buf` from `fd` at `position`; returns the bytes read (fewer at the end of the file). */
function readAt(fd: number, buf: Buffer, position: number): Uint8Array {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, got);
}

/** External data files in `baseDir` (the model's folder), each opened once while decoding. */
export function folderData(baseDir: string): ExternalData {
  const root = realpathSync(baseDir);
  const open: number[] = [];
  return {
    open(location, name) {
      const file = confine(root, location, name);
      const { fd, stat } = openRegularFile(file, {
        notRegular: (kind) => new UserError(`${name}: external data location '${location}' is ${kind}, not a data file`, 'the location must name a regular file beside the model (the file its exporter wrote)'),
        cannotOpen: (cause) => new UserError(`${name}: cannot open external data '${location}': ${cause}`),
      });
      open.push(fd);
      const size = stat.size;
      return { file, size, read: (offset, length) => readAt(fd, Buffer.allocUnsafe(length), offset), reader: deferredReader(file, location, size) } satisfies ExternalDataFile;
    },
    close() {
      for (const fd of open.splice(0)) closeSync(fd);
    },
  };
}

/** Resolves a location inside the model folder; absolute paths, `..` escapes and symlinks out are refused. */
function confine(root: string, location: string, name: string): string {
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

/** Reads a deferred tensor's bytes from its data file anew; a file changed since it was read is refused. */
function deferredReader(file: string, location: string, fileSize: number): (offset: number, length: number) => Uint8Array {
  return (offset, length) => {
    const keep = 'keep the base model and its data files in place while lor2c runs';
    // A FIFO put in the data file's place is refused, not waited on.
    const { fd, stat } = openRegularFile(file, {
      notRegular: (kind) => new UserError(`external data '${location}' is no longer a regular file: it is ${kind}`, keep),
      cannotOpen: (cause) => new UserError(`cannot reopen external data '${location}': ${cause}`, keep),
    });
    try {
      if (stat.size !== fileSize) throw new UserError(`external data '${location}' changed size while lor2c ran (${fileSize} -> ${stat.size} bytes)`, keep);
      const bytes = readAt(fd, Buffer.allocUnsafeSlow(length), offset);
      if (bytes.length < length) throw new UserError(`external data '${location}' ended early`);
      return bytes;
    } finally {
      closeSync(fd);
    }
  };
}
