/** Helpers shared by the PyTorch-reference comparisons. */
import { float32Values } from '../../contract/safetensors.ts';
import { readSafetensors } from '../../contract/safetensors-file.ts';

/** Every tensor of a safetensors file as float32 values, by name. */
export function safetensors(path: string): Map<string, Float32Array> {
  return new Map([...readSafetensors(path).tensors].map(([name, t]) => [name, float32Values(t, name)]));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}
