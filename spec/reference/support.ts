/** Helpers shared by the PyTorch-reference comparisons. */
import { float32Values } from '../../contract/safetensors.ts';
import { readSafetensors } from '../../contract/safetensors-file.ts';
import { main } from '../../cli/main.ts';

/** Every tensor of a safetensors file as float32 values, by name. */
export function safetensors(path: string): Map<string, Float32Array> {
  return new Map([...readSafetensors(path).tensors].map(([name, t]) => [name, float32Values(t, name)]));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** Runs the CLI in-process; what it prints is kept for failure messages. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const saved = { log: console.log, error: console.error, out: process.stdout.write, err: process.stderr.write };
  const keep = (chunk: unknown) => (out.push(String(chunk)), true);
  console.log = (...a: unknown[]) => void out.push(a.join(' ') + '\n');
  console.error = (...a: unknown[]) => void out.push(a.join(' ') + '\n');
  process.stdout.write = keep as typeof process.stdout.write;
  process.stderr.write = keep as typeof process.stderr.write;
  try {
    return { code: await main(argv), out: out.join('') };
  } finally {
    console.log = saved.log;
    console.error = saved.error;
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
  }
}
