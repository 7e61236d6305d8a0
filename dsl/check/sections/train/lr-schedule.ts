/** `schedule constant | linear(warmup ...) | cosine(warmup ...)` in `train { }`: the learning-rate schedule. */
import type { LrSchedulePlan, Warmup } from '../../../../contract/plan.ts';
import type { Entry, SpecReader } from '../../reader.ts';
import { assign } from '../../reader.ts';
import { call, section, settingsOf, type Setting } from '../../schema.ts';

const s = settingsOf<{ warmup: Warmup }>();

/** `warmup 6%` of all steps, or `warmup 100 steps`; `default`: the schedule's own. */
function warmup(fallback: Warmup): Setting<{ warmup: Warmup }> {
  return s.custom({ doc: 'linear warmup from 0: a percentage of all steps, or `N steps`', field: 'warmup', default: fallback, expected: '`6%` or `100 steps`', read: readWarmup });
}

function readWarmup(r: SpecReader, a: Entry, plan: { warmup: Warmup }): void {
  const first = a.values[0] ? r.deref(a.values[0]) : undefined;
  if (first?.kind === 'percent') {
    r.noExtra(a, 1);
    assign(r.number(a.values[0], { what: 'warmup', percent: true, min: 0, max: 1, below: true }), (f) => (plan.warmup = { unit: 'fraction', fraction: f }));
    return;
  }
  if (first?.kind === 'number' && a.values.length === 1 && first.value === 0) {
    plan.warmup = { unit: 'steps', count: 0 };
    return;
  }
  const iv = r.interval(a.values, a.range, 'warmup');
  if (!iv) return;
  if (iv.unit === 'epochs') r.error('bad-value', a.range, 'warmup is counted in steps or as a percentage', 'write `warmup 100 steps` or `warmup 6%`');
  else plan.warmup = { unit: 'steps', count: iv.count };
}

// docs/method.md §1: 6% warmup.
const sixPercent: Warmup = { unit: 'fraction', fraction: 0.06 };

export const LR_SCHEDULE = call<LrSchedulePlan>({
  constant: { example: 'warmup 100 steps', args: section('`constant(...)`', { warmup: warmup({ unit: 'steps', count: 0 }) }) },
  linear: { example: 'warmup 6%', args: section('`linear(...)`', { warmup: warmup(sixPercent) }) },
  cosine: { example: 'warmup 6%', args: section('`cosine(...)`', { warmup: warmup(sixPercent) }) },
});
