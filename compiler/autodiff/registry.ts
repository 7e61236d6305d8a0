/**
 * The one table of gradient rules, assembled from the per-family files. An op defined in two
 * families is a bug caught at load time, not a silent override.
 */
import { activationRules } from './activation.ts';
import { convRules } from './conv.ts';
import { dropoutRules } from './dropout.ts';
import { einsumRules } from './einsum.ts';
import { elementwiseRules } from './elementwise.ts';
import { gatherRules } from './gather.ts';
import { matmulRules } from './matmul.ts';
import { nondifferentiableRules } from './nondifferentiable.ts';
import { normalizationRules } from './normalization.ts';
import { reduceRules } from './reduce.ts';
import { ruleKey, type RuleEntry, type RuleTable } from './rule.ts';
import { shapeRules } from './shape-ops.ts';
import { softmaxRules } from './softmax.ts';

export const RULE_FAMILIES: Readonly<Record<string, RuleTable>> = {
  elementwise: elementwiseRules,
  activation: activationRules,
  matmul: matmulRules,
  einsum: einsumRules,
  reduce: reduceRules,
  'shape-ops': shapeRules,
  softmax: softmaxRules,
  normalization: normalizationRules,
  gather: gatherRules,
  dropout: dropoutRules,
  conv: convRules,
  nondifferentiable: nondifferentiableRules,
};

export function buildGradientRegistry(families: Readonly<Record<string, RuleTable>>): Map<string, RuleEntry> {
  const table = new Map<string, RuleEntry>();
  const from = new Map<string, string>();
  for (const [family, rules] of Object.entries(families)) {
    for (const [key, entry] of Object.entries(rules)) {
      const prev = from.get(key);
      if (prev !== undefined) throw new Error(`internal error: gradient rule for '${key}' is defined twice (in ${prev} and ${family})`);
      from.set(key, family);
      table.set(key, entry);
    }
  }
  return table;
}

export const GRADIENT_RULES: ReadonlyMap<string, RuleEntry> = buildGradientRegistry(RULE_FAMILIES);

export function gradientRuleFor(domain: string, opType: string): RuleEntry | undefined {
  return GRADIENT_RULES.get(ruleKey(domain, opType));
}
