/**
 * What a gradient rule is. A rule receives a GradContext (the forward node, the gradients
 * flowing into its outputs, emit helpers) and returns, per input slot, the name of the value
 * holding dLoss/dInput, or undefined / false where it gives none (an input that needs no
 * gradient, or a slot that is not differentiable).
 */
import type { Node } from '../graph/graph.ts';
import type { GradContext } from './context.ts';

export type InputGradients = (string | undefined | false)[];

export interface GradientRule {
  /**
   * Input slots through which a gradient can flow (default: every slot). The others (shape,
   * axes, indices, masks, ...) never make the node's outputs depend differentiably on a
   * parameter, so nothing upstream of them is differentiated.
   */
  differentiable?: readonly number[] | ((node: Node) => readonly number[]);
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

export function ruleKey(domain: string, opType: string): string {
  return domain === '' || domain === 'ai.onnx' ? opType : `${domain}:${opType}`;
}
