export * from './graph.ts';
export * from './convert.ts';
export * from './attributes.ts';
export { GraphBuilder, type OpOptions } from './builder.ts';
export { Emitter } from './emitter.ts';
export { inferDtypes } from './dtypes.ts';
export { validateGraph, assertValidGraph, type GraphProblem } from './validate.ts';
export { interpose } from './interpose.ts';
export { cloneGraph, cloneModel } from './clone.ts';
