export { locateBlocks } from './locate.ts';
export { renderBlocks } from './render.ts';
export type { BlockMap, BlockInfo, BlockOverride, BlockStyle, Projection, ProjectionRole, FusedPart, StackInfo } from './types.ts';
