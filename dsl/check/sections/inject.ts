/** `inject { ... }`: SFS-driven injection of LoRA modules during training. */
import type { InjectPlan, ProjectionTarget } from '../../../contract/plan.ts';
import { assign, type Entry, type Schema, type SpecReader } from '../reader.ts';
import { finishSchedule, scheduleKeys, type ScheduleDraft } from './sfs-schedule.ts';

export function readInject(r: SpecReader, e: Entry): InjectPlan | undefined {
  const schedule: ScheduleDraft = { wrote: true };
  const extra: { rank?: number; alpha?: number; dropout?: number; targets?: ProjectionTarget[] } = {};
  const keys = () => Object.keys(schema);
  const schema: Schema = {
    ...scheduleKeys(r, schedule, keys),
    rank: {
      read: (x) =>
        assign(r.number(r.one(x, 'a positive integer', keys()), { what: 'rank', integer: true, min: 1 }), (v) => {
          extra.rank = v;
        }),
    },
    alpha: { read: (x) => assign(r.number(r.one(x, 'a positive number', keys()), { what: 'alpha', min: 0, above: true }), (v) => (extra.alpha = v)) },
    dropout: { read: (x) => assign(r.number(r.one(x, 'a probability in [0, 1)', keys()), { what: 'dropout', min: 0, max: 1, below: true, percent: true }), (v) => (extra.dropout = v)) },
    on: {
      read: (x) =>
        assign(r.targets(x), (v) => {
          extra.targets = v;
          r.at.set(v, x.range);
        }),
    },
  };
  r.readItems(e.body?.items ?? [], schema, '`inject { }`');
  const built = finishSchedule(r, schedule, e, 'inject');
  if (!built) return undefined;
  const inject: InjectPlan = {
    ...built,
    targets: extra.targets ?? [
      { kind: 'role', role: 'q' },
      { kind: 'role', role: 'v' },
    ],
    ...(extra.rank !== undefined ? { rank: extra.rank } : {}),
    ...(extra.alpha !== undefined ? { alpha: extra.alpha } : {}),
    ...(extra.dropout !== undefined ? { dropout: extra.dropout } : {}),
  };
  r.copyAt(built, inject);
  r.copyAt(built.every, inject.every);
  r.at.set(inject, e.key.range);
  return inject;
}
