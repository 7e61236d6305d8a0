/** AdapterSites from what block discovery found (compiler/locate's BlockMap). */
import type { BlockMap, Projection } from '../locate/types.ts';
import type { AdapterSites, ProjectionSite } from './sites.ts';

function sitesOf(p: Projection, block: number | undefined): ProjectionSite[] {
  const whole: ProjectionSite = { block, role: p.role === 'other' ? undefined : p.role, node: p.node, weight: p.weight, input: p.x, output: p.y, inDim: p.inFeatures, outDim: p.outFeatures };
  if (p.role !== 'qkv' || !p.parts) return [whole];
  // A fused QKV projection: q, k and v can each take their own delta after the split, when
  // the split cuts the last axis (so a [.., width] delta lines up with the part).
  const parts: ProjectionSite[] = [];
  for (const role of ['q', 'k', 'v'] as const) {
    const part = p.parts[role];
    if (!part.lastAxis) continue;
    parts.push({ ...whole, role, input: part.x, output: part.value, outDim: part.width });
  }
  return [whole, ...parts];
}

export function sitesFromBlocks(map: BlockMap): AdapterSites {
  const perBlock = map.blocks.map((b) => b.projections.flatMap((p) => sitesOf(p, b.index)));
  return {
    streams: map.streams,
    hidden: map.hidden,
    projections: (block) => perBlock[block] ?? [],
    allProjections: () => perBlock.flat(),
  };
}
