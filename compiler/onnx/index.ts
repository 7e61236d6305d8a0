export * from './proto.ts';
export * from './dtype.ts';
export * from './tensor.ts';
export { readModel, decodeModel, DEFAULT_LIMITS, type ReadLimits, type ReadOptions } from './read.ts';
export { halfToFloat, floatToHalf, bfloat16ToFloat, halfArrayToFloat } from './half.ts';
export { deferredBytes, readDeferred, type DeferredBytes } from './deferred.ts';
export { writeModel, encodeModel, ExternalDataFile, DEFAULT_EXTERNAL_THRESHOLD, type WriteOptions } from './write.ts';
export { visitModelTensors } from './walk.ts';
export { makeValueInfo } from './value-info.ts';
