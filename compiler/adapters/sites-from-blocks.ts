/** AdapterSites from what block discovery found (compiler/locate's BlockMap). */
import type { BlockMap, Projection } from '../locate/types.ts';
import type { AdapterSites, ProjectionSite } from './sites.ts';

function sitesOf(p: Projection, block: number | undefined): ProjectionSite[] {
  const whole: ProjectionSite = { block, role: p.role === 'other' ? undefined : p.role, node: p.node, weight: p.weight, input: p.x, output: p.y, inDim: p.inFeatures, outDim: p.outFeatures };
  if (p.role !== 'qkv' || !p.parts) return [whole];
  // A fused QKV projection: q, k and v each take their own delta. Where the split cuts the
  // last axis, the delta goes right after the split; otherwise into the part's columns of the
  // fused output, as derived from the graph (compiler/locate/fused-columns.ts). Where they
  // could not be derived there is no q/k/v site, and the reason stays on the fused one.
  const parts: ProjectionSite[] = [];
  const unproven: string[] = [];
  for (const role of ['q', 'k', 'v'] as const) {
    const part = p.parts[role];
    if (part.lastAxis) parts.push({ ...whole, role, input: part.x, output: part.value, outDim: part.width, fusedPart: true });
    else if (part.columns) parts.push({ ...whole, role, outDim: part.columns.length, columns: part.columns, fusedDim: p.outFeatures, fusedPart: true });
    else unproven.push(`${role}: ${part.unproven ?? 'not derived'}`);
  }
  if (unproven.length) return [{ ...whole, partsUnproven: unproven.join('; ') }, ...parts];
  return [whole, ...parts];
}

export function sitesFromBlocks(map: BlockMap): AdapterSites {
  const perBlock = map.blocks.map((b) => b.projections.flatMap((p) => sitesOf(p, b.index)));
  const elsewhere = map.elsewhere.flatMap((p) => sitesOf(p, undefined));
  return {
    blocks: map.blocks.map((b) => ({ input: b.input, output: b.output, stack: b.stack })),
    hidden: map.hidden,
    projections: (block) => perBlock[block] ?? [],
    allProjections: () => [...perBlock.flat(), ...elsewhere],
  };
}
