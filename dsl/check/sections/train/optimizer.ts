/** `optimizer adamw(...) | sgd(...)` in `train { }`: each form's arguments, with PyTorch's defaults (lr: docs/method.md §1). */
import type { OptimizerPlan } from '../../../../contract/plan.ts';
import { bool, call, number, section, settingsOf, type Variant } from '../../schema.ts';

type AdamW = Extract<OptimizerPlan, { kind: 'adamw' }>;
type Sgd = Extract<OptimizerPlan, { kind: 'sgd' }>;
const adamw = settingsOf<AdamW>();
const sgd = settingsOf<Sgd>();
const lr = number({ min: 0, above: true });
const weightDecay = number({ min: 0 });

const ADAMW = section<AdamW>('`adamw(...)`', {
  lr: adamw.value('lr', lr, { doc: 'the learning rate', default: 4e-4 }),
  betas: adamw.custom({
    doc: 'the moments\' decay rates',
    field: 'betas',
    default: [0.9, 0.999],
    expected: 'two numbers in [0, 1)',
    read(r, a, opt) {
      const items = a.values.flatMap((b) => {
        const d = r.deref(b);
        return d.kind === 'list' ? d.items : [b];
      });
      if (items.length !== 2) {
        r.error('bad-value', a.range, `betas are two numbers, got ${items.length}`, 'write `betas 0.9 0.999` or `betas [0.9, 0.999]`');
        return;
      }
      const b1 = r.number(items[0], { what: 'beta1', min: 0, max: 1, below: true });
      const b2 = r.number(items[1], { what: 'beta2', min: 0, max: 1, below: true });
      if (b1 !== undefined && b2 !== undefined) opt.betas = [b1, b2];
    },
  }),
  eps: adamw.value('eps', number({ min: 0, above: true }), { doc: 'added to the denominator', default: 1e-8 }),
  weight_decay: adamw.value('weightDecay', weightDecay, { doc: 'decoupled weight decay', default: 0.01 }),
});

const SGD = section<Sgd>('`sgd(...)`', {
  // No default: SGD's learning rates differ too much between models to guess one.
  lr: sgd.value('lr', lr, { doc: 'the learning rate (required)' }),
  momentum: sgd.value('momentum', number({ min: 0, max: 1, below: true }), { doc: 'momentum', default: 0 }),
  nesterov: sgd.value('nesterov', bool(), { doc: 'Nesterov momentum', default: false }),
  weight_decay: sgd.value('weightDecay', weightDecay, { doc: 'L2 weight decay', default: 0 }),
});

const VARIANTS: Record<string, Variant> = {
  adamw: { example: 'lr 4e-4', args: ADAMW },
  sgd: {
    example: 'lr 0.01, momentum 0.9',
    args: SGD,
    finish(r, value, ctx, at) {
      const opt = value as Sgd;
      if (!ctx.seen.has('lr')) r.error('missing-value', at.range, '`sgd` needs a learning rate', 'write e.g. `sgd(lr 0.01, momentum 0.9)`');
      if (opt.nesterov && opt.momentum === 0) r.error('bad-value', at.range, 'nesterov needs momentum > 0', 'add e.g. `momentum 0.9`');
    },
  },
};

export const OPTIMIZER = call<OptimizerPlan>(VARIANTS);
