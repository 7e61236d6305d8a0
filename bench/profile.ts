/**
 * Where a training step's time goes: runs the train graph of compiled artifacts with ORT's
 * profiler on (the `enableProfiling` session option writes one JSON event per node run) and
 * prints the kernel time per step by op type, and by part of the graph (forward, backward,
 * optimizer: the compiler's node-name prefixes), slowest first. The session is opened as the
 * trainer opens it (its trainSessionSettings: arena on, memory pattern off, prepacking as the trainer decides).
 *
 *   npx tsx bench/profile.ts ARTIFACTS_DIR [--batch 8] [--seq 128] [--steps 3] [--threads 2] [--top 25]
 *                            [--nodes 0] [--no-arena] [--keep-profile FILE]
 *
 * --nodes N also lists the N slowest nodes; --no-arena turns ORT's CPU memory arena off (the
 * trainer's `memoryArena` setting), to see what allocation costs; --keep-profile FILE copies
 * ORT's JSON profile there (each node event carries its input and output shapes).
 */
import * as ort from 'onnxruntime-node';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { baseOptions } from '../runtime/session.ts';
import { trainSessionSettings } from '../runtime/trainer.ts';
import { aggregateProfile, type ProfileEvent } from './profile-aggregate.ts';
import { trainFeeds } from './train-feeds.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { batch: { type: 'string', default: '8' }, seq: { type: 'string', default: '128' }, steps: { type: 'string', default: '3' }, threads: { type: 'string', default: '2' }, top: { type: 'string', default: '25' }, nodes: { type: 'string', default: '0' }, 'no-arena': { type: 'boolean', default: false }, 'keep-profile': { type: 'string' } },
});
const dir = positionals[0];
if (!dir) throw new Error('usage: npx tsx bench/profile.ts ARTIFACTS_DIR [--batch N] [--seq N] [--steps N] [--threads N]');
const B = Number(values.batch), S = Number(values.seq), STEPS = Number(values.steps);

const { manifest, feeds } = trainFeeds(dir, B, S, STEPS);
const graph = manifest.graphs.train;

const out = mkdtempSync(join(tmpdir(), 'lor2c-profile-'));
try {
  const settings = trainSessionSettings(graph, { hidden: manifest.blocks.hidden, rows: B * S }, { intraOpThreads: Number(values.threads), ...(values['no-arena'] ? { memoryArena: false } : {}) });
  const session = await ort.InferenceSession.create(join(dir, graph.file), {
    ...baseOptions(settings), enableProfiling: true, profileFilePrefix: join(out, 'train'), logSeverityLevel: 3,
  });
  await session.run(feeds); // warm-up: counted out below by its run index
  for (let i = 0; i < STEPS; i++) await session.run(feeds);
  session.endProfiling();
  await session.release();
  const file = readdirSync(out).find((f) => f.endsWith('.json'));
  if (!file) throw new Error(`ORT wrote no profile into ${out}`);
  if (values['keep-profile']) copyFileSync(join(out, file), values['keep-profile']);
  const events = JSON.parse(readFileSync(join(out, file), 'utf8')) as ProfileEvent[];
  const report = aggregateProfile(events, { skipRuns: 1 });
  console.log(`profile   ${dir}: ${report.runs} runs of batch ${B} x ${S} after a warm-up; ${(report.runMs).toFixed(0)} ms a run (model_run), ${(report.kernelMs).toFixed(0)} ms of it in kernels`);
  console.log('by part   ' + report.byPart.map((p) => `${p.key} ${p.ms.toFixed(0)} ms`).join(', '));
  console.log('op type                      ms/run   share   nodes');
  for (const r of report.byOp.slice(0, Number(values.top))) console.log(`${r.key.padEnd(26)} ${r.ms.toFixed(1).padStart(8)} ${(100 * r.ms / report.kernelMs).toFixed(1).padStart(6)}% ${String(r.nodes).padStart(7)}`);
  if (Number(values.nodes) > 0) console.log('slowest nodes (ms/run):');
  for (const r of report.byNode.slice(0, Number(values.nodes))) console.log(`${r.ms.toFixed(1).padStart(8)}  ${r.key}`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
