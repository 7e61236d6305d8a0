/**
 * The runtime's own pseudo-random generator, so shuffling is identical on every machine, Node
 * version and run, and can be resumed: xoshiro128** (Blackman & Vigna) seeded through
 * SplitMix32. Everything is 32-bit integer arithmetic (Math.imul, >>> 0): no floating point,
 * nothing platform-dependent. A stream is derived from a seed plus keys (such as an epoch), so
 * "the permutation of epoch e" is a pure function of (seed, e) and needs no saved state.
 */

export type RngState = [number, number, number, number];

function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) >>> 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Rng {
  private s: RngState;

  /** A generator for a seed and any number of integer keys (stream selectors such as an epoch). */
  constructor(seed: number, ...keys: number[]) {
    let h = splitmix32(seed >>> 0 ^ Math.floor(seed / 2 ** 32) >>> 0);
    for (const k of keys) h = splitmix32(h ^ (k >>> 0)) ^ splitmix32(Math.floor(k / 2 ** 32) >>> 0);
    const s: number[] = [];
    for (let i = 0; i < 4; i++) s.push((h = splitmix32(h + i)));
    if (!s.some((v) => v !== 0)) s[0] = 1; // the all-zero state is the one fixed point
    this.s = s as RngState;
  }

  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.s = [...state] as RngState;
    return r;
  }

  /** The state, to save in a checkpoint. */
  state(): RngState {
    return [...this.s] as RngState;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] = (s[2] ^ s[0]) >>> 0;
    s[3] = (s[3] ^ s[1]) >>> 0;
    s[1] = (s[1] ^ s[2]) >>> 0;
    s[0] = (s[0] ^ s[3]) >>> 0;
    s[2] = (s[2] ^ t) >>> 0;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A uniform integer in [0, n), without modulo bias (rejection sampling); n <= 2^32. */
  below(n: number): number {
    if (!(n > 0 && n <= 2 ** 32 && Number.isInteger(n))) throw new Error(`Rng.below: bad bound ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    let x: number;
    do x = this.nextUint32();
    while (x >= limit);
    return x % n;
  }

  /** A float in [0, 1) with 32 random bits. */
  nextFloat(): number {
    return this.nextUint32() / 2 ** 32;
  }

  /** Shuffles in place (Fisher-Yates). */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }
}

/** The permutation of 0..n-1 for (seed, epoch): the same on every run. */
export function permutation(n: number, seed: number, epoch: number): number[] {
  return new Rng(seed, epoch).shuffle(Array.from({ length: n }, (_, i) => i));
}
