/**
 * Ops whose outputs carry no gradient: integer, boolean or shape results, and functions that
 * are piecewise constant (zero derivative almost everywhere). Values computed by them never
 * propagate a dependency on a parameter.
 */
import type { RuleTable } from './rule.ts';

const OPS = [
  'Shape', 'Size', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor',
  'Range', 'NonZero', 'ArgMax', 'ArgMin', 'ConstantOfShape', 'Constant', 'OneHot', 'EyeLike',
  'Floor', 'Ceil', 'Round', 'Sign', 'IsNaN', 'IsInf', 'BitShift', 'Unique', 'NonMaxSuppression',
  'RandomNormal', 'RandomNormalLike', 'RandomUniform', 'RandomUniformLike', 'Bernoulli', 'Multinomial',
] as const;

export const nondifferentiableRules: RuleTable = Object.fromEntries(OPS.map((op) => [op, 'nondifferentiable' as const]));
