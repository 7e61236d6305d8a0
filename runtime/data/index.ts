export { Rng, permutation, type RngState } from './prng.ts';
export { scanLines, LineReader, MAX_LINE_BYTES, type LineRef } from './jsonl.ts';
export { dataSchema, checkExample, isIntegerDtype, DEFAULT_IGNORE_INDEX, type DataSchema, type InputSpec, type DataDtype, type CheckedExample } from './schema.ts';
export { Dataset, type DatasetOptions, type BadRow } from './dataset.ts';
export { BatchPlan, type BatchPlanOptions, type DataPosition } from './batches.ts';
export { collate, type Batch } from './collate.ts';
