/** `task classify(...) | lm(...) | regress(...)` in `train { }`: what the loss is computed on, each form's arguments. */
import type { TaskPlan } from '../../../../contract/plan.ts';
import { bool, call, choice, int, section, settingsOf, text } from '../../schema.ts';

type Classify = Extract<TaskPlan, { kind: 'classify' }>;
type Lm = Extract<TaskPlan, { kind: 'lm' }>;
type Regress = Extract<TaskPlan, { kind: 'regress' }>;
const name = text({ expected: 'a tensor or data key name in quotes' });
const c = settingsOf<Classify>();
const l = settingsOf<Lm>();
const g = settingsOf<Regress>();

export const TASK = call<TaskPlan>({
  classify: {
    example: 'logits "logits", labels "label"',
    args: section<Classify>('`classify(...)`', {
      logits: c.value('logits', name, { doc: 'the model output holding the class scores', default: 'logits' }),
      labels: c.value('labels', name, { doc: 'the data key holding the class ids', default: 'labels' }),
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
