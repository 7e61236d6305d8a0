/** `task classify(...) | lm(...) | regress(...)` in `train { }`: what the loss is computed on, each form's arguments. */
import type { TaskPlan } from '../../../../contract/plan.ts';
import { bool, call, choice, int, section, settingsOf, text, type ValueType } from '../../schema.ts';

type Classify = Extract<TaskPlan, { kind: 'classify' }>;
type Lm = Extract<TaskPlan, { kind: 'lm' }>;
type Regress = Extract<TaskPlan, { kind: 'regress' }>;
const name = text({ expected: 'a tensor or data key name in quotes' });
const c = settingsOf<Classify>();

/** A class: its label name in quotes (resolved through the label map when evaluating), or its integer id. */
const classOf: ValueType<string | number> = {
  expected: 'a label name in quotes or a class id (an integer >= 0)',
  read: (r, e, h) => {
    const raw = r.one(e, h.expected, h.known);
    if (!raw) return undefined;
    const v = r.deref(raw);
    if (v.kind === 'number') return r.number(raw, { what: h.what, integer: true, min: 0 });
    const name = r.string(raw, h.what);
    if (name === '') {
      r.error('bad-value', raw.range, `${h.what} is empty`, 'name a label, e.g. `positive "spam"`, or give a class id, e.g. `positive 0`');
      return undefined;
    }
    return name;
  },
};
const l = settingsOf<Lm>();
const g = settingsOf<Regress>();

export const TASK = call<TaskPlan>({
  classify: {
    example: 'logits "logits", labels "label"',
    args: section<Classify>('`classify(...)`', {
      logits: c.value('logits', name, { doc: 'the model output holding the class scores', default: 'logits' }),
      labels: c.value('labels', name, { doc: 'the data key holding the class ids', default: 'labels' }),
      // No default in the plan: absent means class id 1, and evaluation then says which label that is.
      positive: c.value('positive', classOf, { doc: 'the class F1 is computed for: a label name or a class id (default: class id 1)' }),
    }),
  },
  lm: {
    example: 'logits "logits", labels "input_ids"',
    args: section<Lm>('`lm(...)`', {
      logits: l.value('logits', name, { doc: 'the model output holding the token scores', default: 'logits' }),
      labels: l.value('labels', name, { doc: 'the data key holding the tokens to predict', default: 'input_ids' }),
      // PyTorch's CrossEntropyLoss default.
      ignore_index: l.value('ignoreIndex', int(), { doc: 'labels with this value carry no loss', default: -100 }),
      shift: l.value('shift', bool(), { doc: 'position t predicts label t+1 (so labels may be the input ids)', default: true }),
    }),
  },
  regress: {
    example: 'output "score", target "label"',
    args: section<Regress>('`regress(...)`', {
      output: g.value('output', name, { doc: 'the model output', default: 'logits' }),
      target: g.value('target', name, { doc: 'the data key holding the target', default: 'labels' }),
      loss: g.value('loss', choice(['mse']), { doc: 'the loss', default: 'mse', what: 'regression loss' }),
    }),
  },
});
