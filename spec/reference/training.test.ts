/**
 * lor2c's training against the PyTorch reference, over the whole run, as a user runs it:
 * `lor2c compile SPEC --model M --out DIR` then `lor2c train DIR --data F --init INIT --no-shuffle
 * --steps N --log LOG --checkpoint CKPT` (the CLI's main(), in-process), for every reference
 * scenario (spec/fixtures/reference/, conventions in the README there) on both opsets of its model.
 * Compared with what torch recorded:
 * - the loss of every step (the log), float32 noise only;
 * - the LR of every step (the log), to the float32 rounding of torch's value;
 * - the Merge/Inject events: the same steps, pairs, merged ids, injected modules, and the SFS of
 *   every module behind each decision;
 * - the final parameters (the last checkpoint) against `<scenario>.final.safetensors`, the same
 *   names (the structure at the end), and each tensor's AdamW update count (`adam_t`) against
 *   torch's per-parameter step;
 * - the step-0 gradients against `<scenario>.grads0.safetensors`: a one-step run of the same
 *   artifacts; its first AdamW moment is m = (1 - beta1) g exactly as the train graph rounds it
 *   (m starts at 0), so g = m / fround(1 - beta1) is the train graph's own gradient to an ulp;
 * - the same at torch's final values (`gradsfinal`, where A's gradients are not zero), with the
 *   artifacts of the final structure (after Merge/Inject: the runtime's recompile of the last point).
 */
import test from 'ava';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCheckpoint, type Float32Tensor } from '../../runtime/checkpoint.ts';
import { readTrainingLog } from '../../runtime/log.ts';
import { cli, maxAbsDiff, safetensors } from './support.ts';

const DIR = fileURLToPath(new URL('../fixtures/reference/', import.meta.url));

/** Tolerances: float32 over 16-20 AdamW steps (measured worst over the 20 runs: loss 4.8e-7, parameters 7.5e-7, gradients 3.7e-8). */
const LOSS_ABS = 5e-6;
const PARAM_ABS = 1e-5;
const GRAD_ABS = 1e-6;
const SFS_REL = 1e-4;

/** The train graph's gradient on the first batch at `init`: the first moment of a one-step run, over 1 - beta1. */
async function firstGradients(artifacts: string, s: Scenario, init: string, ckpt: string): Promise<{ code: number; out: string; grads?: Map<string, Float32Array> }> {
  const run = await cli('train', artifacts, '--data', join(DIR, s.data), '--init', init, '--no-shuffle', '--steps', '1', '--checkpoint', ckpt);
  if (run.code !== 0) return run;
  const oneMinusBeta1 = Math.fround(1 - s.settings.optimizer.betas[0]);
  const grads = new Map<string, Float32Array>();
  for (const [key, m] of readCheckpoint(ckpt).optimizer) if (key.endsWith(':adam_m')) grads.set(key.slice(0, -':adam_m'.length), m.data.map((x) => x / oneMinusBeta1));
  return { ...run, grads };
}

/** Worst abs difference of gradients by name (every reference tensor must be present) and the largest reference magnitude. */
function compareGradients(got: ReadonlyMap<string, Float32Array>, want: ReadonlyMap<string, Float32Array>, what: string, problems: string[]): { worst: number; name: string; largest: number } {
  let worst = 0, name = '', largest = 0;
  if (got.size !== want.size) problems.push(`${what}: ${got.size} gradients, torch has ${want.size}`);
  for (const [n, ref] of want) {
    const g = got.get(n);
    if (!g) {
      problems.push(`${what}: no gradient for ${n}`);
      continue;
    }
    const d = maxAbsDiff(g, ref);
    if (d > worst) [worst, name] = [d, n];
    largest = Math.max(largest, ...ref.map(Math.abs));
  }
  if (worst > GRAD_ABS) problems.push(`${what} of ${name} differs by ${worst.toExponential(2)}`);
  return { worst, name, largest };
}

interface Scenario {
  scenario: string;
  model: string;
  also_matches: string;
  spec: string;
  data: string;
  init: string;
  settings: { steps: number; optimizer: { betas: [number, number] } };
  results: {
    loss: number[];
    lr: number[];
    events: RefEvent[];
    final: string;
    grads0: string;
    grads_final: string;
    optimizer_update_counts: Record<string, number>;
  };
}
type RefEvent =
  | { step: number; type: 'merge'; pair: [string, string]; merged: string; score: number; sfs: Record<string, number> }
  | { step: number; type: 'inject'; removed: string; block: number; rank: number; targets: string[]; sfs: Record<string, number> };
