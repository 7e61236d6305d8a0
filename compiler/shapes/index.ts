/** Dtype and symbolic-shape inference over the IR. */
export type { Dim } from './dim.ts';
export { dimAdd, dimSub, dimMul, dimDivExact, dimFloorDiv, dimProduct, dimEquals, dimBounds, dimDifferenceBounds, evaluateDim, normalizeDim, isConcrete } from './dim.ts';
export { type ValueType, UNKNOWN, valueTypeFromInfo, valueTypeFromTypeProto, valueTypeOfTensor, typeProtoFromValueType, valueInfoFromType, formatShape, sameType } from './types.ts';
export { broadcastShapes, broadcastDim } from './helpers.ts';
export { inferShapes, inferGraphShapes, inferGraphValues, type InferOptions } from './infer.ts';
export type { Inferred, Rule, RuleContext, RuleTable } from './rule.ts';
export { ruleFor, knownOps, buildRegistry } from './registry.ts';
export { annotateValueInfo } from './annotate.ts';
