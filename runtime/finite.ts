import type { IOInfo } from '../contract/manifest.ts';
import type { TensorValue } from './engine/engine.ts';

/** Whether every value is a finite number (no NaN, no infinity): what a step must give before it is committed. */
export function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}

/** A graph's flag that some updated value or gradient is not finite (compiler/train/nonfinite.ts). */
export function isNonFiniteFlag(io: IOInfo): boolean {
  return io.role === 'metric' && io.metric === 'nonfinite';
}

/**
 * Whether a run's own flag proves its updated values and gradients finite: the flag among
 * `fetched` came back false. Otherwise (no flag fetched, or raised) they are to be scanned.
 */
export function provenFinite(fetched: readonly IOInfo[], out: Readonly<Record<string, TensorValue>>): boolean {
  const flag = fetched.find(isNonFiniteFlag);
  return flag !== undefined && Number(out[flag.name]?.data[0]) === 0;
}
