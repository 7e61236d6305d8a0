/**
 * An advisory lock on a folder lor2c writes into (a checkpoint folder, an artifacts folder): the
 * file FOLDER/.lor2c-lock, created exclusively, holding the owner's pid, host and purpose. A
 * second lor2c that wants the folder is refused with a message naming the owner. A lock left by a
 * process that no longer runs (kill -9) is taken over. Creating the lock file is also the first
 * write into the folder, so an unwritable folder is found before any work is done.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { closeSync, linkSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { UserError } from './errors.ts';
import { fileError } from './file-errors.ts';
import { processAlive } from './processes.ts';

export const LOCK_FILE = '.lor2c-lock';

interface LockOwner {
  pid: number;
  host: string;
  purpose: string;
  since: string;
}

export interface FolderLock {
  readonly folder: string;
  /** Removes the lock (idempotent). */
  release(): void;
}

const held = new Map<string, number>();
let exitHookInstalled = false;

function readOwner(path: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
    return typeof owner?.pid === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
}

function createExclusive(path: string, owner: LockOwner): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw fileError(e, path, 'create');
  }
  try {
    writeSync(fd, JSON.stringify(owner) + '\n');
  } catch (e) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw fileError(e, path);
  }
  closeSync(fd);
  return true;
}

/**
 * Locks `folder` (which must exist) for `purpose` (e.g. 'lor2c train'); throws a UserError when
 * another live process holds it. Locks are per process and re-entrant: the same process taking
 * the same folder again gets a handle that releases only when every taker released.
 */
export function lockFolder(folder: string, purpose: string): FolderLock {
  const path = join(folder, LOCK_FILE);
  const count = held.get(path) ?? 0;
  if (count === 0) {
    const me: LockOwner = { pid: process.pid, host: hostname(), purpose, since: new Date().toISOString() };
    for (let attempt = 0; !createExclusive(path, me); attempt++) {
      const owner = readOwner(path);
      const alive = owner === undefined ? attempt === 0 : owner.host !== me.host || processAlive(owner.pid);
      if (alive || attempt > 2) {
        const who = owner ? `${owner.purpose} (pid ${owner.pid}${owner.host !== me.host ? ` on ${owner.host}` : ''}, since ${owner.since})` : 'another lor2c process';
        throw new UserError(`${folder} is in use by ${who}`, `wait for it to finish or use another folder; if no such run exists any more, remove ${path}`);
      }
      // The owner is gone (killed): take the stale lock over. Moving it aside under a name of our
      // own first means two processes taking over at once cannot both win the exclusive create.
      const aside = `${path}.${process.pid}.stale`;
      try {
        linkSync(path, aside);
        if (readOwner(aside)?.pid === owner?.pid) rmSync(path, { force: true });
      } catch {
        // Someone else moved it first; try again.
      } finally {
        rmSync(aside, { force: true });
      }
    }
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => {
        for (const p of held.keys()) rmSync(p, { force: true });
      });
    }
  }
  held.set(path, count + 1);
  let released = false;
  return {
    folder,
    release() {
      if (released) return;
      released = true;
      const left = (held.get(path) ?? 1) - 1;
      if (left > 0) {
        held.set(path, left);
        return;
      }
      held.delete(path);
      if (readOwner(path)?.pid === process.pid) rmSync(path, { force: true });
    },
  };
}
