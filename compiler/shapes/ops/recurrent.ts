/** Recurrent layers: RNN, GRU, LSTM (layout 0: [seq, batch, ...]; layout 1: [batch, seq, ...]). */
import { attrInt, attrString } from '../../graph/attributes.ts';
import type { Dim } from '../dim.ts';
import type { Rule, RuleTable } from '../rule.ts';

const recurrent = (withCell: boolean): Rule => (ctx) => {
  const x = ctx.shape(0);
  const dtype = ctx.dtype(0);
  const hidden = attrInt(ctx.node, 'hidden_size');
  const dirs = attrString(ctx.node, 'direction', 'forward') === 'bidirectional' ? 2 : 1;
  if (!x || x.length !== 3 || hidden === undefined) return withCell ? [{ dtype }, { dtype }, { dtype }] : [{ dtype }, { dtype }];
  const layout = attrInt(ctx.node, 'layout', 0);
  const [seq, batch] = (layout === 0 ? [x[0], x[1]] : [x[1], x[0]]) as [Dim, Dim];
  const y = { dtype, shape: layout === 0 ? [seq, dirs, batch, hidden] : [batch, seq, dirs, hidden] };
  const state = { dtype, shape: layout === 0 ? [dirs, batch, hidden] : [batch, dirs, hidden] };
  return withCell ? [y, state, state] : [y, state];
};

export const recurrentRules: RuleTable = {
  RNN: recurrent(false),
  GRU: recurrent(false),
  LSTM: recurrent(true),
};
