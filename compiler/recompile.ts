/**
 * The compiler's surface for recompiling during training (MergeLoR2C / InjectLoR2C): a base
 * model decoded from bytes and prepared, a new adapter structure compiled from it, and the
 * artifacts' files as bytes. It imports no Node module, so a page bundles it (the runtime's
 * dynamic.ts uses it on Node too); compiler/index.ts re-exports it with the file-based rest.
 */
export { prepareModel, compileStructure, DEFER_WEIGHTS_ABOVE, type PreparedBase, type Compiled, type CompileOptions } from './compile-structure.ts';
export { decodeModel, type ExternalData } from './onnx/decode.ts';
export { memoryData } from './onnx/memory-data.ts';
export { artifactFiles, type ArtifactContents } from './emit/artifact-files.ts';
export { sfs } from './adapters/sfs.ts';
export { chooseInject, chooseMerge, type ModuleValues } from './adapters/merge.ts';
export { copyStructure, injectLora, mergeModules, moduleFactorValues, pruneShareGroups, renamedParameters } from './adapters/restructure.ts';
