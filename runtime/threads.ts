/**
 * How many threads a session may ask for: the one home of the bound, which the library
 * (openSession, so the Trainer, Pipeline and every engine session) enforces and the CLI's
 * --threads reports. Threads beyond a few per core only cost memory: each has its own stack
 * and arena, and 100,000 of them took 6.5 GB before the first op ran.
 */
import { availableParallelism } from 'node:os';
import { UserError } from '../contract/errors.ts';

/** Threads per core of this machine beyond which a session is refused. */
export const THREADS_PER_CORE = 4;

/** The most threads a session may use on this machine. */
export function maxThreads(): { max: number; cores: number } {
  const cores = availableParallelism();
  return { max: cores * THREADS_PER_CORE, cores };
}

/** Why the bound is what it is, for messages. */
export function threadsWhy(cores: number): string {
  return `this machine has ${cores} cores`;
}

/**
 * A thread count for a session setting `name` ('intraOpThreads'): an integer from 0 (the
 * runtime decides) to maxThreads(); anything else is a UserError naming the setting.
 */
export function checkThreads(name: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new UserError(`${name} must be a non-negative integer (0 lets onnxruntime decide), got ${n}`);
  const { max, cores } = maxThreads();
  if (n > max) throw new UserError(`${name} must be at most ${max} (${threadsWhy(cores)}; more threads than ${THREADS_PER_CORE} a core only cost memory), got ${n}`);
  return n;
}
