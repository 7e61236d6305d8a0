/**
 * Two compilations of one model side by side: opens the train graphs of artifact folders A and
 * B in one process (the trainer's session settings) and runs them in turn on the same inputs,
 * A B A B, so both meet the machine in the same state: on a shared machine a step's time drifts
 * by several percent within minutes, more than most single compiler changes save. Prints each
 * round's times, the medians, the median of the per-round ratios B / A, and how far apart the
 * two graphs' outputs are (the largest absolute difference per output, and how many are
 * bit-identical).
 *
 *   npx tsx bench/ab.ts DIR_A DIR_B [--batch 8] [--seq 128] [--rounds 8] [--threads 2]
 *
 * Make A and B with `npx tsx bench/lor2c.ts --steps 1 --keep DIR` before and after a change.
 */
import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { baseOptions } from '../runtime/session.ts';
import { trainSessionSettings } from '../runtime/trainer.ts';
import { median } from './measure.ts';
import { trainFeeds } from './train-feeds.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { batch: { type: 'string', default: '8' }, seq: { type: 'string', default: '128' }, rounds: { type: 'string', default: '8' }, threads: { type: 'string', default: '2' } },
});
const [dirA, dirB] = positionals;
if (!dirA || !dirB) throw new Error('usage: npx tsx bench/ab.ts DIR_A DIR_B [--batch N] [--seq N] [--rounds N] [--threads N]');
const B = Number(values.batch), S = Number(values.seq), ROUNDS = Number(values.rounds);

async function open(dir: string) {
  const run = trainFeeds(dir, B, S, ROUNDS);
  const graph = run.manifest.graphs.train;
  const settings = trainSessionSettings(graph, { hidden: run.manifest.blocks.hidden, rows: B * S }, { intraOpThreads: Number(values.threads) });
  const session = await ort.InferenceSession.create(join(dir, graph.file), { ...baseOptions(settings), logSeverityLevel: 3 });
  return { session, feeds: run.feeds };
}

async function timed(g: Awaited<ReturnType<typeof open>>): Promise<{ ms: number; outputs: ort.InferenceSession.OnnxValueMapType }> {
  const t0 = performance.now();
  const outputs = await g.session.run(g.feeds);
  return { ms: performance.now() - t0, outputs };
}

const a = await open(dirA);
const b = await open(dirB);
// Warm-up: the first run of a session allocates and packs.
const first = [await timed(a), await timed(b)];
const times: [number, number][] = [];
for (let i = 0; i < ROUNDS; i++) {
  const ta = (await timed(a)).ms;
  const tb = (await timed(b)).ms;
  times.push([ta, tb]);
  console.log(`round ${String(i + 1).padStart(2)}  A ${ta.toFixed(0).padStart(6)} ms  B ${tb.toFixed(0).padStart(6)} ms  B/A ${(tb / ta).toFixed(3)}`);
}
const medA = median(times.map((t) => t[0]));
const medB = median(times.map((t) => t[1]));
console.log(`median    A ${medA.toFixed(0)} ms  B ${medB.toFixed(0)} ms  (B/A of the medians ${(medB / medA).toFixed(3)}, median of the rounds' B/A ${median(times.map((t) => t[1] / t[0])).toFixed(3)})`);

// The warm-up runs saw the same feeds: their outputs say whether B computes what A does.
const [oa, ob] = [first[0]!.outputs, first[1]!.outputs];
let identical = 0;
let compared = 0;
const differing: { name: string; diff: number }[] = [];
for (const name of Object.keys(oa)) {
  const x = oa[name]!.data, y = ob[name]?.data;
  if (!(x instanceof Float32Array) || !(y instanceof Float32Array) || x.length !== y.length) continue;
  let diff = 0;
  for (let i = 0; i < x.length; i++) {
    compared++;
    if (Object.is(x[i], y[i])) identical++;
    else diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
  }
  if (diff > 0) differing.push({ name, diff });
}
const largest = differing.sort((p, q) => q.diff - p.diff).slice(0, 5).map((d) => `${d.name} ${d.diff.toExponential(2)}`);
console.log(`outputs   ${identical} of ${compared} float values bit-identical${largest.length ? `; largest differences: ${largest.join(', ')}` : ''}`);
await a.session.release();
await b.session.release();
