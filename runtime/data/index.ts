export { Rng, permutation, type RngState } from './prng.ts';
export { scanLines, LineReader, FileLines } from './jsonl.ts';
export { BytesLines, MAX_LINE_BYTES, type LineRef, type LineSource } from './lines.ts';
export { dataSchema, checkExample, isIntegerDtype, DEFAULT_IGNORE_INDEX, type DataSchema, type InputSpec, type DataDtype, type CheckedExample } from './schema.ts';
export { Dataset, type DatasetOptions, type BadRow } from './dataset.ts';
export { openDataset } from './dataset-file.ts';
export { BatchPlan, type BatchPlanOptions, type DataPosition } from './batches.ts';
export { collate, type Batch } from './collate.ts';
