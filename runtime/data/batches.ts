/**
 * Which examples make up each batch. An epoch's batches are a pure function of (seed, epoch),
 * so the data position of a run is just (epoch, batch) and resuming needs nothing else:
 * the permutation of epoch e is recomputed from the seed.
 *
 * Length bucketing (optional) groups examples of similar length so padding wastes less: the
 * epoch's permutation is cut into chunks of `bucket` batches, each chunk is sorted by length
 * (stable), cut into batches, and the order of all batches in the epoch is shuffled again.
 */
import { Rng, permutation } from './prng.ts';

export interface DataPosition {
  epoch: number;
  /** Batches of this epoch already consumed. */
  batch: number;
}

export interface BatchPlanOptions {
  batchSize: number;
  seed: number;
  /** Shuffle each epoch (default true; evaluation uses false). */
  shuffle?: boolean;
  /** Bucket by length over chunks of this many batches (0 or undefined: no bucketing). */
  bucket?: number;
  /** Drop a last partial batch (needed when the graph has a fixed batch size). */
  dropLast?: boolean;
}

/** Stream key that separates the batch-order shuffle from the example permutation. */
const BATCH_ORDER_STREAM = 0x62617463;

export class BatchPlan {
  private cachedEpoch = -1;
  private cached: number[][] = [];

  constructor(
    /** Per-example lengths (their count is the dataset size). */
    private readonly lengths: readonly number[],
    readonly opts: BatchPlanOptions,
  ) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize <= 0) throw new Error(`batch size must be a positive integer, got ${opts.batchSize}`);
    if (this.batchesPerEpoch === 0) throw new Error(`${lengths.length} examples make no full batch of ${opts.batchSize}`);
  }

  get batchesPerEpoch(): number {
    const n = this.lengths.length, b = this.opts.batchSize;
    return this.opts.dropLast ? Math.floor(n / b) : Math.ceil(n / b);
  }

  /** Every batch of an epoch, as example indices. */
  epoch(epoch: number): number[][] {
    if (epoch === this.cachedEpoch) return this.cached;
    const n = this.lengths.length;
    const { batchSize, seed } = this.opts;
    const order = this.opts.shuffle === false ? Array.from({ length: n }, (_, i) => i) : permutation(n, seed, epoch);
    let batches: number[][] = [];
    const bucket = this.opts.bucket ?? 0;
    if (bucket > 0) {
      const chunk = bucket * batchSize;
      for (let start = 0; start < n; start += chunk) {
        const part = order.slice(start, start + chunk).sort((a, b) => this.lengths[a]! - this.lengths[b]!);
        for (let i = 0; i < part.length; i += batchSize) batches.push(part.slice(i, i + batchSize));
      }
      if (this.opts.dropLast) batches = batches.filter((b) => b.length === batchSize);
      if (this.opts.shuffle !== false) new Rng(seed, epoch, BATCH_ORDER_STREAM).shuffle(batches);
    } else {
      for (let i = 0; i < n; i += batchSize) batches.push(order.slice(i, i + batchSize));
      if (this.opts.dropLast) batches = batches.filter((b) => b.length === batchSize);
    }
    this.cachedEpoch = epoch;
    this.cached = batches;
    return batches;
  }

  /** The batch at a position (the position must be within its epoch). */
  batchAt(pos: DataPosition): number[] {
    const batches = this.epoch(pos.epoch);
    const b = batches[pos.batch];
    if (!b) throw new RangeError(`data position (${pos.epoch}, ${pos.batch}) is past the ${batches.length} batches of the epoch`);
    return b;
  }

  /** The position after consuming the batch at `pos`. */
  next(pos: DataPosition): DataPosition {
    const count = this.epoch(pos.epoch).length;
    return pos.batch + 1 >= count ? { epoch: pos.epoch + 1, batch: 0 } : { epoch: pos.epoch, batch: pos.batch + 1 };
  }
}
