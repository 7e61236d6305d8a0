import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PREPACK_UP_TO, prepackByDefault, rowsPerRun, Trainer, trainSessionSettings, type TrainerOptions } from '../../runtime/trainer.ts';
import { nodeHost } from '../../runtime/node-host.ts';
import type { TrainerHost } from '../../runtime/trainer-host.ts';
import type { SessionSettings } from '../../runtime/session.ts';
import { readCheckpoint, type Float32Tensor } from '../../runtime/checkpoint.ts';
import { readTrainingLog } from '../../runtime/log.ts';
import { float32Entry } from '../../contract/safetensors.ts';
import { writeSafetensors } from '../../contract/safetensors-file.ts';
import { writeTinyArtifacts, writeTinyData } from './fixtures/tiny-artifacts.ts';
import { recordSessions } from '../support/session-recorder.ts';
import type { Plan } from '../../contract/plan.ts';

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'lor2c-train-'));
  const artifacts = join(dir, 'artifacts');
  writeTinyArtifacts(artifacts);
  const data = join(dir, 'train.jsonl');
  writeTinyData(data, 90, { seed: 1 });
  const evalData = join(dir, 'eval.jsonl');
  writeTinyData(evalData, 60, { seed: 2 });
  return { dir, artifacts, data, evalData };
}

const base = (w: ReturnType<typeof workspace>, extra: Partial<TrainerOptions> = {}): TrainerOptions => ({
  artifacts: w.artifacts, data: w.data, batchSize: 8, seed: 3, progress: false, session: { intraOpThreads: 1 }, ...extra,
});

function snapshot(params: ReadonlyMap<string, Float32Tensor>): Record<string, number[]> {
  return Object.fromEntries([...params].map(([k, v]) => [k, [...v.data]]));
}

test('loss decreases, evaluation runs on schedule, the log has one object a step', async (t) => {
  const w = workspace();
  const log = join(w.dir, 'log.jsonl');
  const trainer = await Trainer.open(base(w, { steps: 40, evalData: w.evalData, evalEvery: 20, log, checkpoint: join(w.dir, 'ckpt') }), nodeHost);
  const before = (await trainer.evaluate()).loss!;
  const result = await trainer.run();
  t.is(result.status, 'done');
  t.is(result.step, 40);
  t.true(result.metrics!.loss! < before * 0.6, `eval loss ${before} -> ${result.metrics!.loss}`);
  t.true(result.metrics!.accuracy! > 0.8, `accuracy ${result.metrics!.accuracy}`);
  for (const k of ['loss', 'accuracy', 'f1', 'mcc']) t.true(Number.isFinite(result.metrics![k]!), k);
  const all = readTrainingLog(log);
  const header = all[0]!;
  t.is(header.type, 'header', 'a fresh log starts with the run settings');
  t.like(header, { settings: { steps: 40, evalEvery: 20 } });
  t.is((header.parameters as unknown[]).length, trainer.manifest.parameters.length);
  const recs = all.filter((r) => r.type === 'step');
  t.is(recs.length, 40);
  t.deepEqual(Object.keys(recs[0]!).sort(), ['bytes', 'epoch', 'examples', 'loss', 'lr', 'seconds', 'step', 'type']);
  // What crossed into ORT and back: every parameter and optimizer-state tensor both ways, the batch in.
  const sizeOf = (name: string) => 4 * trainer.manifest.parameters.find((p) => p.name === name)!.shape.reduce((a, b) => a * b, 1);
  const paramBytes = trainer.manifest.parameters.reduce((s, p) => s + sizeOf(p.name), 0);
  const stateBytes = trainer.manifest.graphs.train.inputs.filter((io) => io.role === 'state').reduce((s, io) => s + sizeOf(io.of!), 0);
  t.true(stateBytes > 0);
  t.like(recs[0]!.bytes, { params_in: paramBytes, params_out: paramBytes, state_in: stateBytes, state_out: stateBytes });
  t.true((recs[0]!.bytes as { batch: number }).batch > 0);
  t.is(recs[0]!.lr, 0.5);
  t.true(Math.abs((recs[39]!.lr as number) - 0.5 / (1 + 0.01 * 39)) < 1e-7, 'lr comes from the graph');
  t.truthy(recs[19]!.eval);
  t.truthy(recs[39]!.eval);
  t.falsy(recs[20]!.eval);
  const firstLosses = recs.slice(0, 5).reduce((s, r) => s + (r.loss as number), 0);
  const lastLosses = recs.slice(35).reduce((s, r) => s + (r.loss as number), 0);
  t.true(lastLosses < firstLosses * 0.6, `train loss ${firstLosses / 5} -> ${lastLosses / 5}`);
  t.is(result.best!.metric, 'accuracy');
  t.is(readCheckpoint(join(w.dir, 'ckpt'), 'best').step, result.best!.step);
  t.is(readCheckpoint(join(w.dir, 'ckpt')).step, 40);
});

