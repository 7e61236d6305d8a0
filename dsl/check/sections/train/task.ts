/** `task classify(...) | lm(...) | regress(...)` in `train { }`: what the loss is computed on. */
import type { TaskPlan, TrainPlan } from '../../../../contract/plan.ts';
import { DEFAULTS } from '../../defaults.ts';
import { assign, type Entry, type SpecReader } from '../../reader.ts';
import type { ReadContext } from '../../schema.ts';

export function readTask(r: SpecReader, x: Entry, train: TrainPlan, ctx: ReadContext): void {
  const raw = r.one(x, '`classify(...)`, `lm(...)` or `regress(...)`', ctx.known);
  if (!raw) return;
  const v = r.deref(raw);
  const kind = r.choice(v.kind === 'call' ? v.callee : v, 'task', ['classify', 'lm', 'regress'] as const);
  if (!kind) return;
  const args = v.kind === 'call' ? v.args.map((g) => r.argEntry(g, kind)).filter((a): a is Entry => a !== undefined) : [];
  const str = (a: Entry, what: string) => r.string(r.one(a, 'a tensor or data key name in quotes'), what);
  if (kind === 'classify') {
    const task: TaskPlan = { kind, logits: 'logits', labels: 'labels' };
    r.readEntries(
      args,
      {
        logits: { read: (a) => assign(str(a, 'logits'), (s) => (task.logits = s)) },
        labels: { read: (a) => assign(str(a, 'labels'), (s) => (task.labels = s)) },
      },
      '`classify(...)`',
    );
    train.task = task;
  } else if (kind === 'lm') {
    const task: TaskPlan = { kind, logits: 'logits', labels: 'input_ids', ignoreIndex: DEFAULTS.ignoreIndex, shift: true };
    r.readEntries(
      args,
      {
        logits: { read: (a) => assign(str(a, 'logits'), (s) => (task.logits = s)) },
        labels: { read: (a) => assign(str(a, 'labels'), (s) => (task.labels = s)) },
        ignore_index: { read: (a) => assign(r.number(r.one(a, 'an integer'), { what: 'ignore_index', integer: true }), (n) => (task.ignoreIndex = n)) },
        shift: { read: (a) => assign(r.bool(r.one(a, '`true` or `false`'), 'shift'), (b) => (task.shift = b)) },
      },
      '`lm(...)`',
    );
    train.task = task;
  } else {
    const task: TaskPlan = { kind, output: 'logits', target: 'labels', loss: 'mse' };
    r.readEntries(
      args,
      {
        output: { read: (a) => assign(str(a, 'output'), (s) => (task.output = s)) },
        target: { read: (a) => assign(str(a, 'target'), (s) => (task.target = s)) },
        loss: { read: (a) => assign(r.choice(r.one(a, '`mse`'), 'regression loss', ['mse'] as const), (l) => (task.loss = l)) },
      },
      '`regress(...)`',
    );
    train.task = task;
  }
}
