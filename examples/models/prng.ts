/**
 * A small seeded PRNG for model weights. Every tensor draws from its own stream, keyed by
 * (seed, tensor name), so a weight's values do not depend on the order the builder creates
 * tensors in, nor on how many layers come after it: layer 0 of a 2-layer and of a 12-layer
 * model with the same seed are identical.
 */

/** FNV-1a over the UTF-16 code units of `text`: a 32-bit hash for stream keys. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** SplitMix32 step: spreads a (possibly poor) seed over a full 32-bit state word. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) >>> 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** xoshiro128** (Blackman and Vigna): fast, 128-bit state, good statistical quality. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | undefined;

  /** `stream` names an independent sequence under the same seed (a tensor name). */
  constructor(seed: number, stream = '') {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    const st = { s: fnv1a(`${seed}\u0000${stream}`) };
    this.a = splitmix32(st) | 0;
    this.b = splitmix32(st) | 0;
    this.c = splitmix32(st) | 0;
    this.d = splitmix32(st) | 0;
  }

  nextUint32(): number {
    // State words are kept as int32 (`| 0` arithmetic) so V8 holds them as small integers;
    // only the result is made unsigned.
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in the open interval (0, 1). */
  uniform(): number {
    return (this.nextUint32() + 0.5) / 4294967296;
  }

  /** Standard normal by Marsaglia's polar method (both values of each pair are used). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const v = this.spareNormal;
      this.spareNormal = undefined;
      return v;
    }
    const [a, b] = this.normalPair();
    this.spareNormal = b;
    return a;
  }

  /** Two independent standard normals (polar method: no trigonometry, 21% of draws rejected). */
  normalPair(): [number, number] {
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const f = Math.sqrt((-2 * Math.log(s)) / s);
      return [u * f, v * f];
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * `count` float32 values ~ N(mean, std^2) from the stream (seed, name): the polar method
 * inlined, with no per-value allocation (GPT-2-small's 124M weights take about 4 s).
 */
export function normalValues(seed: number, name: string, count: number, std: number, mean = 0): Float32Array {
  const rng = new Prng(seed, name);
  const out = new Float32Array(count);
  let i = 0;
  for (; i + 1 < count; i += 2) {
    let u: number, v: number, s: number;
    do {
      u = 2 * rng.uniform() - 1;
      v = 2 * rng.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = std * Math.sqrt((-2 * Math.log(s)) / s);
    out[i] = mean + u * f;
    out[i + 1] = mean + v * f;
  }
  if (i < count) out[i] = mean + std * rng.normal();
  return out;
}
