/** `precision fp32 | fp16 | bf16` in `train { }`; fp16 takes its dynamic loss scaling as `fp16(loss_scale N, growth N)`. */
import { PRECISIONS, type TrainPlan } from '../../../../contract/plan.ts';
import { DEFAULTS } from '../../defaults.ts';
import { assign, type Entry, type SpecReader } from '../../reader.ts';
import { describeChoices, type ReadContext } from '../../schema.ts';

export function readPrecision(r: SpecReader, x: Entry, train: TrainPlan, ctx: ReadContext): void {
  const raw = r.one(x, describeChoices(PRECISIONS), ctx.known);
  if (!raw) return;
  const v = r.deref(raw);
  const kind = r.choice(v.kind === 'call' ? v.callee : v, 'precision', PRECISIONS);
  if (!kind) return;
  train.precision = kind;
  delete train.lossScale;
  if (kind !== 'fp16') {
    if (v.kind === 'call') r.error('bad-value', raw.range, `\`${kind}\` takes no settings`, kind === 'bf16' ? 'bfloat16 has float32\'s range and needs no loss scaling: write `precision bf16`' : 'write `precision fp32`');
    return;
  }
  const scale: { initial: number; growthInterval: number } = { initial: DEFAULTS.lossScale, growthInterval: DEFAULTS.lossScaleGrowth };
  const args = v.kind === 'call' ? v.args.map((g) => r.argEntry(g, kind)).filter((a): a is Entry => a !== undefined) : [];
  r.readEntries(
    args,
    {
      loss_scale: { read: (a) => assign(r.number(r.one(a, 'a positive number (the initial loss scale)'), { what: 'loss_scale', min: 1 }), (n) => (scale.initial = n)) },
      growth: { read: (a) => assign(r.number(r.one(a, 'a positive integer (steps without overflow before the scale doubles)'), { what: 'growth', integer: true, min: 1 }), (n) => (scale.growthInterval = n)) },
    },
    '`fp16(...)`',
  );
  train.lossScale = scale;
}
