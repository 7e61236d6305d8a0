export { locateBlocks } from './locate.ts';
export { renderBlocks, summarizeBlocks } from './render.ts';
export { SPEC_HINT } from './overrides.ts';
export type { BlockMap, BlockInfo, BlockOverride, BlockStyle, Projection, ProjectionRole, FusedPart, StackInfo } from './types.ts';
