/**
 * The compiler's portable surface: everything the runtime needs that loads neither a Node
 * module nor the spec language's parser library (chevrotain, ES-module only). A page bundles
 * it (the browser trainer recompiles at Merge / Inject with it), and the generated CommonJS
 * bindings load it through the runtime's inference entry. compiler/index.ts re-exports all of
 * it beside the file-based rest; runtime files that a page or the bindings load import this
 * file instead, and spec/layers.test.ts checks that it stays free of both.
 *
 * What it holds: recompiling during training (a base model decoded from bytes and prepared, a
 * new adapter structure compiled from it, the artifacts' files as bytes), the adapter facts
 * the runtime reports and exports (parameter names, SFS, Merge / Inject decisions and structure
 * edits, adapter descriptions), and reading a LoRA path out of a graph.
 */
export { prepareModel, compileStructure, DEFER_WEIGHTS_ABOVE, type PreparedBase, type Compiled, type CompileOptions } from './compile-structure.ts';
export { decodeModel, type ExternalData } from './onnx/decode.ts';
export { memoryData } from './onnx/memory-data.ts';
export { halfArrayToFloat } from './onnx/half.ts';
export { artifactFiles, type ArtifactContents } from './emit/artifact-files.ts';
export { attrInt } from './graph/attributes.ts';
export type { Graph, Node } from './graph/graph.ts';
export { sfs } from './adapters/sfs.ts';
export { moduleParameterNames } from './adapters/naming.ts';
export { chooseInject, chooseMerge, type ModuleValues } from './adapters/merge.ts';
export { copyStructure, injectLora, mergeModules, moduleFactorValues, pruneShareGroups, renamedParameters } from './adapters/restructure.ts';
export { describeAdapters, type AdapterDescription, type LoraDescription, type ModuleDescription } from './adapters/describe.ts';
export { traceLoraPath, type LoraPath } from './adapters/lora-path.ts';
