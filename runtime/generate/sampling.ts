/**
 * Choosing the next token from a language model's logits: greedy, or sampling with
 * temperature, top-k and top-p (nucleus), applied in that order as Hugging Face's
 * `generate` does. Pure arithmetic on arrays with the runtime's own seeded generator, so it
 * runs in a browser as well as in Node and the same seed gives the same tokens everywhere.
 *
 * Probabilities are computed in float64 from the float32 logits; ties in ordering go to the
 * smaller token id, so the candidates kept by top-k / top-p never depend on sort stability.
 */
import type { Rng } from '../data/prng.ts';

export interface SamplingOptions {
  /**
   * Divides the logits before the softmax: below 1 sharpens, above 1 flattens. 0 means greedy.
   * Default 1.
   */
  temperature?: number;
  /** Keep only the k most probable tokens (undefined or 0: all). */
  topK?: number;
  /** Keep the most probable tokens whose probabilities sum to at least p (undefined or 1: all). */
  topP?: number;
  /** Sample (true) or take the most probable token (false, the default). */
  sample?: boolean;
}

/** One candidate token with its probability under the options' distribution. */
export interface TokenProbability {
  id: number;
  probability: number;
}

/** Checks the options; returns a message for the first bad one. */
export function samplingProblem(opts: SamplingOptions): string | undefined {
  const { temperature, topK, topP } = opts;
  if (temperature !== undefined && !(Number.isFinite(temperature) && temperature >= 0)) return `temperature must be a number >= 0, got ${temperature}`;
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0)) return `top-k must be an integer >= 0, got ${topK}`;
  if (topP !== undefined && !(Number.isFinite(topP) && topP > 0 && topP <= 1)) return `top-p must be in (0, 1], got ${topP}`;
  return undefined;
}

/** Index of the largest logit, the smallest index on ties; NaN logits are never chosen. */
export function argmax(logits: ArrayLike<number>): number {
  let best = -1;
  let value = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > value || (best < 0 && v === -Infinity)) {
      best = i;
      value = v;
    }
  }
  if (best < 0) throw new Error('argmax: every logit is NaN');
  return best;
}

/** softmax(logits / temperature) over every token, in float64. */
export function softmax(logits: ArrayLike<number>, temperature = 1): Float64Array {
  const n = logits.length;
  const out = new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i]! > max) max = logits[i]!;
  if (max === -Infinity || Number.isNaN(max)) throw new Error('softmax: no finite logit');
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = logits[i]!;
    const e = Number.isNaN(v) ? 0 : Math.exp((v - max) / temperature);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) out[i]! /= sum;
  return out;
}

/** Token ids by probability, most probable first (smaller id first on ties). */
function ranked(probabilities: Float64Array): number[] {
  const ids = Array.from({ length: probabilities.length }, (_, i) => i);
  return ids.sort((a, b) => probabilities[b]! - probabilities[a]! || a - b);
}

/** The `k` most probable tokens of softmax(logits) with their probabilities: what `infer` prints for a language model. */
export function topTokens(logits: ArrayLike<number>, k: number): TokenProbability[] {
  const p = softmax(logits);
  return ranked(p).slice(0, k).map((id) => ({ id, probability: p[id]! }));
}

/**
 * The distribution sampling draws from: softmax at the temperature, cut to top-k then to
 * top-p, renormalised. Most probable first. Greedy options give the single argmax token.
 */
export function candidates(logits: ArrayLike<number>, opts: SamplingOptions = {}): TokenProbability[] {
  const problem = samplingProblem(opts);
  if (problem) throw new RangeError(problem);
  const temperature = opts.temperature ?? 1;
  if (!opts.sample || temperature === 0) return [{ id: argmax(logits), probability: 1 }];
  const p = softmax(logits, temperature);
  let order = ranked(p);
  if (opts.topK) order = order.slice(0, opts.topK);
  if (opts.topP !== undefined && opts.topP < 1) {
    let total = 0;
    let keep = 0;
    // The smallest prefix reaching p; always at least the most probable token.
    while (keep < order.length && (keep === 0 || total < opts.topP)) total += p[order[keep++]!]!;
    order = order.slice(0, keep);
  }
  order = order.filter((id, i) => i === 0 || p[id]! > 0);
  const sum = order.reduce((s, id) => s + p[id]!, 0);
  return order.map((id) => ({ id, probability: p[id]! / sum }));
}

/** The next token: the argmax, or a draw from `candidates` with `rng`. */
export function chooseToken(logits: ArrayLike<number>, opts: SamplingOptions, rng: Rng): number {
  const pool = candidates(logits, opts);
  if (pool.length === 1) return pool[0]!.id;
  const u = rng.nextFloat();
  let acc = 0;
  for (const c of pool) {
    acc += c.probability;
    if (u < acc) return c.id;
  }
  // Rounding left the sum a hair below 1 and u above it: the last candidate.
  return pool[pool.length - 1]!.id;
}
