/**
 * Whether another lor2c process still runs: stale locks and temporary files are named by the
 * pid that made them, and only those of processes that are gone are taken over or removed.
 */
/** True when process `pid` is alive (EPERM: alive, another user's). */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