type LogRecord = { type: string; step: number } & Record<string, unknown>;

const scenarios: Scenario[] = readdirSync(DIR)
  .filter((f) => /^[a-z]-[a-z0-9-]+\.json$/.test(f))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Scenario);

const work = mkdtempSync(join(tmpdir(), 'lor2c-reference-training-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-30);
}

/** Worst relative difference between lor2c's logged SFS and torch's, over torch's modules (all must be logged). */
function sfsDiff(got: unknown, want: Record<string, number>, what: string, problems: string[]): number {
  const logged = (got ?? {}) as Record<string, number>;
  let worst = 0;
  for (const [id, v] of Object.entries(want)) {
    if (typeof logged[id] !== 'number') problems.push(`${what}: no SFS logged for ${id}`);
    else worst = Math.max(worst, relErr(logged[id]!, v));
  }
  return worst;
}

/** Differences between the structural events of the log and torch's; returns the worst SFS difference. */
function compareEvents(log: LogRecord[], ref: RefEvent[], problems: string[]): number {
  // Structural events only: the log also holds the run's header and a record per step.
  const logged = log.filter((r) => r.type === 'merge' || r.type === 'inject' || r.type === 'merge+inject');
  const steps = [...new Set(ref.map((e) => e.step))];
  const loggedSteps = logged.map((r) => r.step);
  if (JSON.stringify(loggedSteps) !== JSON.stringify(steps)) problems.push(`structural events at steps ${JSON.stringify(loggedSteps)}, torch's at ${JSON.stringify(steps)}`);
  let worst = 0;
  for (const step of steps) {
    const got = logged.find((r) => r.step === step);
    if (!got) continue;
    const merge = ref.find((e) => e.step === step && e.type === 'merge') as Extract<RefEvent, { type: 'merge' }> | undefined;
    const inject = ref.find((e) => e.step === step && e.type === 'inject') as Extract<RefEvent, { type: 'inject' }> | undefined;
    const type = merge && inject ? 'merge+inject' : merge ? 'merge' : 'inject';
    if (got.type !== type) problems.push(`step ${step}: event '${got.type}', torch did '${type}'`);
    if (merge) {
      if (JSON.stringify(got.merged) !== JSON.stringify(merge.pair)) problems.push(`step ${step}: merged ${JSON.stringify(got.merged)}, torch ${JSON.stringify(merge.pair)}`);
      if (got.into !== merge.merged) problems.push(`step ${step}: merged into ${String(got.into)}, torch ${merge.merged}`);
      if (typeof got.score !== 'number' || relErr(got.score, merge.score) > SFS_REL) problems.push(`step ${step}: merge score ${String(got.score)}, torch ${merge.score}`);
      worst = Math.max(worst, sfsDiff(got.sfs, merge.sfs, `step ${step} merge`, problems));
    }
    if (inject) {
      if (got.injected !== inject.removed) problems.push(`step ${step}: injected ${String(got.injected)}, torch ${inject.removed}`);
      if (got.block !== inject.block || got.rank !== inject.rank) problems.push(`step ${step}: LoRA rank ${String(got.rank)} on block ${String(got.block)}, torch rank ${inject.rank} on ${inject.block}`);
      if (JSON.stringify(got.targets) !== JSON.stringify(inject.targets)) problems.push(`step ${step}: LoRA on ${JSON.stringify(got.targets)}, torch ${JSON.stringify(inject.targets)}`);
      // The inject metric's SFS is logged as injectSfs when it differs from the merge metric's.
      worst = Math.max(worst, sfsDiff(got.injectSfs ?? got.sfs, inject.sfs, `step ${step} inject`, problems));
    }
  }
  return worst;
}

function countsOf(optimizer: ReadonlyMap<string, Float32Tensor>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, t] of optimizer) if (key.endsWith(':adam_t')) out[key.slice(0, -':adam_t'.length)] = t.data[0]!;
  return out;
}

