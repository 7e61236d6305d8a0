/** `precision fp32 | fp16 | bf16` in `train { }`; fp16 takes its dynamic loss scaling as `fp16(loss_scale N, growth N)`. */
import { PRECISIONS, type Precision, type TrainPlan } from '../../../../contract/plan.ts';
import { call, int, number, section, settingsOf, type Variant } from '../../schema.ts';

type LossScale = NonNullable<TrainPlan['lossScale']>;
const s = settingsOf<LossScale>();

/** fp16's dynamic loss scaling; the defaults are torch.cuda.amp.GradScaler's init_scale and growth_interval. */
const FP16 = section<LossScale>('`fp16(...)`', {
  loss_scale: s.value('initial', number({ min: 1 }), { doc: 'the initial loss scale', default: 65536, expected: 'a positive number (the initial loss scale)' }),
  growth: s.value('growthInterval', int({ min: 1 }), { doc: 'steps without overflow before the scale doubles', default: 2000, expected: 'a positive integer (steps without overflow before the scale doubles)' }),
});

const bare: Record<Exclude<Precision, 'fp16'>, string> = {
  fp32: 'write `precision fp32`',
  bf16: "bfloat16 has float32's range and needs no loss scaling: write `precision bf16`",
};

/** Every precision of contract/plan.ts: fp16 with its loss scaling, the others alone. */
export const PRECISION = call<{ kind: Precision } & Partial<LossScale>>(
  Object.fromEntries(PRECISIONS.map((p): [string, Variant] => [p, p === 'fp16' ? { example: 'loss_scale 65536', args: FP16 } : { bare: bare[p] }])),
);

/** The precision read into the plan: fp16's loss scaling beside it. */
export function setPrecision(train: TrainPlan, { kind, initial, growthInterval }: { kind: Precision } & Partial<LossScale>): void {
  train.precision = kind;
  if (initial !== undefined && growthInterval !== undefined) train.lossScale = { initial, growthInterval };
}
