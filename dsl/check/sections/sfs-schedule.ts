/** When `merge` and `inject` act: the SFS-driven schedule settings they share, and its completion. */
import type { Interval, SfsMetric } from '../../../contract/plan.ts';
import type { Entry, SpecReader } from '../reader.ts';
import { interval, metric, number, settingsOf, int, type ReadContext } from '../schema.ts';

/** A schedule as written so far. */
export interface ScheduleDraft {
  metric?: SfsMetric;
  every?: Interval;
  max?: number;
  until?: number;
}

const s = settingsOf<ScheduleDraft>();

/** Settings shared by `merge` and `inject`: metric, every, max, until. */
export const SCHEDULE = {
  metric: s.value('metric', metric(), { doc: 'how modules are ranked: SFS `mean`, or the sum of the `topk K` singular values (default mean)' }),
  every: s.value('every', interval(), { doc: 'the interval between points (default: derived from `max`)', what: '`every`', located: true }),
  max: s.value('max', int({ min: 1 }), { doc: 'at most this many points', what: '`max`', locatesTarget: true }),
  until: s.value('until', number({ min: 0, above: true, max: 1, percent: true }), { doc: 'no point after this fraction of training (default 100%)', what: '`until`', expected: 'a fraction of training like `25%`' }),
};

/** A schedule was written: any of its settings (or `also`, a section's own schedule settings) appeared. */
export function wroteSchedule(ctx: ReadContext, also: string[] = []): boolean {
  return [...Object.keys(SCHEDULE), ...also].some((k) => ctx.seen.has(k));
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
