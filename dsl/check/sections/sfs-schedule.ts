/** When `merge` and `inject` act: the SFS-driven schedule keys they share, and its completion. */
import type { Interval, SfsMetric } from '../../../contract/plan.ts';
import { assign, type Entry, type Schema, type SpecReader } from '../reader.ts';

/** A schedule as written so far; `wrote` when any of its keys appeared. */
export interface ScheduleDraft {
  metric?: SfsMetric;
  every?: Interval;
  max?: number;
  until?: number;
  wrote: boolean;
}

/** Keys shared by `merge` and `inject`: metric, every, max, until. */
export function scheduleKeys(r: SpecReader, schedule: ScheduleDraft, keys: () => string[]): Schema {
  return {
    metric: {
      read: (x) => {
        schedule.wrote = true;
        assign(r.metric(x, keys()), (v) => (schedule.metric = v));
      },
    },
    every: {
      read: (x) => {
        schedule.wrote = true;
        assign(r.interval(x.values, x.range, '`every`'), (v) => {
          schedule.every = v;
          r.at.set(v, x.range);
        });
      },
    },
    max: {
      read: (x) => {
        schedule.wrote = true;
        assign(r.number(r.one(x, 'a positive integer', keys()), { what: '`max`', integer: true, min: 1 }), (v) => {
          schedule.max = v;
          r.at.set(schedule, x.range);
        });
      },
    },
    until: {
      read: (x) => {
        schedule.wrote = true;
        assign(r.fraction(r.one(x, 'a fraction of training like `25%`', keys()), '`until`'), (v) => (schedule.until = v));
      },
    },
  };
}

/**
 * Completes metric/every/max/until. Without `every`, the GLUE script's interval is used:
 * floor(E / 4 / max) + 1 (in the training length's unit), which needs `max`.
 */
export function finishSchedule(
  r: SpecReader,
  s: ScheduleDraft,
  e: Entry,
  what: 'merge' | 'inject',
): { metric: SfsMetric; every: Interval; everyDerived: boolean; max?: number; until: number } | undefined {
  if (!s.wrote) return undefined;
  let every = s.every;
  let everyDerived = false;
  if (!every) {
    if (s.max === undefined) {
      r.error('incomplete-schedule', e.key.range, `\`${what}\` needs \`every\` or \`max\` to know when to ${what}`, `e.g. \`every 1 epoch\`, or \`max 4\` to ${what} roughly evenly over the first quarter of training`);
      return undefined;
    }
    // Filled in by Checker.draft() once the training length is known.
    every = { count: 0, unit: 'epochs' };
    everyDerived = true;
  }
  const out = { metric: s.metric ?? { kind: 'mean' as const }, every, everyDerived, until: s.until ?? 1, ...(s.max !== undefined ? { max: s.max } : {}) };
  r.at.set(out.every, r.at.get(s.every ?? {}) ?? e.key.range);
  r.copyAt(s, out);
  return out;
}
