/**
 * fp16's dynamic loss scaling end to end on CPU: an overflowing step is skipped (parameters
 * unchanged), its scale halves, the log says so and training goes on; the scale grows after
 * `growth` clean steps; a checkpoint keeps it; gradient accumulation overflows and skips as a
 * whole optimizer step.
 */
import test from 'ava';
import { join } from 'node:path';
import { readCheckpoint } from '../../../runtime/checkpoint.ts';
import { Trainer } from '../../../runtime/trainer.ts';
import { nodeHost } from '../../../runtime/node-host.ts';
import { compilePrecision, data, dir, losses, trainCompiled, type Run } from '../../support/precision-run.ts';

const sequence = (r: Run): { type: string; step: number; loss?: unknown; loss_scale?: unknown }[] => r.records.filter((x) => x.type === 'step' || x.type === 'skipped').map((x) => ({ type: x.type, step: x.step, ...(x.type === 'step' ? { loss: x.loss } : { loss_scale: x.loss_scale }) }));

test('an overflowing step is skipped: parameters unchanged, the scale halves, a skipped record is logged', async (t) => {
  compilePrecision('overflow', 'fp16(loss_scale 1073741824)');
  const trainer = await Trainer.open({ artifacts: join(dir, 'overflow'), data, steps: 1, batchSize: 4, seed: 5, progress: false, log: join(dir, 'overflow-one.jsonl'), session: { intraOpThreads: 1 } }, nodeHost);
  const before = new Map([...trainer.parameters()].map(([k, v]) => [k, Float32Array.from(v.data)]));
  const stateBefore = new Map([...trainer.optimizerState()].map(([k, v]) => [k, Float32Array.from(v.data)]));
  const result = await trainer.run();
  t.is(result.status, 'done');
  t.is(result.step, 1);
  for (const [k, v] of trainer.parameters()) t.deepEqual(Float32Array.from(v.data), before.get(k), `${k} unchanged by the skipped step`);
  // As GradScaler skips optimizer.step(): the moments and each tensor's update count (its bias correction's t) stay.
  const counts = [...trainer.optimizerState().keys()].filter((k) => k.endsWith('adam_t'));
  t.true(counts.length > 0, 'AdamW keeps an update count per tensor');
  for (const [k, v] of trainer.optimizerState()) if (!k.startsWith('loss_scale:')) t.deepEqual(Float32Array.from(v.data), stateBefore.get(k), `${k} unchanged by the skipped step`);
  t.deepEqual(trainer.optimizerState().get('loss_scale:exponent')?.data, Float32Array.of(-1));
});

test('from too large a scale: steps are skipped until the scale fits, then training goes on; the scale doubles after `growth` clean steps', async (t) => {
  compilePrecision('grow', 'fp16(loss_scale 1048576, growth 2)');
  const run = await trainCompiled('grow', { steps: 8 });
  t.is(run.result.status, 'done');
  const seq = sequence(run);
  t.is(seq.length, 8);
  t.log(JSON.stringify(seq));
  const firstStep = seq.findIndex((x) => x.type === 'step');
  t.true(firstStep >= 1, 'the first step overflows at 2^20');
  seq.slice(0, firstStep).forEach((x, i) => t.is(x.loss_scale, 2 ** (19 - i), 'halved at each overflow'));
  const fitting = 2 ** (20 - firstStep);
  // Two clean steps double the scale back to one that overflowed: skipped again, halved again.
  t.deepEqual(seq.slice(firstStep, firstStep + 3).map((x) => x.type), ['step', 'step', 'skipped']);
  t.is(seq[firstStep + 2]!.loss_scale, fitting);
  for (const x of seq) if (x.type === 'step') t.true(Number.isFinite(x.loss as number));
});

test('a checkpoint keeps the loss scale: resumed, the run logs what the uninterrupted one does', async (t) => {
  // A constant LR: the first part's shorter run length would otherwise change the schedule.
  compilePrecision('resume', 'fp16(loss_scale 1048576, growth 2)', { extra: '  schedule constant\n' });
  const whole = await trainCompiled('resume', { steps: 8, logName: 'whole' });
  const ckpt = join(dir, 'resume-ckpt');
  const first = await trainCompiled('resume', { steps: 4, logName: 'first', checkpoint: ckpt });
  t.is(first.result.status, 'done');
  const saved = readCheckpoint(ckpt);
  t.true(saved.optimizer.has('loss_scale:exponent') && saved.optimizer.has('loss_scale:good_steps'));
  const second = await trainCompiled('resume', { steps: 8, logName: 'first', resume: ckpt });
  t.is(second.result.status, 'done');
  t.deepEqual(sequence(second), sequence(whole));
});

test('gradient accumulation with loss scaling: within tolerance of fp32, and an overflow skips the whole optimizer step', async (t) => {
  compilePrecision('accum-fp32', 'fp32', { extra: '  accumulate 2\n' });
  compilePrecision('accum-fp16', 'fp16', { extra: '  accumulate 2\n' });
  const fp32 = losses(await trainCompiled('accum-fp32'));
  const fp16 = losses(await trainCompiled('accum-fp16'));
  t.is(fp16.length, 4);
  for (let i = 0; i < 4; i++) t.true(Math.abs(fp16[i]! - fp32[i]!) <= 1e-4, `step ${i + 1}: ${fp16[i]} vs ${fp32[i]}`);
  compilePrecision('accum-overflow', 'fp16(loss_scale 1073741824)', { extra: '  accumulate 2\n' });
  const over = await trainCompiled('accum-overflow', { steps: 14 });
  t.is(over.result.status, 'done');
  const seq = sequence(over);
  t.is(seq.length, 14);
  t.is(seq[0]!.type, 'skipped');
  t.is(seq[0]!.loss_scale, 2 ** 29);
  t.true(seq.some((x) => x.type === 'step'), `trains once the scale fits: ${JSON.stringify(seq.map((x) => x.type))}`);
});
