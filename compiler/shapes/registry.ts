/**
 * The rule registry: every op family's table merged into one map, keyed by domain and op type.
 * Registering the same op twice is a programming error and fails at load time, so two files
 * can never silently disagree about an op.
 */
import type { Rule, RuleTable } from './rule.ts';
import { elementwiseRules } from './ops/elementwise.ts';
import { matmulRules } from './ops/matmul.ts';
import { reduceRules } from './ops/reduce.ts';
import { layoutRules } from './ops/layout.ts';
import { indexingRules } from './ops/indexing.ts';
import { generatorRules } from './ops/generators.ts';
import { normalizationRules } from './ops/normalization.ts';
import { convolutionRules } from './ops/convolution.ts';
import { lossRules } from './ops/loss.ts';
import { controlFlowRules } from './ops/control-flow.ts';
import { recurrentRules } from './ops/recurrent.ts';
import { quantizeRules } from './ops/quantize.ts';
import { imageRules } from './ops/image.ts';
import { signalRules } from './ops/signal.ts';
import { textRules } from './ops/text.ts';

export function buildRegistry(tables: readonly RuleTable[]): Map<string, Rule> {
  const map = new Map<string, Rule>();
  for (const table of tables) {
    for (const [key, rule] of Object.entries(table)) {
      const full = key.includes(':') ? key : `:${key}`;
      if (map.has(full)) throw new Error(`shape rule for '${key}' registered twice`);
      map.set(full, rule);
    }
  }
  return map;
}

const REGISTRY = buildRegistry([
  elementwiseRules, matmulRules, reduceRules, layoutRules, indexingRules, generatorRules,
  normalizationRules, convolutionRules, lossRules, controlFlowRules, recurrentRules,
  quantizeRules, imageRules, signalRules, textRules,
]);

/** The rule for an op (domain '' is ai.onnx), or undefined for ops inference does not know. */
export function ruleFor(domain: string, opType: string): Rule | undefined {
  return REGISTRY.get(`${domain}:${opType}`);
}

/** Every op with a rule, as 'OpType' or 'domain:OpType'. */
export function knownOps(): string[] {
  return [...REGISTRY.keys()].map((k) => (k.startsWith(':') ? k.slice(1) : k));
}
