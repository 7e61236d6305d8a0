/**
 * What the benchmark scripts share: the median of timings, a command run as its own process
 * under /usr/bin/time (wall, CPU and peak RSS from the kernel's accounting of the finished
 * process), and the step times a `lor2c train --log` run recorded.
 */
import { spawnSync } from 'node:child_process';
import { readTrainingLog } from '../runtime/log.ts';

/** The median (the upper middle one for an even count); throws on no values. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no values');
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

export interface ProcessFigures {
  /** Wall seconds. */
  seconds: number;
  /** User + system CPU seconds: on a shared machine the steadier figure. */
  cpu: number;
  /** Peak resident set size in bytes. */
  rss: number;
  stdout: string;
  stderr: string;
}

const MARKER = 'LOR2C_BENCH_TIME';

/**
 * Runs `args` under /usr/bin/time in `cwd`; a failing command stops the benchmark with its
 * output (figures of a failed run would be wrong).
 */
export function timedProcess(label: string, args: string[], cwd: string): ProcessFigures {
  const r = spawnSync('/usr/bin/time', ['-f', `${MARKER} %e %U %S %M`, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  const line = r.stderr?.split('\n').find((l) => l.startsWith(MARKER));
  if (r.error) throw new Error(`${label}: cannot run /usr/bin/time (${r.error.message}); install GNU time (Debian package 'time')`);
  if (r.status !== 0 || !line) throw new Error(`${label} failed (exit ${r.status}): ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
  const [, seconds, user, system, kib] = line.split(' ');
  return { seconds: Number(seconds), cpu: Number(user) + Number(system), rss: Number(kib) * 1024, stdout: r.stdout, stderr: r.stderr.split('\n').filter((l) => !l.startsWith(MARKER)).join('\n') };
}

/** The seconds of each step a `lor2c train --log FILE` run recorded, in order. */
export function loggedStepSeconds(logPath: string): number[] {
  return stepSeconds(readTrainingLog(logPath));
}

/** The step records' seconds of a training log already read. */
export function stepSeconds(records: readonly Record<string, unknown>[]): number[] {
  return records
    .filter((r) => r.type === 'step')
    .map((r) => r.seconds)
    .filter((s): s is number => typeof s === 'number');
}

export const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
