/**
 * locateBlocks: the blocks of a transformer export, found from structure first (residual
 * Adds, norms, the attention dataflow) and names second (labels only). See the files beside
 * this one for each step.
 */
import { UserError } from '../errors.ts';
import type { Model, Node } from '../graph/index.ts';
import { inferShapes } from '../shapes/index.ts';
import { blocksFromResiduals } from './chain.ts';
import { GraphView } from './graph-view.ts';
import { blockLabels } from './labels.ts';
import { SPEC_HINT, streamsFromOverride } from './overrides.ts';
import { projectionAt, type ProjectionSite } from './projections.ts';
import { findResidualAdds, nodesBetween, type ResidualAdd } from './residuals.ts';
import { assignRoles, type ShapeLookup } from './roles.ts';
import type { BlockInfo, BlockMap, BlockOverride, BlockStyle, Projection } from './types.ts';

export function locateBlocks(model: Model, override: BlockOverride = { kind: 'auto' }): BlockMap {
  const view = new GraphView(model);
  const residuals = findResidualAdds(view);
  const notes: string[] = [];
  let style: BlockStyle;
  let streams: string[];
  let residualsPerBlock: ResidualAdd[][] | undefined;
  if (override.kind === 'auto') {
    const found = blocksFromResiduals(view, residuals);
    ({ style, streams } = found);
    residualsPerBlock = found.residuals;
    notes.push(...found.notes);
  } else {
    streams = streamsFromOverride(view, override);
    style = styleAt(view, streams);
  }

  const shapes = shapeLookup(model, notes);
  const nodeLists: Node[][] = [];
  for (let i = 0; i + 1 < streams.length; i++) {
    const nodes = nodesBetween(view, streams[i]!, streams[i + 1]!);
    if (!nodes?.length) throw new UserError(`block ${i}: its output '${streams[i + 1]}' is not computed from its input '${streams[i]}'`, SPEC_HINT);
    nodeLists.push(nodes);
  }
  const sitesPerBlock = nodeLists.map((nodes) => nodes.map((n) => projectionAt(view, n)).filter((s): s is ProjectionSite => s !== undefined));
  // Node names, and the names of the parameters the block reads (older exporters name only those).
  const names = nodeLists.map((nodes) => [...nodes.map((n) => n.name), ...nodes.flatMap((n) => n.inputs.filter((i) => model.graph.initializers.has(i)))].filter(Boolean));
  const labels = blockLabels(names, new Set(view.nodes.map((n) => n.opType))) ?? nodeLists.map((_, i) => `block ${i}`);

  const blocks: BlockInfo[] = nodeLists.map((nodes, i) => {
    const label = labels[i]!;
    const inBlock = new Set(nodes);
    const own = residualsPerBlock?.[i] ?? residuals.filter((r) => inBlock.has(r.node));
    const sites = sitesPerBlock[i]!;
    const roles = assignRoles(view, label, nodes, sites, own, shapes);
    notes.push(...roles.notes);
    const projections: Projection[] = sites.map((s) => ({
      role: roles.roles.get(s) ?? 'other',
      node: view.nameOf(s.node),
      opType: s.node.opType,
      weight: s.weight.name,
      weightInConstantNode: s.weight.inConstantNode,
      layout: s.layout,
      ...(s.bias !== undefined ? { bias: s.bias } : {}),
      inFeatures: s.inFeatures,
      outFeatures: s.outFeatures,
      x: s.x,
      y: s.y,
      ...(roles.parts.has(s) ? { parts: roles.parts.get(s)! } : {}),
    }));
    return { index: i, label, input: streams[i]!, output: streams[i + 1]!, nodes: nodes.map((n) => view.nameOf(n)), projections };
  });

  const hidden = hiddenSize(blocks, streams, shapes, notes);
  checkIsomorphic(nodeLists, labels, notes);
  const users = new Map<string, string[]>();
  for (const b of blocks) for (const p of b.projections) users.set(p.weight, [...(users.get(p.weight) ?? []), `${b.label} ${p.role}`]);
  for (const [weight, who] of users) {
    // Exporters store identical tensors once (torch does for nn.TransformerEncoder's copied layers).
    if (who.length > 1) notes.push(`weight '${weight}' is shared by ${who.join(', ')}: a LoRA delta goes on each projection's output, but merging into the weight would change them all`);
  }
  if (blocks.some((b) => b.projections.some((p) => p.weightInConstantNode))) {
    notes.push('projection weights are held in Constant nodes: lift them to initializers (compiler/graph liftConstants) before training through them');
  }
  return { style, hidden, streams, blocks, notes };
}

