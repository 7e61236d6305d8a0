/**
 * What a benchmark feeds a compiled train graph without the data layer: the parameters from
 * the artifacts, zeroed optimizer state, token batches of a chosen size (indices spread over
 * each input's declared bounds, an all-ones attention mask) and the step counters. Shared by
 * bench/profile.ts and bench/ab.ts, so both time the same run.
 */
import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '../contract/manifest.ts';
import { nodeHost } from '../runtime/node-host.ts';

export interface TrainRun {
  manifest: Manifest;
  feeds: Record<string, ort.Tensor>;
}

/** `steps`: how many runs will follow, for the schedule's total. */
export function trainFeeds(dir: string, batch: number, seq: number, steps: number): TrainRun {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const graph = manifest.graphs.train;
  const params = nodeHost.readParameters(manifest, dir, undefined);
  const feeds: Record<string, ort.Tensor> = {};
  for (const io of graph.inputs) {
    if (io.role === 'param') feeds[io.name] = new ort.Tensor('float32', params.get(io.name)!.data as Float32Array, params.get(io.name)!.shape);
    else if (io.role === 'state') {
      // The slot's own shape: the parameter's for moments, a scalar for the update count.
      const dims = io.shape.map(Number);
      feeds[io.name] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, d) => a * d, 1)), dims);
    } else if (io.role === 'batch') {
      if (io.dtype !== 'int64') throw new Error(`batch input ${io.name} is ${io.dtype}: only token inputs are generated`);
      const dims = io.shape.length === 1 ? [batch] : [batch, seq];
      const max = io.bounds?.values?.max ?? 1;
      const data = BigInt64Array.from({ length: dims.reduce((a, d) => a * d, 1) }, (_, i) => BigInt(io.name === 'attention_mask' ? 1 : (i * 131 + 7) % (max + 1)));
      feeds[io.name] = new ort.Tensor('int64', data, dims);
    } else if (io.role === 'apply') feeds[io.name] = new ort.Tensor('bool', Uint8Array.of(1), []);
    else feeds[io.name] = new ort.Tensor('int64', BigInt64Array.of(io.slot === 'total_steps' ? BigInt(steps + 1) : 0n), []);
  }
  return { manifest, feeds };
}
