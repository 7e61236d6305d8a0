/**
 * Training over artifacts whose spec schedules MergeLoR2C, as the library and the CLI run it:
 * the spec's defaults and schedule without any hook, `eval every N epochs`, the best checkpoint at
 * a step where a merge fires, and the commands that read a checkpoint made after a merge.
 * (The reference scenario d-merge of spec/fixtures/reference, with its own batch and eval settings.)
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../support/cli.ts';
import { Trainer } from '../../runtime/trainer.ts';
import { recordSessions } from '../support/session-recorder.ts';
import { nodeHost } from '../../runtime/node-host.ts';
import { readCheckpoint } from '../../runtime/checkpoint.ts';
import { readTrainingLog } from '../../runtime/log.ts';
import { readManifest } from '../../runtime/artifacts.ts';

const REF = fileURLToPath(new URL('../fixtures/reference/', import.meta.url));
const DATA = join(REF, 'bert-data.jsonl');
const work = mkdtempSync(join(tmpdir(), 'lor2c-structural-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

/** The CLI in-process (stdout in `out`, messages in `err`); the tests run serially. */
const cli = runCli;

/** d-merge with batch 6 (8 steps an epoch), 12 steps, seed 7, `eval every 1 epoch`: merges after steps 5 and 10. */
async function compiled(name: string, ...flags: string[]): Promise<string> {
  const spec = readFileSync(join(REF, 'd-merge.lor2c'), 'utf8')
    .replace('batch 8', 'batch 6').replace('steps 20', 'steps 12\n  eval every 1 epoch').replace('seed 42', 'seed 7')
    .replace('model "bert-opset17.onnx"', `model "${join(REF, 'bert-opset17.onnx')}"`);
  const file = join(work, `${name}.lor2c`);
  writeFileSync(file, spec);
  const out = join(work, name);
  const r = await cli('compile', file, '--out', out, ...flags);
  if (r.code !== 0) throw new Error(r.err);
  return out;
}

test.serial("the library Trainer takes the spec's batch, seed, length, eval interval (in epochs) and Merge schedule", async (t) => {
  const dir = await compiled('library');
  const ckpt = join(work, 'library-ckpt');
  const log = join(work, 'library.jsonl');
  const trainer = await Trainer.open({ artifacts: dir, data: DATA, evalData: DATA, checkpoint: ckpt, log, progress: false, session: { intraOpThreads: 1 } }, nodeHost);
  t.is(trainer.total, 12);
  t.is(trainer.stepsPerEpoch, 8, '48 examples in batches of 6');
  const result = await trainer.run();
  t.is(result.status, 'done');
  const records = readTrainingLog(log);
  t.deepEqual(records.filter((r) => r.type === 'step' && r.eval).map((r) => r.step), [8, 12], 'evaluated every epoch (8 steps) and at the end');
  t.deepEqual(records.filter((r) => r.type === 'merge' || r.type === 'inject').map((r) => [r.type, r.step]), [['merge', 5], ['merge', 10]], 'the schedule ran without a hook');
  const last = readCheckpoint(ckpt);
  t.is(last.rng.seed, 7);
  t.is(last.extra?.batchSize, 6);
  t.is(last.artifacts, join(dir, 'structure', 'step-00000010'));
});

test.serial('the split update goes on across Merge recompiles, to the bits of the fused one', async (t) => {
  const run = async (update: string) => {
    const dir = await compiled(`update-${update}`, '--update', update);
    const log = join(work, `update-${update}.jsonl`);
    const trainer = await Trainer.open({ artifacts: dir, data: DATA, log, progress: false, session: { intraOpThreads: 1 } }, nodeHost);
    t.is((await trainer.run()).status, 'done');
    const merges = readTrainingLog(log).filter((r) => r.type === 'merge').map((r) => [r.step, r.pair]);
    return { dir, merges, params: new Map([...trainer.parameters()].map(([k, v]) => [k, [...v.data]])) };
  };
  const fused = await run('fused');
  const split = await run('split');
  t.is(fused.merges.length, 2);
  t.deepEqual(split.merges, fused.merges);
  t.true(existsSync(join(split.dir, 'structure', 'step-00000010', 'update.onnx')), 'recompiled with the split update');
  t.false(existsSync(join(fused.dir, 'structure', 'step-00000010', 'update.onnx')));
  t.deepEqual(split.params, fused.params);
});

