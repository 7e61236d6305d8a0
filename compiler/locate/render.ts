/** Text lines describing a BlockMap: in full for `lor2c inspect`, in short for every compile. */
import { SPEC_HINT } from './overrides.ts';
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

/**
 * What compile prints on every run: the blocks per stack (first and last label), then each
 * doubt about the structure as a warning with the hint that pins the blocks down.
 */
export function summarizeBlocks(map: BlockMap): string[] {
  const stacks = map.stacks.length > 1 ? ` in ${map.stacks.length} stacks` : '';
  const lines = [`blocks      ${map.blocks.length}${stacks} (${map.style}, hidden ${map.hidden || '?'})`];
  for (const s of map.stacks) {
    const first = map.blocks[s.first]!;
    const last = map.blocks[s.first + s.count - 1]!;
    const range = s.count === 1 ? `block ${s.first}: '${first.label}'` : `blocks ${s.first}..${s.first + s.count - 1}: '${first.label}' .. '${last.label}'`;
    lines.push(`  ${map.stacks.length > 1 ? `${s.name.padEnd(8)} ` : ''}${range}`);
  }
  for (const d of map.doubts) lines.push(`warning     ${d}`);
  if (map.doubts.length) lines.push(`hint        if these blocks are not the model's, ${SPEC_HINT}; \`lor2c inspect MODEL\` shows what was found; --strict makes this an error`);
  return lines;
}

function projectionLine(p: Projection): string {
  const bias = p.bias !== undefined ? ' +bias' : '';
  const parts = p.parts ? `  parts q '${p.parts.q.value}', k '${p.parts.k.value}', v '${p.parts.v.value}'` : '';
  return `${p.role.padEnd(5)} ${p.opType.padEnd(6)} ${p.inFeatures}->${p.outFeatures} [${p.layout}]${bias}  '${p.weight}'  at '${p.node}'${parts}`;
}
