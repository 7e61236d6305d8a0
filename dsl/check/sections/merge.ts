/** `merge { ... }`: static merges before training, and/or SFS-driven merges during it. */
import type { BlockRange, BlockSelection, MergePlan } from '../../../contract/plan.ts';
import { assign, type Entry, type Schema, type SpecReader } from '../reader.ts';
import { finishSchedule, scheduleKeys } from './sfs-schedule.ts';

export function readMerge(r: SpecReader, e: Entry): MergePlan {
  const merge: MergePlan = { static: [], init: 'first' };
  const schedule: Partial<NonNullable<MergePlan['schedule']>> & { wrote: boolean } = { wrote: false };
  const keys = () => Object.keys(schema);
  const schema: Schema = {
    static: {
      repeat: true,
      read: (x) => {
        if (x.values.length === 0) r.error('missing-value', x.key.range, '`static` needs spans to merge, e.g. `static 0..1, 4..6`');
        for (const raw of x.values) {
          const v = r.deref(raw);
          if (v.kind !== 'range') {
            r.error('bad-value', raw.range, `a static merge is a range of blocks like \`0..1\`, not \`${r.describe(v)}\``);
            continue;
          }
          const from = r.number(v.from, { what: 'a block index', integer: true });
          const to = r.number(v.to, { what: 'a block index', integer: true });
          if (from === undefined || to === undefined) continue;
          if (Math.sign(from) === Math.sign(to) && from >= to) {
            r.error('bad-range', raw.range, `a static merge spans two or more blocks; ${from}..${to} does not`);
            continue;
          }
          const range: BlockRange = { from, to };
          merge.static.push(range);
          r.at.set(range, raw.range);
          const selection: BlockSelection = { ranges: [range], every: 1 };
          r.selections.push({ selection, range: raw.range });
        }
      },
    },
    init: { read: (x) => assign(r.choice(r.one(x, '`first` or `svd`', keys()), 'merge init', ['first', 'svd'] as const), (v) => (merge.init = v)) },
    ...scheduleKeys(r, schedule, keys),
    max_span: {
      read: (x) => {
        schedule.wrote = true;
        assign(r.number(r.one(x, 'a whole number of blocks', keys()), { what: 'max_span', integer: true, min: 1 }), (v) => {
          schedule.maxSpan = v;
          r.at.set(schedule, x.range);
        });
      },
    },
  };
  r.readItems(e.body?.items ?? [], schema, '`merge { }`');
  const built = finishSchedule(r, schedule, e, 'merge');
  if (built) {
    merge.schedule = { ...built, ...(schedule.maxSpan !== undefined ? { maxSpan: schedule.maxSpan } : {}) };
    r.copyAt(schedule, merge.schedule);
  }
  if (!built && merge.static.length === 0 && !schedule.wrote) {
    r.error('empty-merge', e.key.range, '`merge` says neither what nor when to merge', 'add `static 0..1` for a merge before training, or `every 1 epoch` / `max 4` for SFS-driven merges');
  }
  r.at.set(merge, e.key.range);
  return merge;
}
