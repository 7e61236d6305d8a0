/** Checks every located model must pass, whatever its source: the invariants of a BlockMap. */
import type { ExecutionContext } from 'ava';
import type { Model } from '../../../compiler/graph/index.ts';
import type { BlockMap } from '../../../compiler/locate/index.ts';
import { inferShapes } from '../../../compiler/shapes/index.ts';

/** The role of every projection of every block, in node order. */
export function rolesPerBlock(map: BlockMap): string[][] {
  return map.blocks.map((b) => b.projections.map((p) => p.role));
}

/**
 * Structural invariants: streams chain the blocks, every projection's weight and values
 * exist, x and y have the widths the weight says (from shape inference), fused parts are
 * distinct and indexed 0..2, and no projection is left without a role.
 */
export function checkInvariants(t: ExecutionContext, model: Model, map: BlockMap): void {
  const g = model.graph;
  const values = new Set([...g.inputNames(), ...g.nodes.flatMap((n) => n.outputs)]);
  const nodeNames = new Set(g.nodes.map((n, i) => n.name || `#${i}`));
  t.is(map.streams.length, map.blocks.length + 1, 'L + 1 streams');
  map.blocks.forEach((b, i) => {
    t.is(b.index, i);
    t.is(b.input, map.streams[i]);
    t.is(b.output, map.streams[i + 1]);
    t.true(values.has(b.input) && values.has(b.output), `block ${i} streams exist`);
    t.true(b.nodes.length > 0);
  });
  const types = inferShapes(model);
  const lastDim = (v: string) => types.get(v)?.shape?.at(-1);
  for (const b of map.blocks) {
    for (const p of b.projections) {
      const where = `${b.label} ${p.role} '${p.node}'`;
      t.not(p.role, 'other', `${where} has a role`);
      t.true(nodeNames.has(p.node), `${where}: node exists`);
      t.true(g.initializers.has(p.weight) || values.has(p.weight), `${where}: weight '${p.weight}' exists`);
      if (p.bias !== undefined) t.true(g.initializers.has(p.bias) || values.has(p.bias), `${where}: bias exists`);
      t.true(values.has(p.x) && values.has(p.y), `${where}: x and y exist`);
      t.is(lastDim(p.x), p.inFeatures, `${where}: x is [.., in]`);
      t.is(lastDim(p.y), p.outFeatures, `${where}: y is [.., out]`);
      if (p.role === 'qkv') {
        t.truthy(p.parts, `${where}: fused parts found`);
        const parts = [p.parts!.q, p.parts!.k, p.parts!.v];
        t.deepEqual(parts.map((x) => x.index).sort(), [0, 1, 2], `${where}: parts indexed 0..2`);
        t.is(new Set(parts.map((x) => x.value)).size, 3);
        if (parts.every((x) => x.lastAxis)) {
          t.is(parts.reduce((s, x) => s + x.width, 0), p.outFeatures, `${where}: last-axis parts add up to the fused width`);
          for (const part of parts) {
            t.is(lastDim(part.value), part.width, `${where}: part '${part.value}' is [.., width]`);
            // A delta computed from part.x lines up with the part: same leading axes, x is [.., in].
            const xs = types.get(part.x)?.shape;
            const vs = types.get(part.value)?.shape;
            t.is(xs?.at(-1), p.inFeatures);
            t.deepEqual(xs?.slice(0, -1), vs?.slice(0, -1), `${where}: '${part.x}' and '${part.value}' share leading axes`);
          }
        }
      }
    }
  }
  t.true(map.hidden > 0);
  for (const s of map.streams) {
    const d = lastDim(s);
    if (typeof d === 'number') t.is(d, map.hidden, `stream '${s}' is [.., d]`);
  }
}
