export * from './graph.ts';
export * from './convert.ts';
export * from './attributes.ts';
export { GraphBuilder, type OpOptions } from './builder.ts';
export { toposort, topologicalOrder, describeNode } from './toposort.ts';
export { eliminateDeadCode } from './dce.ts';
export { eliminateCommonSubexpressions } from './cse.ts';
export { validateGraph, assertValidGraph, type GraphProblem } from './validate.ts';
export { liftConstants } from './lift-constants.ts';
