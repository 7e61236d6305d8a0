/** Losses: SoftmaxCrossEntropyLoss and NegativeLogLikelihoodLoss (reduction none / mean / sum). */
import { attrString } from '../../graph/attributes.ts';
import type { Rule, RuleTable } from '../rule.ts';

/** Scores [N, C, d1...], labels [N, d1...]: the loss is labels-shaped when not reduced, else a scalar. */
const classLoss = (withLogProb: boolean): Rule => (ctx) => {
  const dtype = ctx.dtype(0);
  const reduction = attrString(ctx.node, 'reduction', 'mean');
  const loss = { dtype, shape: reduction === 'none' ? ctx.shape(1) : [] };
  return withLogProb ? [loss, { dtype, shape: ctx.shape(0) }] : [loss];
};

export const lossRules: RuleTable = {
  SoftmaxCrossEntropyLoss: classLoss(true),
  NegativeLogLikelihoodLoss: classLoss(false),
};
