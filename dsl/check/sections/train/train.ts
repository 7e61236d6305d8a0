/** `train { ... }`: task, trainable weights, optimizer, schedule, batch and training length. */
import type { TrainPlan } from '../../../../contract/plan.ts';
import { didYouMean } from '../../../suggest.ts';
import { defaultTrain } from '../../defaults.ts';
import { TRAIN_KEYS } from '../../hints.ts';
import { assign, type Entry, type Schema, type SpecReader } from '../../reader.ts';
import { readLrSchedule } from './lr-schedule.ts';
import { readOptimizer } from './optimizer.ts';
import { readPrecision } from './precision.ts';
import { readTask } from './task.ts';

/** `wroteLength`: `epochs` or `steps` was written, so lengths derived from it are meaningful. */
export function readTrain(r: SpecReader, e: Entry): { train: TrainPlan; wroteLength: boolean } {
  const train = defaultTrain();
  let wroteLength = false;
  const setLength = (x: Entry, unit: 'steps' | 'epochs') => {
    assign(r.number(r.one(x, 'a positive integer', TRAIN_KEYS), { what: unit, integer: true, min: 1 }), (n) => {
      if (wroteLength) {
        r.error('conflicting-settings', x.key.range, 'training length is set twice', 'use either `epochs N` or `steps N`');
        return;
      }
      wroteLength = true;
      train.length = { count: n, unit };
      r.at.set(train.length, x.range);
    });
  };
  const schema: Schema = {
    task: { read: (x) => readTask(r, x, train) },
    trainable: {
      repeat: true,
      read: (x) => {
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
      },
    },
    optimizer: { read: (x) => readOptimizer(r, x, train) },
    schedule: { read: (x) => readLrSchedule(r, x, train) },
    clip: { read: (x) => assign(r.number(r.one(x, 'a positive number (max gradient norm)', TRAIN_KEYS), { what: 'clip', min: 0, above: true }), (n) => (train.clipNorm = n)) },
    batch: { read: (x) => assign(r.number(r.one(x, 'a positive integer', TRAIN_KEYS), { what: 'batch', integer: true, min: 1 }), (n) => (train.batch = n)) },
    accumulate: { read: (x) => assign(r.number(r.one(x, 'a positive integer', TRAIN_KEYS), { what: 'accumulate', integer: true, min: 1 }), (n) => (train.accumulate = n)) },
    epochs: { read: (x) => setLength(x, 'epochs') },
    steps: { read: (x) => setLength(x, 'steps') },
    eval: {
      read: (x) => {
        const values = x.values[0]?.kind === 'word' && x.values[0].name === 'every' ? x.values.slice(1) : x.values;
        assign(r.interval(values, x.range, '`eval every`'), (iv) => {
          train.evalEvery = iv;
          r.at.set(iv, x.range);
        });
      },
    },
    seed: { read: (x) => assign(r.number(r.one(x, 'an integer >= 0', TRAIN_KEYS), { what: 'seed', integer: true, min: 0 }), (n) => (train.seed = n)) },
    precision: { read: (x) => readPrecision(r, x, train) },
  };
  r.readItems(e.body?.items ?? [], schema, '`train { }`');
  r.at.set(train, e.key.range);
  return { train, wroteLength };
}
