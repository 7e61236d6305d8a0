/**
 * File-system failures in words: an errno code becomes a UserError that says what lor2c was
 * doing to which path and why it failed (a full disk, a read-only folder), with what to do.
 */
import { UserError } from './errors.ts';

/** What a file-system error code means, in words. */
export const FILE_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EISDIR: 'it is a folder, a file was expected',
  ENOTDIR: 'a part of the path is not a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'the file is too large for the file system',
  EEXIST: 'it already exists',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
  EBUSY: 'the file or folder is busy',
  ENOTEMPTY: 'the folder is not empty',
  EXDEV: 'it is on another file system',
};

/** A failed file operation's cause in words: 'no such file or directory (ENOENT)', or the error's own message. */
export function errnoWords(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code && FILE_ERRORS[code]) return `${FILE_ERRORS[code]} (${code})`;
  return code ?? (e instanceof Error ? e.message : String(e));
}

/** A file-system error as a UserError saying what was being done to which path; other errors pass through. */
export function fileError(e: unknown, path: string, doing = 'write'): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (!code || !FILE_ERRORS[code]) return e;
  const hint = code === 'ENOSPC' || code === 'EDQUOT' ? 'free some space (or write elsewhere) and run again' : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'choose a folder you can write to' : undefined;
  return new UserError(`cannot ${doing} ${path}: ${errnoWords(e)}`, hint);
}