test.serial('across Merge recompiles and evaluations the process holds one session (one copy of the frozen weights) at a time', async (t) => {
  const dir = await compiled('one-session');
  const sessions = recordSessions();
  const trainer = await Trainer.open({ artifacts: dir, data: DATA, evalData: DATA, progress: false, session: { intraOpThreads: 1 } }, sessions.host);
  t.is((await trainer.run()).status, 'done');
  t.is(sessions.most, 1, sessions.events.join(', '));
  t.true(sessions.events.filter((e) => e.startsWith('open')).length >= 5, 'two recompiles and two evaluations opened sessions');
});

test.serial('`lor2c train` keeps the spec\'s `eval every 1 epoch`', async (t) => {
  const dir = await compiled('epochs');
  const log = join(work, 'epochs.jsonl');
  const trained = await cli('train', dir, '--data', DATA, '--eval-data', DATA, '--log', log);
  t.is(trained.code, 0, trained.err);
  t.deepEqual(readTrainingLog(log).filter((r) => r.type === 'step' && r.eval).map((r) => r.step), [8, 12]);
});

test.serial('`lor2c train`: the best checkpoint at a merge step holds what was evaluated; eval, infer and export follow a checkpoint made after a merge', async (t) => {
  const dir = await compiled('cli');
  const ckpt = join(work, 'cli-ckpt');
  const log = join(work, 'cli.jsonl');
  const trained = await cli('train', dir, '--data', DATA, '--eval-data', DATA, '--checkpoint', ckpt, '--log', log, '--eval-every', '5');
  t.is(trained.code, 0, trained.err);
  const evals = readTrainingLog(log).filter((r) => r.type === 'step' && r.eval);
  t.deepEqual(evals.map((r) => r.step), [5, 10, 12]);
  // Evaluated at step 5 is the first best; a merge fires at that same step.
  const best = readCheckpoint(ckpt, 'best');
  t.true(best.step === 5 || best.step === 10, `best at step ${best.step}, a merge step`);
  const evaluated = readManifest(best.artifacts);
  t.deepEqual([...best.parameters.keys()].sort(), evaluated.parameters.map((p) => p.name).sort(), 'the parameters belong to the artifacts it names');
  t.true(best.parameters.has(best.step === 5 ? 'lor2c.b2.A' : 'lor2c.b1_2.A'), 'the structure before the merge of that step');
  // Re-evaluating the best checkpoint reproduces its recorded metrics; `eval DIR` follows its artifacts.
  const again = await cli('eval', dir, '--data', DATA, '--checkpoint', ckpt, '--best', '--json', '--batch', '6');
  t.is(again.code, 0, again.err);
  const metrics = JSON.parse(again.out.trim().split('\n').pop()!).metrics as Record<string, number>;
  for (const [k, v] of Object.entries(best.best!.metrics)) t.true(Math.abs(metrics[k]! - v) < 1e-6, `${k}: ${metrics[k]} vs recorded ${v}`);
  // The latest checkpoint (after the merge at step 10) through infer and export, given only DIR.
  const inferred = await cli('infer', dir, '--data', DATA, '--checkpoint', ckpt, '--out', join(work, 'rows.jsonl'));
  t.is(inferred.code, 0, inferred.err);
  t.is(readFileSync(join(work, 'rows.jsonl'), 'utf8').trim().split('\n').length, 48);
  const exported = await cli('export', dir, '--checkpoint', ckpt, '--adapter', join(work, 'final.safetensors'));
  t.is(exported.code, 0, exported.err);
  t.true(existsSync(join(work, 'final.config.json')));
  t.true((JSON.parse(readFileSync(join(work, 'final.config.json'), 'utf8')) as { modules: { id: string }[] }).modules.some((m) => m.id === 'b0_2'));
});

test.serial('a host that cannot recompile refuses a scheduled Merge rather than train without it', async (t) => {
  const dir = await compiled('no-recompile');
  const { planSchedule: _dropped, ...host } = nodeHost;
  const err = await t.throwsAsync(Trainer.open({ artifacts: dir, data: DATA, progress: false, session: { intraOpThreads: 1 } }, host));
  t.regex(err?.message ?? '', /schedules MergeLoR2C merges.*this host cannot recompile/);
});
