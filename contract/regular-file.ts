/**
 * Opening a file lor2c reads as input (a data file, an adapter, a checkpoint's files): only a
 * regular file is accepted. A FIFO, a device (/dev/zero, /dev/stdin) or a socket would block the
 * open, never end, or not survive the second pass lor2c makes over a data file, so each is
 * refused by name. The open itself never blocks (O_NONBLOCK, which regular files ignore), and
 * the check is made on the opened descriptor, so nothing can be swapped in between.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { isUserError, UserError } from './errors.ts';
import { fileError } from './file-errors.ts';

function kindOf(stat: Stats): string {
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  if (stat.isDirectory()) return 'a folder';
  return 'not a regular file';
}

/**
 * Opens `path` for reading and returns its descriptor and size; `what` names it in messages
 * ('data file', 'safetensors file'). Throws a UserError for anything but a regular file.
 */
export function openRegularFile(path: string, what: string): { fd: number; stat: Stats } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const known = fileError(e, path, `open ${what}`);
    throw isUserError(known) ? known : new UserError(`cannot open ${what} ${path}: ${(e as Error).message}`);
  }
  const stat = fstatSync(fd);
  if (!stat.isFile()) {
    closeSync(fd);
    throw new UserError(`cannot read ${what} ${path}: it is ${kindOf(stat)}, and lor2c reads only regular files (a pipe or a device may never end, and cannot be read twice)`, 'write its contents to a file first (for example `cmd > data.jsonl`) and pass that file');
  }
  return { fd, stat };
}

/** Reads a whole regular file (see openRegularFile). */
export function readRegularFile(path: string, what: string): Buffer {
  const { fd } = openRegularFile(path, what);
  try {
    return readFileSync(fd);
  } catch (e) {
    const known = fileError(e, path, `read ${what}`);
    throw isUserError(known) ? known : new UserError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}