test('the train graph is opened with ORT\'s arena (its steps reallocate the same activations), with weight prepacking when its packed copies are small, and without ORT\'s memory pattern (a second block of activations), other graphs with the settings given', async (t) => {
  const w = workspace();
  const opened: [string, SessionSettings | undefined][] = [];
  const host: TrainerHost = { ...nodeHost, openGraph: (dir, file, settings) => (opened.push([file, settings]), nodeHost.openGraph(dir, file, settings)) };
  const trainer = await Trainer.open(base(w, { steps: 1, evalData: w.evalData }), host);
  await trainer.run();
  t.is(trainer.manifest.graphs.train.prepackBytes, undefined, 'hand-built artifacts carry no estimate');
  t.deepEqual(opened, [[trainer.manifest.graphs.train.file, { intraOpThreads: 1, memoryArena: true, weightPrepacking: false, memoryPattern: false }], [trainer.manifest.graphs.eval.file, { intraOpThreads: 1 }]]);
  opened.length = 0;
  const manifestPath = join(w.artifacts, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  manifest.graphs.train.prepackBytes = 4096;
  writeFileSync(manifestPath, JSON.stringify(manifest));
  await Trainer.open(base(w, { steps: 1 }), host);
  t.like(opened[0]![1], { weightPrepacking: true }, 'packed copies of 4 KiB: packed');
  opened.length = 0;
  await Trainer.open(base(w, { steps: 1, session: { memoryArena: false, weightPrepacking: true, memoryPattern: true } }), host);
  t.deepEqual(opened, [[trainer.manifest.graphs.train.file, { memoryArena: false, weightPrepacking: true, memoryPattern: true }]], 'an explicit setting wins');
});

test('weight prepacking by default only when the compiler says its packed copies are at most PREPACK_UP_TO bytes and a run computes at least d / 2 rows (older artifacts say nothing: not packed)', (t) => {
  const graph = (prepackBytes?: number) => ({ file: 'train.onnx', inputs: [], outputs: [], ...(prepackBytes === undefined ? {} : { prepackBytes }) });
  const bert = (rows: number) => ({ hidden: 768, rows });
  t.true(prepackByDefault(graph(0), bert(1024)));
  t.true(prepackByDefault(graph(PREPACK_UP_TO), bert(1024)));
  t.false(prepackByDefault(graph(PREPACK_UP_TO + 1), bert(1024)), 'a 1.1B base: 4 GiB more');
  t.true(prepackByDefault(graph(300 * 2 ** 20), bert(384)));
  t.false(prepackByDefault(graph(300 * 2 ** 20), bert(383)), 'batch 1 x 32 on BERT-base: the copy would outweigh the activations');
  t.true(prepackByDefault(graph(300 * 2 ** 20), { hidden: 0, rows: 1 }), 'no blocks located: the bound on the bytes alone');
  t.false(prepackByDefault(graph(), bert(1024)));
  t.false(prepackByDefault(undefined, bert(1024)));
  t.false(prepackByDefault(graph(Number.NaN), bert(1024)));
  t.true(trainSessionSettings(graph(PREPACK_UP_TO + 1), bert(1024), { weightPrepacking: true }).weightPrepacking, 'an explicit setting wins');
  t.is(rowsPerRun(8, [100, 128, 7]), 1024);
  t.is(rowsPerRun(8, [0, 0]), 8, 'examples without a sequence dim: one row each');
});

test('the train and eval sessions are never open at once (each holds the frozen weights), and evaluating changes nothing', async (t) => {
  const w = workspace();
  const sessions = recordSessions();
  const events = sessions.events;
  const trainer = await Trainer.open(base(w, { steps: 4, evalData: w.evalData, evalEvery: 2 }), sessions.host);
  t.truthy((await trainer.run()).metrics);
  t.is(sessions.most, 1, events.join(', '));
  const { train: { file: train }, eval: { file: evalFile } } = trainer.manifest.graphs;
  const evaluation = [`release ${train}`, `open ${evalFile}`, `release ${evalFile}`];
  t.deepEqual(events, [`open ${train}`, ...evaluation, `open ${train}`, ...evaluation], 'the next step reopens the train session');
  // Without evaluation, the run still ends with its train session released.
  const recorded = recordSessions();
  const plain = await Trainer.open(base(w, { steps: 4 }), recorded.host);
  await plain.run();
  t.deepEqual(recorded.events, [`open ${train}`, `release ${train}`], 'run() releases the train session when it ends');
  const again = await Trainer.open(base(w, { steps: 4, evalData: w.evalData, evalEvery: 2 }), nodeHost);
  await again.run();
  t.deepEqual(snapshot(again.parameters()), snapshot(plain.parameters()), 'the reopened train session continues the same run');
});

test('the same seed gives bit-identical parameters; another seed does not', async (t) => {
  const w = workspace();
  const run = async (seed: number) => {
    const tr = await Trainer.open(base(w, { steps: 25, seed }), nodeHost);
    await tr.run();
    return snapshot(tr.parameters());
  };
  const a = await run(3), b = await run(3), c = await run(4);
  t.deepEqual(a, b);
  t.notDeepEqual(a, c);
});

test('stop at step k, resume to n == uninterrupted run to n, bit for bit (across epoch boundaries)', async (t) => {
  const w = workspace();
  // 90 examples / 8 = 12 batches an epoch: 30 steps cross two epoch boundaries, k = 17 is mid-epoch.
  const whole = await Trainer.open(base(w, { steps: 30 }), nodeHost);
  await whole.run();
  const ckpt = join(w.dir, 'ckpt');
  const first = await Trainer.open(base(w, { steps: 17, checkpoint: ckpt }), nodeHost);
  t.is((await first.run()).step, 17);
  const resumed = await Trainer.open(base(w, { steps: 30, resume: ckpt, seed: undefined }), nodeHost);
  t.is(resumed.step, 17);
  t.deepEqual(resumed.dataPosition, { epoch: 1, batch: 5 });
  await resumed.run();
  t.deepEqual(snapshot(resumed.parameters()), snapshot(whole.parameters()));
  t.deepEqual(snapshot(resumed.optimizerState()), snapshot(whole.optimizerState()));
});

test('stop() ends after the current step with a checkpoint that resumes exactly', async (t) => {
  const w = workspace();
  const ckpt = join(w.dir, 'ckpt');
  const whole = await Trainer.open(base(w, { steps: 20 }), nodeHost);
  await whole.run();
  const tr = await Trainer.open(base(w, { steps: 20, checkpoint: ckpt, onStructuralEvent: (ctx) => { if (ctx.step === 6) tr.stop(); return undefined; } }), nodeHost);
  const r = await tr.run();
  t.is(r.status, 'stopped');
  t.is(r.step, 6);
  t.is(readCheckpoint(ckpt).step, 6);
  const resumed = await Trainer.open(base(w, { steps: 20, resume: ckpt }), nodeHost);
  await resumed.run();
  t.deepEqual(snapshot(resumed.parameters()), snapshot(whole.parameters()));
});

test('a NaN stops the step, keeps the last good parameters and checkpoint, and says where', async (t) => {
  const w = workspace();
  const poisoned = join(w.dir, 'poison.jsonl');
  // Finite inputs whose logits overflow to Inf: valid data, non-finite loss.
  writeFileSync(poisoned, Array.from({ length: 16 }, (_, i) => JSON.stringify({ x: i === 11 ? [3e38, 3e38, 3e38, 3e38] : [0.1, -0.2, 0.3, 0.1], labels: i % 3 })).join('\n'));
  const ckpt = join(w.dir, 'ckpt');
  const tr = await Trainer.open(base(w, { data: poisoned, steps: 10, checkpoint: ckpt, checkpointEvery: 1, seed: 0 }), nodeHost);
  const r = await tr.run();
  t.is(r.status, 'nonfinite');
  t.regex(r.problem!, /step \d+: non-finite values in .*loss.*the step was not applied/);
  t.regex(r.problem!, /poison\.jsonl lines [\d, ]*\b12\b/);
  const kept = snapshot(tr.parameters());
  for (const v of Object.values(kept)) t.true(v.every(Number.isFinite));
  const back = readCheckpoint(ckpt);
  t.is(back.step, r.step);
  t.deepEqual(Object.fromEntries([...back.parameters].map(([k, v]) => [k, [...v.data]])), kept);
});

test('--init must name exactly the artifacts parameters', async (t) => {
  const w = workspace();
  const init = join(w.dir, 'init.safetensors');
  writeSafetensors(init, { W: float32Entry([4, 2], new Float32Array(8)), extra: float32Entry([1], new Float32Array(1)) });
  const e = await t.throwsAsync(Trainer.open(base(w, { steps: 1, init }), nodeHost));
  t.regex(e!.message, /init.safetensors does not match the artifacts' parameters/);
  t.regex(e!.message, /'W' has shape \[4,2\], expected \[4,3\]/);
  t.regex(e!.message, /missing 'b' \(\[3\]\)/);
  t.regex(e!.message, /unexpected 'extra'/);
  const good = join(w.dir, 'good.safetensors');
  writeSafetensors(good, { W: float32Entry([4, 3], new Float32Array(12).fill(0.25)), b: float32Entry([3], new Float32Array(3)) });
  const tr = await Trainer.open(base(w, { steps: 0, init: good }), nodeHost);
  t.deepEqual([...tr.parameters().get('W')!.data], new Array(12).fill(0.25));
});

test('a structural event switches to recompiled artifacts, carries state, is logged and resumes', async (t) => {
  const w = workspace();
  // The "recompiled" artifacts: same parameters, a different learning rate baked into the graph.
  const recompiled = join(w.dir, 'recompiled');
  writeTinyArtifacts(recompiled, { lr: 0.05 });
  const log = join(w.dir, 'log.jsonl');
  const ckpt = join(w.dir, 'ckpt');
  const hook: TrainerOptions['onStructuralEvent'] = (ctx) => {
    if (ctx.step !== 5 || ctx.artifacts === recompiled) return undefined;
    return { artifacts: recompiled, parameters: new Map(ctx.parameters), optimizer: new Map(ctx.optimizer), event: { type: 'merge', pair: ['m0', 'm1'], sfs: { m0: 0.1, m1: 0.2 } } };
  };
  const tr = await Trainer.open(base(w, { steps: 12, log, checkpoint: ckpt, onStructuralEvent: hook }), nodeHost);
  await tr.run();
  t.is(tr.artifacts, recompiled);
  const recs = readTrainingLog(log);
  t.deepEqual(recs.filter((r) => r.type === 'merge'), [{ type: 'merge', step: 5, pair: ['m0', 'm1'], sfs: { m0: 0.1, m1: 0.2 } }]);
  t.true(Math.abs((recs.find((r) => r.type === 'step' && r.step === 5)!.lr as number) - 0.5 / 1.04) < 1e-7);
  t.true(Math.abs((recs.find((r) => r.type === 'step' && r.step === 6)!.lr as number) - 0.05 / 1.05) < 1e-7, 'step 6 ran the recompiled graph');
  const back = readCheckpoint(ckpt);
  t.is(back.artifacts, recompiled);
  t.is((back.plan as Plan).train.optimizer.lr, 0.05, "the checkpoint holds the recompiled artifacts' plan");
  // Resuming from the checkpoint after the event uses the recompiled artifacts it names.
  const mid = await Trainer.open(base(w, { steps: 12, onStructuralEvent: hook }), nodeHost);
  const stopAt8: TrainerOptions['onStructuralEvent'] = (ctx) => { const c = hook(ctx); if (ctx.step === 8) midStop(); return c; };
  const ck2 = join(w.dir, 'ckpt2');
  const first = await Trainer.open(base(w, { steps: 12, checkpoint: ck2, onStructuralEvent: stopAt8 }), nodeHost);
  const midStop = () => first.stop();
  await first.run();
  const resumed = await Trainer.open(base(w, { steps: 12, resume: ck2, onStructuralEvent: hook }), nodeHost);
  t.is(resumed.artifacts, recompiled);
  await resumed.run();
  await mid.run();
  t.deepEqual(snapshot(resumed.parameters()), snapshot(mid.parameters()));
});

test('resume refuses a different batch size', async (t) => {
  const w = workspace();
  const ckpt = join(w.dir, 'ckpt');
  await (await Trainer.open(base(w, { steps: 3, checkpoint: ckpt }), nodeHost)).run();
  await t.throwsAsync(Trainer.open(base(w, { steps: 6, resume: ckpt, batchSize: 4 }), nodeHost), { message: /trained with batch size 8, this run uses 4/ });
});

test('SIGINT stops a CLI-style run after the step with a checkpoint, exit code 0', async (t) => {
  const w = workspace();
  const ckpt = join(w.dir, 'ckpt');
  const script = join(w.dir, 'run.mts');
  const mod = new URL('../../runtime/trainer.ts', import.meta.url).pathname;
  const host = new URL('../../runtime/node-host.ts', import.meta.url).pathname;
  writeFileSync(script, `import { Trainer } from '${mod}';
import { nodeHost } from '${host}';
const tr = await Trainer.open({ artifacts: ${JSON.stringify(w.artifacts)}, data: ${JSON.stringify(w.data)}, steps: 1000000, batchSize: 8, seed: 3,
  checkpoint: ${JSON.stringify(ckpt)}, handleSignals: true, progress: { tty: false, plainEvery: 50 }, session: { intraOpThreads: 1 } }, nodeHost);
const r = await tr.run();
console.log('status=' + r.status + ' step=' + r.step);
`);
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: new URL('../..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise<void>((resolve) => child.stderr.on('data', (d) => { err += d; if (/step +100\//.test(err)) resolve(); }));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('close', r));
  t.is(code, 0, err);
  const m = /status=stopped step=(\d+)/.exec(out);
  t.truthy(m, out + err);
  t.regex(err, /stopping after this step and writing a checkpoint/);
  t.true(existsSync(ckpt));
  t.is(readCheckpoint(ckpt).step, Number(m![1]));
});

test('the library refuses whole-number options that are not whole numbers, as the CLI does, before anything opens', async (t) => {
  const w = workspace();
  const cases: [Partial<TrainerOptions>, RegExp][] = [
    [{ checkpointEvery: 0 }, /checkpointEvery must be a positive integer, got 0/],
    [{ checkpointEvery: 1.5 }, /checkpointEvery must be a positive integer, got 1.5/],
    [{ batchSize: 2.5 }, /batchSize must be a positive integer, got 2.5/],
    [{ seed: 1e300 }, /seed must be a non-negative integer, got 1e\+300/],
    [{ steps: -1 }, /steps must be a non-negative integer, got -1/],
    [{ steps: undefined, epochs: 0 }, /epochs must be a positive integer, got 0/],
    [{ bucket: Number.NaN }, /bucket must be a non-negative integer, got NaN/],
    [{ evalEvery: 0 }, /evalEvery must be a positive integer, got 0/],
    [{ evalEvery: { count: 2, unit: 'days' as 'steps' } }, /evalEvery.unit must be 'steps' or 'epochs', got "days"/],
  ];
  for (const [extra, message] of cases) {
    const e = await t.throwsAsync(Trainer.open(base(w, { steps: 2, ...extra }), nodeHost));
    t.is(e?.name, 'UserError', `${JSON.stringify(extra)}: ${e?.message}`);
    t.regex(e!.message, message);
  }
});
