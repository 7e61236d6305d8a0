/** Whole-graph passes: ordering, clean-up, and the check that emitted ops run on every provider. */
export { toposort, topologicalOrder } from './toposort.ts';
export { eliminateDeadCode } from './dce.ts';
export { eliminateCommonSubexpressions } from './cse.ts';
export { removeOutputCopies } from './output-copies.ts';
export { liftConstants } from './lift-constants.ts';
export { foldConstantTransposes } from './fold-constant-transposes.ts';
export * from './op-coverage.ts';
export { unrollSequences, MAX_UNROLLED_ITERATIONS, type UnrollResult } from './unroll-sequences.ts';
