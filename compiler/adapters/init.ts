/**
 * Initial values of adapter parameters. Each parameter draws from its own stream, seeded by
 * (training seed, parameter name), so adding or removing a module never changes another's
 * initial values, and Merge/Inject at step k initialise the same way in every run.
 */
import type { InitKind } from '../../dsl/index.ts';

/** FNV-1a over the name, mixed with the seed: a 32-bit stream id. */
function streamSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

/** The stream of parameter `name` under the training seed: floats in [0, 1). */
export function seededUniform(seed: number, name: string): () => number {
  return mulberry32(streamSeed(seed, name));
}

/** mulberry32: small, fast, well-distributed 32-bit generator; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A down-projection A [rank, fanIn]: `kaiming` is PyTorch's kaiming_uniform_(a = sqrt(5)) on a
 * [rank, fanIn] weight, i.e. U(-1/sqrt(fanIn), 1/sqrt(fanIn)) (docs/method.md section 1);
 * `gaussian` is N(0, 1/rank) as PEFT's init_lora_weights="gaussian".
 */
export function initDown(kind: InitKind, rank: number, fanIn: number, seed: number, name: string): Float32Array {
  const next = seededUniform(seed, name);
  const out = new Float32Array(rank * fanIn);
  if (kind === 'kaiming') {
    const bound = 1 / Math.sqrt(fanIn);
    for (let i = 0; i < out.length; i++) out[i] = (next() * 2 - 1) * bound;
  } else {
    const std = 1 / Math.sqrt(rank);
    for (let i = 0; i < out.length; i += 2) {
      // Box-Muller: two normals from two uniforms (1 - u keeps the log finite).
      const r = Math.sqrt(-2 * Math.log(1 - next()));
      const theta = 2 * Math.PI * next();
      out[i] = r * Math.cos(theta) * std;
      if (i + 1 < out.length) out[i + 1] = r * Math.sin(theta) * std;
    }
  }
  return out;
}
