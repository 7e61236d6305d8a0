import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './command.ts';
import { maxThreads, threadsWhy } from '../runtime/index.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with unknown flags and malformed values turned into UsageError. */
export function parseCommandArgs<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function wantsHelp(args: string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

/**
 * Parses a flag value that must be a whole number in [min, max] written in decimal digits:
 * '1e3', '0x10', '12.0', ' 7' and numbers beyond exact integers are refused.
 */
export function integerFlag(flag: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER, why = ''): number | undefined {
  if (value === undefined) return undefined;
  const n = /^[+]?\d+$/.test(value) ? Number(value) : NaN;
  const kind = min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer of at least ${min}`;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${flag} must be ${kind}, got '${value}'`);
  if (n > max) throw new UsageError(`--${flag} must be at most ${max}${why ? ` (${why})` : ''}, got '${value}'`);
  return n;
}

/** Parses a flag value that must be a positive integer. */
export function positiveInt(flag: string, value: string | undefined): number | undefined {
  return integerFlag(flag, value, 1);
}

/** --threads N: a positive integer, at most the runtime's bound for this machine (runtime/threads.ts). */
export function threadsFlag(value: string | undefined): number | undefined {
  const { max, cores } = maxThreads();
  return integerFlag('threads', value, 1, max, threadsWhy(cores));
}
