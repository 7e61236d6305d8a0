/** Text lines describing a BlockMap, for `lor2c inspect`. */
import type { BlockMap, Projection } from './types.ts';

export function renderBlocks(map: BlockMap): string[] {
  const lines = [`blocks      ${map.blocks.length} (${map.style}, hidden ${map.hidden || '?'})`];
  for (const b of map.blocks) {
    lines.push(`  ${b.label}: '${b.input}' -> '${b.output}' (${b.nodes.length} nodes)`);
    for (const p of b.projections) lines.push(`    ${projectionLine(p)}`);
  }
  for (const n of map.notes) lines.push(`  note: ${n}`);
  return lines;
}

function projectionLine(p: Projection): string {
  const bias = p.bias !== undefined ? ' +bias' : '';
  const parts = p.parts ? `  parts q '${p.parts.q.value}', k '${p.parts.k.value}', v '${p.parts.v.value}'` : '';
  return `${p.role.padEnd(5)} ${p.opType.padEnd(6)} ${p.inFeatures}->${p.outFeatures} [${p.layout}]${bias}  '${p.weight}'  at '${p.node}'${parts}`;
}
