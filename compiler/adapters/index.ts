/**
 * The adapters' API: where adapters attach and how they are applied, the names of their
 * parameters, the SFS score and the Merge / Inject decisions, the structure edits those make,
 * merged-module initial values, and baking (and LoRA folding) into a standalone graph. The
 * runtime and the CLI use adapters only through this file.
 */
export { applyAdapters, patternRegex, type AdapterStructure, type AppliedAdapters, type ApplyOptions } from './apply.ts';
export { type AdapterSites, type ProjectionSite } from './sites.ts';
export { FACTORS, factorParameterName, loraNodeId, loraParameterName, loraTargetId, moduleParameterName, moduleParameterNames, shareGroupOf, sharedParameterName, sharesFactor, type Factor } from './naming.ts';
export { sfs, deltaSingularValues } from './sfs.ts';
export { chooseInject, chooseMerge, mergedModule, mergedValues, type MergeChoice, type ModuleValues } from './merge.ts';
export { copyStructure, injectLora, mergeModules, moduleFactorValues, pruneShareGroups, renamedParameters, type Edited } from './restructure.ts';
export { describeAdapters, type AdapterDescription, type LoraDescription, type ModuleDescription } from './describe.ts';
export { bakeAdapter, type BakeOptions } from './bake.ts';
export { foldLora, type FoldReport } from './fold-lora.ts';
export { traceLoraPath, type LoraPath } from './lora-path.ts';
export { initDown, seededUniform } from './init.ts';
