/**
 * The one opener of files lor2c reads from a path a user gave (a spec, a model and its external
 * data, a data file, an adapter, a tokenizer, a checkpoint's files): only a regular file is
 * accepted. A FIFO, a device (/dev/zero, /dev/stdin) or a socket would block the open, never
 * end, or not survive the second pass lor2c makes over a data file, so each is refused by name.
 * The open itself never blocks (O_NONBLOCK, which regular files ignore), and the check is made
 * on the opened descriptor, so nothing can be swapped in between.
 *
 * Callers name the file in their own words: a short `what` ('data file', 'safetensors file')
 * gives the standard sentences, or a message builder gives the caller's (the ONNX reader names
 * the tensor whose external data it was). Either way what the path is comes from fileKind, in
 * one wording.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { UserError } from './errors.ts';
import { errnoWords } from './file-errors.ts';

/** What a path that is not a regular file is, in words (for "it is ..."). */
export function fileKind(stat: Stats): string {
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  if (stat.isDirectory()) return 'a folder';
  return 'not a regular file';
}

/** The errors a caller words itself. */
export interface RegularFileMessages {
  /** The path opened but is not a regular file; `kind` is fileKind's words ('a folder'). */
  notRegular(kind: string): Error;
  /** The path could not be opened; `cause` is the errno in words ('no such file or directory (ENOENT)'). */
  cannotOpen(cause: string): Error;
  /** Reading it failed after the open (EIO, EISDIR on odd file systems). Default: cannotOpen's words. */
  cannotRead?(cause: string): Error;
}

/** The standard sentences for a file called `what` ('data file'). */
export function regularFileMessages(path: string, what: string): RegularFileMessages {
  return {
    notRegular: (kind) => new UserError(`cannot read ${what} ${path}: it is ${kind}, and lor2c reads only regular files (a pipe or a device may never end, and cannot be read twice)`, 'write its contents to a file first (for example `cmd > data.jsonl`) and pass that file'),
    cannotOpen: (cause) => new UserError(`cannot open ${what} ${path}: ${cause}`),
    cannotRead: (cause) => new UserError(`cannot read ${what} ${path}: ${cause}`),
  };
}

function messagesFor(path: string, what: string | RegularFileMessages): RegularFileMessages {
  return typeof what === 'string' ? regularFileMessages(path, what) : what;
}

/**
 * Opens `path` for reading and returns its descriptor and stat; `what` names it in messages
 * ('data file', 'safetensors file') or builds them. Throws for anything but a regular file.
 */
export function openRegularFile(path: string, what: string | RegularFileMessages): { fd: number; stat: Stats } {
  const messages = messagesFor(path, what);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw messages.cannotOpen(errnoWords(e));
  }
  const stat = fstatSync(fd);
  if (!stat.isFile()) {
    closeSync(fd);
    throw messages.notRegular(fileKind(stat));
  }
  return { fd, stat };
}

/** A bound on the bytes readRegularFile reads: larger files are refused unread. */
export interface ReadBound {
  maxBytes: number;
  /** The error for a file of `size` bytes. */
  tooLarge(size: number): Error;
}

/** Reads a whole regular file (see openRegularFile), refusing one larger than `bound` unread. */
export function readRegularFile(path: string, what: string | RegularFileMessages, bound?: ReadBound): Buffer {
  const messages = messagesFor(path, what);
  const { fd, stat } = openRegularFile(path, messages);
  try {
    if (bound !== undefined && stat.size > bound.maxBytes) throw bound.tooLarge(stat.size);
    try {
      return readFileSync(fd);
    } catch (e) {
      throw (messages.cannotRead ?? messages.cannotOpen)(errnoWords(e));
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads a whole regular file as UTF-8 text (see readRegularFile). */
export function readRegularText(path: string, what: string | RegularFileMessages, bound?: ReadBound): string {
  return readRegularFile(path, what, bound).toString('utf8');
}
