/** Runs the `lor2c` CLI in-process from tests, capturing what it prints and its exit code. */
import { main } from '../../cli/main.ts';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Console capture is process-wide: tests that use this must run serially (test.serial). */
export async function runCli(...argv: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { log: console.log, error: console.error, write: process.stdout.write, ewrite: process.stderr.write };
  console.log = (...a: unknown[]) => void out.push(a.join(' ') + '\n');
  console.error = (...a: unknown[]) => void err.push(a.join(' ') + '\n');
  process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => (err.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    console.log = saved.log;
    console.error = saved.error;
    process.stdout.write = saved.write;
    process.stderr.write = saved.ewrite;
  }
}
