/**
 * The runtime's inference surface: what serving a compiled model needs (the Pipeline, adapter
 * values, their types) and nothing of training. The typed bindings (`lor2c compile --emit-ts`)
 * import it as 'lor2c/inference'. It stays clear of the trainer and of the compiler the trainer
 * recompiles with, so loading it pulls in no ES-module-only package (the spec parser's
 * chevrotain): bindings in a CommonJS project load it through require().
 */
export { Pipeline, type PipelineOptions, type RowOutputs, type RowTensor, type Classification } from './pipeline.ts';
export { adapterValues, type AdapterSource, type AdapterValues } from './adapter.ts';
export type { Float32Tensor } from './checkpoint.ts';