/** Style of user-named streams: pre-LN when block outputs are residual Adds (two computed operands), post-LN when they are norm outputs. */
function styleAt(view: GraphView, streams: string[]): BlockStyle {
  const kinds = streams.slice(1).map((h) => {
    const p = view.producer.get(h);
    return p?.opType === 'Add' && view.dynamicInputs(p).length === 2 ? 'pre-ln' : 'post-ln';
  });
  const decisive = kinds.length > 1 ? kinds.slice(0, -1) : kinds;
  if (decisive.every((k) => k === 'pre-ln')) return 'pre-ln';
  if (decisive.every((k) => k === 'post-ln')) return 'post-ln';
  return 'other';
}

/** Shapes from compiler/shapes, when inference runs on this model; discovery works without them. */
function shapeLookup(model: Model, notes: string[]): ShapeLookup {
  let types: ReturnType<typeof inferShapes> | undefined;
  try {
    types = inferShapes(model);
  } catch (e) {
    notes.push(`shape inference failed (${(e as Error).message}); sizes come from the weights alone`);
  }
  return (value) => types?.get(value)?.shape?.map((d) => (typeof d === 'number' ? d : -1));
}

/** d from the projections (inputs of q/k/v/up/gate, outputs of o/down), cross-checked with the streams' inferred shapes. */
function hiddenSize(blocks: BlockInfo[], streams: string[], shapes: ShapeLookup, notes: string[]): number {
  const votes = new Map<number, number>();
  for (const b of blocks) {
    for (const p of b.projections) {
      const d = ['q', 'k', 'v', 'qkv', 'up', 'gate'].includes(p.role) ? p.inFeatures : ['o', 'down'].includes(p.role) ? p.outFeatures : undefined;
      if (d !== undefined) votes.set(d, (votes.get(d) ?? 0) + 1);
    }
  }
  const ranked = [...votes].sort((a, b) => b[1] - a[1]);
  if (ranked.length > 1) notes.push(`projections disagree on the hidden size: ${ranked.map(([d, n]) => `${d} (${n})`).join(', ')}`);
  const fromWeights = ranked[0]?.[0];
  const fromShapes = streams.map((s) => shapes(s)?.at(-1)).filter((d): d is number => d !== undefined && d > 0);
  const shapeD = fromShapes.length === streams.length && fromShapes.every((d) => d === fromShapes[0]) ? fromShapes[0] : undefined;
  if (fromWeights !== undefined && shapeD !== undefined && fromWeights !== shapeD) {
    notes.push(`hidden size ${fromWeights} from the projection weights, but the streams' last dim is ${shapeD}`);
  }
  const d = fromWeights ?? shapeD;
  if (d === undefined) notes.push('hidden size unknown: no attention or FFN projections, and no stream shape');
  return d ?? 0;
}

/** Blocks of one stack should compute the same thing: compare op histograms. */
function checkIsomorphic(nodeLists: Node[][], labels: string[], notes: string[]): void {
  const histogram = (nodes: Node[]) => {
    const counts = new Map<string, number>();
    for (const n of nodes) counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
    return [...counts].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([op, c]) => `${op}:${c}`).join(' ');
  };
  const hs = nodeLists.map(histogram);
  const tally = new Map<string, number>();
  for (const h of hs) tally.set(h, (tally.get(h) ?? 0) + 1);
  const reference = [...tally].sort((a, b) => b[1] - a[1])[0]![0];
  const differing = hs.map((h, i) => (h === reference ? -1 : i)).filter((i) => i >= 0);
  if (differing.length) notes.push(`blocks differ in their ops from the others: ${differing.map((i) => labels[i]).join(', ')}`);
}
