import type { IOInfo } from '../contract/manifest.ts';

/** Whether every value is a finite number (no NaN, no infinity): what a step must give before it is committed. */
export function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}

/** A graph's flag that some updated value or gradient is not finite (compiler/train/nonfinite.ts). */
export function isNonFiniteFlag(io: IOInfo): boolean {
  return io.role === 'metric' && io.metric === 'nonfinite';
}
