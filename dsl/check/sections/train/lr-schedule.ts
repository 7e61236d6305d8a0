/** `schedule constant | linear(warmup ...) | cosine(warmup ...)` in `train { }`: the learning-rate schedule. */
import type { LrSchedulePlan, TrainPlan, Warmup } from '../../../../contract/plan.ts';
import { DEFAULTS } from '../../defaults.ts';
import { assign, type Entry, type SpecReader } from '../../reader.ts';
import type { ReadContext } from '../../schema.ts';

/** `schedule` left out: docs/method.md §1's linear schedule with 6% warmup. */
export const DEFAULT_LR_SCHEDULE: LrSchedulePlan = { kind: 'linear', warmup: { unit: 'fraction', fraction: DEFAULTS.warmupFraction } };

export function readLrSchedule(r: SpecReader, x: Entry, train: TrainPlan, ctx: ReadContext): void {
  const raw = r.one(x, '`constant`, `linear(warmup 6%)` or `cosine(warmup 100 steps)`', ctx.known);
  if (!raw) return;
  const v = r.deref(raw);
  const kind = r.choice(v.kind === 'call' ? v.callee : v, 'LR schedule', ['constant', 'linear', 'cosine'] as const);
  if (!kind) return;
  let warmup: Warmup = kind === 'constant' ? { unit: 'steps', count: 0 } : { unit: 'fraction', fraction: DEFAULTS.warmupFraction };
  const args = v.kind === 'call' ? v.args.map((g) => r.argEntry(g, kind)).filter((a): a is Entry => a !== undefined) : [];
  r.readEntries(
    args,
    {
      warmup: {
        read: (a) => {
          const first = a.values[0] ? r.deref(a.values[0]) : undefined;
          if (first?.kind === 'percent') {
            r.noExtra(a, 1);
            assign(r.number(a.values[0], { what: 'warmup', percent: true, min: 0, max: 1, below: true }), (f) => (warmup = { unit: 'fraction', fraction: f }));
            return;
          }
          if (first?.kind === 'number' && a.values.length === 1 && first.value === 0) {
            warmup = { unit: 'steps', count: 0 };
            return;
          }
          const iv = r.interval(a.values, a.range, 'warmup');
          if (!iv) return;
          if (iv.unit === 'epochs') r.error('bad-value', a.range, 'warmup is counted in steps or as a percentage', 'write `warmup 100 steps` or `warmup 6%`');
          else warmup = { unit: 'steps', count: iv.count };
        },
      },
    },
    `\`${kind}(...)\``,
  );
  train.schedule = { kind, warmup };
  r.at.set(train.schedule, x.range);
}
