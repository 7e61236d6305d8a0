/**
 * What a gradient rule is. A rule receives a GradContext (the forward node, the gradients
 * flowing into its outputs, emit helpers) and returns, per input slot, the name of the value
 * holding dLoss/dInput, or undefined / false where it gives none (an input that needs no
 * gradient, or a slot that is not differentiable). Which slots are differentiable is a fact of
 * the op, in its traits row (compiler/ops/traits.ts `differentiableInputs`), not of the rule.
 */
import type { GradContext } from './context.ts';

export type InputGradients = (string | undefined | false)[];

export interface GradientRule {
  /**
   * Optional outputs the rule reads (saved statistics, a dropout mask) when this node uses
   * them. The differentiator adds those the forward node omits before calling `grad`, so the
   * backward reuses what the forward kernel computes instead of recomputing it.
   */
  saves?: (g: GradContext) => readonly number[];
  grad(g: GradContext): InputGradients;
}

/** 'nondifferentiable': outputs are piecewise constant or integral (Shape, Equal, ArgMax, ...): they carry no gradient. */
export type RuleEntry = GradientRule | 'nondifferentiable';

/** Rules keyed by op type ('MatMul') for ai.onnx, or 'domain:OpType' ('com.microsoft:Gelu'). */
export type RuleTable = Readonly<Record<string, RuleEntry>>;

export { opKey as ruleKey } from '../graph/graph.ts';
