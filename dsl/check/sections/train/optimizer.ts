/** `optimizer adamw(...) | sgd(...)` in `train { }`. */
import type { OptimizerPlan, TrainPlan } from '../../../../contract/plan.ts';
import { DEFAULTS } from '../../defaults.ts';
import { assign, type Entry, type SpecReader } from '../../reader.ts';
import type { ReadContext } from '../../schema.ts';

/** `optimizer` left out: AdamW with PyTorch's defaults and the paper's lr. */
export const DEFAULT_OPTIMIZER: OptimizerPlan = { kind: 'adamw', lr: DEFAULTS.lr, betas: [...DEFAULTS.betas], eps: DEFAULTS.eps, weightDecay: DEFAULTS.adamwWeightDecay };

export function readOptimizer(r: SpecReader, x: Entry, train: TrainPlan, ctx: ReadContext): void {
  const raw = r.one(x, '`adamw(...)` or `sgd(...)`', ctx.known);
  if (!raw) return;
  const v = r.deref(raw);
  const kind = r.choice(v.kind === 'call' ? v.callee : v, 'optimizer', ['adamw', 'sgd'] as const);
  if (!kind) return;
  const args = v.kind === 'call' ? v.args.map((g) => r.argEntry(g, kind)).filter((a): a is Entry => a !== undefined) : [];
  const lr = (a: Entry, set: (n: number) => void) => assign(r.number(r.one(a, 'a positive number'), { what: 'lr', min: 0, above: true }), set);
  const wd = (a: Entry, set: (n: number) => void) => assign(r.number(r.one(a, 'a number >= 0'), { what: 'weight_decay', min: 0 }), set);
  if (kind === 'adamw') {
    const opt: OptimizerPlan = { kind, lr: DEFAULTS.lr, betas: [...DEFAULTS.betas], eps: DEFAULTS.eps, weightDecay: DEFAULTS.adamwWeightDecay };
    r.readEntries(
      args,
      {
        lr: { read: (a) => lr(a, (n) => (opt.lr = n)) },
        betas: {
          read: (a) => {
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
        },
        eps: { read: (a) => assign(r.number(r.one(a, 'a positive number'), { what: 'eps', min: 0, above: true }), (n) => (opt.eps = n)) },
        weight_decay: { read: (a) => wd(a, (n) => (opt.weightDecay = n)) },
      },
      '`adamw(...)`',
    );
    train.optimizer = opt;
  } else {
    const opt: OptimizerPlan = { kind, lr: DEFAULTS.lr, momentum: 0, nesterov: false, weightDecay: 0 };
    let wroteLr = false;
    r.readEntries(
      args,
      {
        lr: { read: (a) => ((wroteLr = true), lr(a, (n) => (opt.lr = n))) },
        momentum: { read: (a) => assign(r.number(r.one(a, 'a number in [0, 1)'), { what: 'momentum', min: 0, max: 1, below: true }), (n) => (opt.momentum = n)) },
        nesterov: { read: (a) => assign(r.bool(r.one(a, '`true` or `false`'), 'nesterov'), (b) => (opt.nesterov = b)) },
        weight_decay: { read: (a) => wd(a, (n) => (opt.weightDecay = n)) },
      },
      '`sgd(...)`',
    );
    if (!wroteLr) r.error('missing-value', raw.range, '`sgd` needs a learning rate', 'write e.g. `sgd(lr 0.01, momentum 0.9)`');
    if (opt.nesterov && opt.momentum === 0) r.error('bad-value', raw.range, 'nesterov needs momentum > 0', 'add e.g. `momentum 0.9`');
    train.optimizer = opt;
  }
}
