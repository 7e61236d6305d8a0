/**
 * Durable and atomic file writes, shared by the compiler (artifacts, models) and the runtime
 * (checkpoints, logs, exports): the one home of lor2c's "old or new, never half" promise.
 * Every file lor2c writes goes to a temporary name beside its destination, is fsynced, renamed
 * over the destination, and the folder is fsynced so the rename itself survives a power cut.
 * A failure (a full disk, a read-only folder) becomes a UserError naming the file and the cause,
 * and leaves the destination as it was.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileError } from './file-errors.ts';
import { processAlive } from './processes.ts';

/**
 * Creates a folder (and its parents). A failure names the folder and the real cause: a
 * recursive mkdir reports a read-only parent as ENOENT, so the last step is retried alone.
 */
export function makeFolder(path: string, what = 'the folder'): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (e) {
    let cause = e;
    try {
      mkdirSync(path);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== 'ENOENT') cause = again;
    }
    throw fileError(cause, path, `create ${what}`);
  }
}

/** fsyncs a file or a folder (a folder's fsync makes the renames inside it durable). */
export function fsyncPath(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw fileError(e, path, 'open');
  }
  try {
    fsyncSync(fd);
  } catch (e) {
    // Some file systems cannot fsync a folder (EINVAL); the data itself was already synced.
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw fileError(e, path, 'sync');
  } finally {
    closeSync(fd);
  }
}

/** Writes `bytes` to `path` and fsyncs it before returning. */
export function writeDurable(path: string, bytes: Uint8Array | string): void {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (e) {
    throw fileError(e, path);
  }
  try {
    const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    let done = 0;
    while (done < data.length) done += writeSync(fd, data, done, data.length - done);
    fsyncSync(fd);
  } catch (e) {
    throw fileError(e, path);
  } finally {
    closeSync(fd);
  }
}

/** The temporary name `writeFileAtomic` uses for `path` in this process. */
export function temporaryName(path: string, tag = 'tmp'): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${tag}`);
}

/** Writes to a temporary file beside `path`, fsyncs, renames over it and fsyncs the folder. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = temporaryName(path);
  try {
    writeDurable(tmp, bytes);
    renameInto(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Renames `from` over `to` (same folder) and makes the rename durable. */
export function renameInto(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (e) {
    throw fileError(e, to, 'replace');
  }
  fsyncPath(dirname(to));
}

/**
 * Removes temporary files `writeFileAtomic` (and the writers built like it) left in `folder`
 * when a process was killed mid-write: entries `.<name>.<pid>.<tag>` whose process is gone.
 * Only names of that exact form are touched, and with `of` only those whose <name> it matches
 * in full.
 */
export function removeStaleTemporaries(folder: string, tags: readonly string[] = ['tmp'], of: RegExp = /.+/): void {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return;
  }
  const pattern = new RegExp(`^\\..+\\.(\\d+)\\.(${tags.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`);
  for (const name of names) {
    const m = pattern.exec(name);
    if (m && of.test(name.slice(1, name.length - m[1]!.length - m[2]!.length - 2)) && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) rmSync(join(folder, name), { recursive: true, force: true });
  }
}
