/** `train { ... }`: task, trainable weights, optimizer, schedule, batch and training length. */
import type { Interval, TrainPlan } from '../../../../contract/plan.ts';
import { didYouMean } from '../../../suggest.ts';
import { assign, type Entry, type SpecReader } from '../../reader.ts';
import { defaultsOf, int, interval, number, readSection, section, settingsOf } from '../../schema.ts';
import { LR_SCHEDULE } from './lr-schedule.ts';
import { OPTIMIZER } from './optimizer.ts';
import { PRECISION, setPrecision } from './precision.ts';
import { TASK } from './task.ts';

const s = settingsOf<TrainPlan>();

/** `epochs N` and `steps N` fill one field, the training length: one of them may be written. */
function length(unit: 'epochs' | 'steps', doc: string, defaults: { default?: Interval }) {
  return s.custom({
    doc,
    field: 'length',
    ...defaults,
    expected: 'a positive integer',
    flag: unit,
    read(r, x, train, ctx) {
      assign(r.number(r.one(x, 'a positive integer', ctx.known), { what: unit, integer: true, min: 1 }), (n) => {
        if (ctx.set.has('epochs') || ctx.set.has('steps')) {
          r.error('conflicting-settings', x.key.range, 'training length is set twice', 'use either `epochs N` or `steps N`');
          return;
        }
        ctx.set.add(unit);
        train.length = { count: n, unit };
        r.at.set(train.length, x.range);
      });
    },
  });
}

/** `train { }`; the defaults are docs/method.md §1's (LoR2C reference) and PyTorch's. */
export const TRAIN = section<TrainPlan>('`train { }`', {
  task: s.value('task', TASK, { doc: 'what the loss is computed on', default: TASK.defaultOf('classify') }),
  trainable: s.custom({ doc: 'extra base-model initializers to train, at lr x `lr_scale`', field: 'trainable', default: [], expected: 'a name pattern in quotes, then optionally `lr_scale X`', repeat: true, read: readTrainable }),
  optimizer: s.value('optimizer', OPTIMIZER, { doc: 'the optimizer and its arguments', default: OPTIMIZER.defaultOf('adamw') }),
  schedule: s.value('schedule', LR_SCHEDULE, { doc: 'the learning-rate schedule', default: LR_SCHEDULE.defaultOf('linear'), what: 'LR schedule', located: true }),
  clip: s.value('clipNorm', number({ min: 0, above: true }), { doc: 'clip the global gradient norm to N (none: no clipping)', expected: 'a positive number (max gradient norm)' }),
  batch: s.value('batch', int({ min: 1 }), { doc: 'examples per (micro-)batch', default: 32, flag: 'batch' }),
  accumulate: s.value('accumulate', int({ min: 1 }), { doc: 'micro-batches per optimizer step', default: 1 }),
  epochs: length('epochs', 'training length in epochs', { default: { count: 1, unit: 'epochs' } }),
  steps: length('steps', 'training length in optimizer steps', {}),
  eval: s.value('evalEvery', interval({ after: 'every' }), { doc: 'evaluation interval (none: no evaluation)', what: '`eval every`', located: true, flag: 'eval-every' }),
  seed: s.value('seed', int({ min: 0 }), { doc: 'the seed of data order, dropout and initialisation', default: 42, flag: 'seed' }),
  precision: s.custom({ doc: 'the numeric precision of training; fp16 takes its loss scaling as `fp16(loss_scale N, growth N)`', field: 'precision', default: 'fp32', expected: PRECISION.expected, variants: PRECISION.variants, read: (r, x, train, ctx) => assign(PRECISION.read(r, x, { what: 'precision', expected: PRECISION.expected, known: ctx.known }), (p) => setPrecision(train, p)) }),
});

/** The training settings when `train { }` is absent or leaves them out. */
export function defaultTrain(): TrainPlan {
  return defaultsOf(TRAIN) as TrainPlan;
}

/** `wroteLength`: `epochs` or `steps` was written, so lengths derived from it are meaningful. */
export function readTrain(r: SpecReader, e: Entry): { train: TrainPlan; wroteLength: boolean } {
  const train = defaultTrain();
  const ctx = readSection(r, TRAIN, train, { items: e.body?.items ?? [] });
  r.at.set(train, e.key.range);
  return { train, wroteLength: ctx.set.has('epochs') || ctx.set.has('steps') };
}

/** `trainable "PATTERN" [lr_scale X]`. */
function readTrainable(r: SpecReader, x: Entry, train: TrainPlan): void {
  const pattern = r.string(x.values[0], 'a trainable pattern');
  if (!x.values[0]) r.error('missing-value', x.key.range, '`trainable` needs an initializer-name pattern, e.g. `trainable "classifier.*"`');
  let lrScale = 1;
  if (x.values.length > 1) {
    const word = x.values[1]!;
    if (word.kind === 'word' && word.name === 'lr_scale') {
      if (!x.values[2]) r.error('missing-value', word.range, '`lr_scale` needs a number, e.g. `lr_scale 0.5`');
      lrScale = r.number(x.values[2], { what: 'lr_scale', min: 0, above: true }) ?? 1;
      if (x.values.length > 3) r.error('extra-value', x.values[3]!.range, 'unexpected value after `lr_scale`');
    } else {
      r.error('bad-value', word.range, `unexpected \`${r.describe(word)}\` after the pattern`, didYouMean(word.kind === 'word' ? word.name : '', ['lr_scale']) ?? 'only `lr_scale N` may follow the pattern');
    }
  }
  if (pattern !== undefined) {
    if (pattern.length === 0) r.error('bad-value', x.values[0]!.range, 'an empty pattern matches nothing');
    else {
      const t = { pattern, lrScale };
      train.trainable.push(t);
      r.at.set(t, x.range);
    }
  }
}
