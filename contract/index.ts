/**
 * The contract between lor2c's compiler and its runtime, imported by both (and by the CLI):
 * the artifacts' manifest (with the Plan and adapter structure it records) and the layout of their folder, the safetensors format of adapters
 * and checkpoints, durable file writes and folder locks, and UserError, the one kind of failure
 * that is the user's to fix. Nothing here knows about graphs or sessions. Its files may also be imported one by one (each is one concept):
 * errors, manifest and safetensors need no Node module, so a browser build takes those alone.
 */
export { UserError, isUserError } from './errors.ts';
export * from './manifest.ts';
export type * from './plan.ts';
export { PLAN_VERSION, PROJECTION_ROLES } from './plan.ts';
export type { AdapterStructure } from './structure.ts';
export * from './safetensors.ts';
export { readSafetensors, writeSafetensors } from './safetensors-file.ts';
export { writeDurable, writeFileAtomic, makeFolder, renameInto } from './atomic.ts';
export { fileError } from './file-errors.ts';
export { lockFolder, type FolderLock } from './lock.ts';
export { MANIFEST_FILE, TEXT_CONFIG, ownedFiles, finishInterruptedUpdate } from './artifacts-folder.ts';
