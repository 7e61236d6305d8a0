/**
 * The compiler's public surface: what the runtime and the CLI may use. compile.ts is the front
 * door (prepare a base model once, compile adapter structures from it, write artifacts); the
 * rest is what a caller outside the compiler needs to read, edit and write ONNX models, report
 * on them, and decide and apply Merge / Inject. Inside the compiler, files import each other
 * directly.
 */
export * from './compile.ts';
export { readSpecFile, MAX_SPEC_BYTES } from './spec-file.ts';
export { parameterReport, renderReport, type ParameterReport } from './report.ts';
export { summarizeBlocks } from './locate/index.ts';
export { inspectModel, renderInspection, describeType, type Inspection, type ValueSummary } from './inspect.ts';
export * from './onnx/index.ts';
export * from './graph/index.ts';
export * from './adapters/index.ts';
export { writeArtifacts, writeGraphs, type ArtifactContents, type WrittenArtifacts, type WeightsCache } from './emit/artifacts.ts';
export * from './portable.ts';
export { emitBindings, RUNTIME_IMPORT, type BindingsOptions } from './emit/bindings.ts';