for (const s of scenarios) {
  for (const model of [s.model, s.also_matches.split(' ')[0]!]) {
    // Serial: the CLI's output is captured by swapping console and process streams.
    test.serial(`${s.scenario} on ${model}: lor2c compile + train matches torch over ${s.settings.steps} steps`, async (t) => {
      const dir = join(work, `${s.scenario}-${model.replace('.onnx', '')}`);
      const artifacts = join(dir, 'artifacts');
      const compiled = await cli('compile', join(DIR, s.spec), '--model', join(DIR, model), '--out', artifacts);
      t.is(compiled.code, 0, compiled.out);
      const steps = s.settings.steps;
      const logPath = join(dir, 'log.jsonl');
      const trained = await cli('train', artifacts, '--data', join(DIR, s.data), '--init', join(DIR, s.init), '--no-shuffle',
        '--steps', String(steps), '--log', logPath, '--checkpoint', join(dir, 'ckpt'));
      t.is(trained.code, 0, trained.out);
      const log = readTrainingLog(logPath);
      const problems: string[] = [];

      // Loss and LR of every step.
      const stepRecords = log.filter((r) => r.type === 'step');
      t.deepEqual(stepRecords.map((r) => r.step), Array.from({ length: steps }, (_, i) => i + 1), 'one log record a step');
      let lossWorst = 0, lossWorstStep = 0;
      stepRecords.forEach((r, i) => {
        const d = Math.abs((r.loss as number) - s.results.loss[i]!);
        if (d > lossWorst) [lossWorst, lossWorstStep] = [d, i + 1];
        // lor2c's LR is float64 in the graph, reported as float32: torch's float64 value rounded so.
        if (r.lr !== Math.fround(s.results.lr[i]!)) problems.push(`step ${i + 1}: lr ${String(r.lr)}, torch ${s.results.lr[i]}`);
      });
      if (lossWorst > LOSS_ABS) problems.push(`loss differs by ${lossWorst.toExponential(2)} at step ${lossWorstStep}`);
      // The comparison can fail: the loss moved far more than the tolerance over the run.
      const moved = Math.max(...s.results.loss) - Math.min(...s.results.loss);
      t.true(moved > 100 * LOSS_ABS, `torch's loss moved by ${moved} only`);

      // Merge / Inject decisions and the SFS behind them.
      const sfsWorst = compareEvents(log, s.results.events, problems);

      // Final parameters (the structure at the end) and each tensor's AdamW update count.
      const ckpt = readCheckpoint(join(dir, 'ckpt'));
      t.is(ckpt.step, steps);
      const want = safetensors(join(DIR, s.results.final));
      t.deepEqual([...ckpt.parameters.keys()].sort(), [...want.keys()].sort(), 'trainable tensors at the end');
      let paramWorst = 0, paramWorstName = '';
      for (const [name, values] of want) {
        const got = ckpt.parameters.get(name);
        if (!got) continue;
        const d = maxAbsDiff(got.data, values);
        if (d > paramWorst) [paramWorst, paramWorstName] = [d, name];
      }
      if (paramWorst > PARAM_ABS) problems.push(`final ${paramWorstName} differs by ${paramWorst.toExponential(2)}`);
      t.deepEqual(countsOf(ckpt.optimizer), s.results.optimizer_update_counts, 'AdamW updates per tensor (fresh state after Merge/Inject)');

      // Gradients on the first batch: at the initial values with the compiled artifacts, and at
      // torch's final values with the artifacts the run ended on (the last recompile, if any).
      const atStart = await firstGradients(artifacts, s, join(DIR, s.init), join(dir, 'ckpt-grads0'));
      t.is(atStart.code, 0, atStart.out);
      const g0 = compareGradients(atStart.grads!, safetensors(join(DIR, s.results.grads0)), 'step-0 gradient', problems);
      t.true(g0.largest > 100 * GRAD_ABS, `torch's step-0 gradients are all below ${g0.largest}`);
      const finalArtifacts = ckpt.artifacts;
      t.is(finalArtifacts === artifacts, s.results.events.length === 0, `the run ended on ${finalArtifacts}`);
      const atEnd = await firstGradients(finalArtifacts, s, join(DIR, s.results.final), join(dir, 'ckpt-gradsfinal'));
      t.is(atEnd.code, 0, atEnd.out);
      const gf = compareGradients(atEnd.grads!, safetensors(join(DIR, s.results.grads_final)), 'gradient at the final values', problems);

      t.log(`${s.scenario} on ${model}: worst |loss - torch| ${lossWorst.toExponential(2)} (step ${lossWorstStep}), final params ${paramWorst.toExponential(2)} (${paramWorstName}), grads0 ${g0.worst.toExponential(2)} (${g0.name}), grads at the end ${gf.worst.toExponential(2)} (${gf.name}), SFS rel ${sfsWorst.toExponential(2)}, ${s.results.events.length} events`);
      t.deepEqual(problems, []);
    });
  }
}
