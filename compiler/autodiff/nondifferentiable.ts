/**
 * Ops whose outputs carry no gradient (integer, boolean or shape results, piecewise constant
 * functions, random draws), as their rows in compiler/ops/traits.ts declare. Values computed by
 * them never propagate a dependency on a parameter.
 */
import { nondifferentiableOps } from '../ops/traits.ts';
import type { RuleTable } from './rule.ts';

export const nondifferentiableRules: RuleTable = Object.fromEntries(nondifferentiableOps().map((op) => [op, 'nondifferentiable' as const]));
