/** Reverse-mode automatic differentiation of ONNX graphs, in plain ONNX ops. */
export { differentiate, type DifferentiateOptions, type DifferentiateResult } from './differentiate.ts';
export { GRADIENT_RULES, RULE_FAMILIES, buildGradientRegistry, gradientRuleFor } from './registry.ts';
export { ruleKey, type GradientRule, type RuleEntry, type RuleTable, type InputGradients } from './rule.ts';
export { GradContext } from './context.ts';
export { sumToShape, staticReductionAxes } from './broadcast.ts';
