/**
 * locateBlocks: the blocks of a transformer export, found from structure first (residual
 * Adds, norms, the attention dataflow) and names second (labels only). See the files beside
 * this one for each step.
 */
import { isUserError, UserError } from '../../contract/errors.ts';
import type { Model, Node } from '../graph/index.ts';
import { inferShapes } from '../shapes/index.ts';
import { stacksFromResiduals } from './chain.ts';
import { GraphView } from './graph-view.ts';
import { blockLabels } from './labels.ts';
import { SPEC_HINT, streamsFromOverride } from './overrides.ts';
import { projectionAt, type ProjectionSite } from './projections.ts';
import { findResidualAdds, nodesBetween, type ResidualAdd } from './residuals.ts';
import { assignRoles, type ShapeLookup } from './roles.ts';
import type { SameShape } from './stream-passthrough.ts';
import type { BlockInfo, BlockMap, BlockOverride, BlockStyle, Projection, StackInfo } from './types.ts';

export function locateBlocks(model: Model, override: BlockOverride = { kind: 'auto' }): BlockMap {
  const notes: string[] = [];
  const doubts: string[] = [];
  const doubt = (text: string) => (notes.push(text), doubts.push(text));
  const { shapes, sameShape } = shapeLookup(model, notes);
  const view = new GraphView(model, (v) => shapes(v)?.length);
  const residuals = findResidualAdds(view);
  let found: { style: BlockStyle; streams: string[]; residuals?: ResidualAdd[][] }[];
  if (override.kind === 'auto') {
    const stacks = stacksFromResiduals(view, residuals, sameShape);
    notes.push(...stacks.notes);
    doubts.push(...stacks.doubts);
    found = stacks.stacks;
    for (const s of stacks.stacks) (notes.push(...s.notes), doubts.push(...s.doubts));
  } else {
    found = streamsFromOverride(view, override).map((streams) => ({ streams, style: styleAt(view, streams) }));
  }

  const names = stackNames(view, found.map((f) => f.streams));
  // Every projection of the model, by node and by output (raw and after its bias).
  const sitesByNode = new Map<Node, ProjectionSite>();
  const modelSites = new Map<string, ProjectionSite>();
  for (const n of view.nodes) {
    const s = projectionAt(view, n);
    if (!s) continue;
    sitesByNode.set(n, s);
    for (const v of [s.raw, s.y]) modelSites.set(v, s);
  }
  const opTypes = new Set(view.nodes.map((n) => n.opType));
  const blocks: BlockInfo[] = [];
  const stacks: StackInfo[] = [];
  const nodeLists: Node[][] = [];
  const labelsAll: string[] = [];
  found.forEach((stack, k) => {
    const first = blocks.length;
    const lists: Node[][] = [];
    for (let i = 0; i + 1 < stack.streams.length; i++) {
      const nodes = nodesBetween(view, stack.streams[i]!, stack.streams[i + 1]!);
      if (!nodes?.length) throw new UserError(`block ${first + i}: its output '${stack.streams[i + 1]}' is not computed from its input '${stack.streams[i]}'`, SPEC_HINT);
      lists.push(nodes);
    }
    // Node names, and the names of the parameters the block reads (older exporters name only those).
    const blockNames = lists.map((nodes) => [...nodes.map((n) => n.name), ...nodes.flatMap((n) => n.inputs.filter((i) => model.graph.initializers.has(i)))].filter(Boolean));
    const prefix = found.length > 1 ? `${names[k]} ` : '';
    const labels = blockLabels(blockNames, opTypes)?.map((l) => `${prefix}${l}`) ?? lists.map((_, i) => `${prefix}block ${i}`);
    lists.forEach((nodes, i) => {
      const label = labels[i]!;
      const inBlock = new Set(nodes);
      const own = stack.residuals?.[i] ?? residuals.filter((r) => inBlock.has(r.node));
      const inside = nodes.map((n) => sitesByNode.get(n)).filter((s): s is ProjectionSite => s !== undefined);
      const roles = assignRoles(view, label, nodes, inside, own, shapes, modelSites);
      notes.push(...roles.notes);
      doubts.push(...roles.doubts);
      const sites = [...inside, ...roles.outside];
      const projections = sites.map((s) => toProjection(view, s, roles.roles.get(s) ?? 'other', roles.parts.get(s)));
      blocks.push({ index: first + i, stack: names[k]!, indexInStack: i, label, input: stack.streams[i]!, output: stack.streams[i + 1]!, nodes: nodes.map((n) => view.nameOf(n)), projections });
      nodeLists.push(nodes);
      labelsAll.push(label);
    });
    stacks.push({ name: names[k]!, first, count: lists.length, style: stack.style, streams: stack.streams });
  });

  const hidden = hiddenSize(blocks, stacks.flatMap((s) => s.streams), shapes, doubt);
  checkStreamRank(blocks, shapes, doubt);
  markTwinStacks(stacks, blocks, notes);
  for (const s of stacks) checkIsomorphic(nodeLists.slice(s.first, s.first + s.count), labelsAll.slice(s.first, s.first + s.count), notes);
  const users = new Map<string, string[]>();
  for (const b of blocks) for (const p of b.projections) users.set(p.weight, [...(users.get(p.weight) ?? []), `${b.label} ${p.role}`]);
  for (const [weight, who] of users) {
    // Exporters store identical tensors once (torch does for nn.TransformerEncoder's copied layers).
    if (who.length > 1) notes.push(`weight '${weight}' is shared by ${who.join(', ')}: a LoRA delta goes on each projection's output, but merging into the weight would change them all`);
  }
  if (blocks.some((b) => b.projections.some((p) => p.weightInConstantNode))) {
    notes.push('projection weights are held in Constant nodes: lift them to initializers (compiler/graph liftConstants) before training through them');
  }
  const style = stacks.every((s) => s.style === stacks[0]!.style) ? stacks[0]!.style : 'other';
  const cacheInputs = pastInputs(view, nodeLists);
  if (cacheInputs.length) notes.push(`model inputs ${cacheInputs.map((i) => `'${i}'`).join(', ')} are joined to the keys and values inside the blocks: a past key/value cache (a 'with-past' decoder export)`);
  const inBlocks = new Set(blocks.flatMap((b) => b.projections.map((p) => p.node)));
  const elsewhere = [...sitesByNode.values()].filter((s) => !inBlocks.has(view.nameOf(s.node))).map((s) => toProjection(view, s, 'other', undefined));
  return { style, hidden, streams: stacks.length === 1 ? stacks[0]!.streams : [], stacks, blocks, elsewhere, pastInputs: cacheInputs, notes, doubts };
}

function toProjection(view: GraphView, s: ProjectionSite, role: Projection['role'], parts: Projection['parts']): Projection {
  return {
    role,
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
    ...(parts ? { parts } : {}),
  };
}

/** Ops a cache passes on its way to the Concat that appends the new keys / values. */
const CACHE_PATH = new Set(['Identity', 'Cast', 'Reshape', 'Transpose', 'Unsqueeze', 'Squeeze']);

/**
 * Graph inputs concatenated, inside a block, with values the block computes: the past keys
 * and values of a decoder exported with its cache (Optimum's `with-past`).
 */
function pastInputs(view: GraphView, nodeLists: Node[][]): string[] {
  const found = new Set<string>();
  for (const nodes of nodeLists) {
    const inBlock = new Set(nodes);
    for (const n of nodes) {
      if (n.opType !== 'Concat') continue;
      const origins = n.inputs.map((i) => {
        let v = i;
        for (let hops = 0; hops < 8; hops++) {
          const p = view.producer.get(v);
          if (!p || !CACHE_PATH.has(p.opType)) break;
          v = p.inputs[0]!;
        }
        return v;
      });
      const computed = n.inputs.some((i) => inBlock.has(view.producer.get(i)!));
      for (const o of origins) if (computed && view.graphInputs.has(o)) found.add(o);
    }
  }
  return [...found];
}

/**
 * Names of the stacks, from how they use each other: a stack whose blocks read another's
 * output (through cross-attention) is that one's 'decoder', the other its 'encoder'; a single
 * stack, or stacks unrelated so, are 'stack 0', 'stack 1', ...
 */
function stackNames(view: GraphView, streams: string[][]): string[] {
  if (streams.length === 1) return ['main'];
  const names = streams.map((_, k) => `stack${k}`);
  if (streams.length === 2) {
    const [enc, dec] = streams as [string[], string[]];
    // The encoder's last stream (or what a final norm makes of it) reaches the decoder's blocks
    // without passing the decoder's h_0.
    const decoderNodes = new Set<Node>();
    for (let i = 0; i + 1 < dec.length; i++) for (const n of nodesBetween(view, dec[i]!, dec[i + 1]!) ?? []) decoderNodes.add(n);
    const reached = reachesFrom(view, enc[enc.length - 1]!, decoderNodes);
    if (reached) return ['encoder', 'decoder'];
  }
  return names;
}

/** Whether some node of `targets` reads a value computed from `from`. */
function reachesFrom(view: GraphView, from: string, targets: Set<Node>): boolean {
  const seen = new Set<string>([from]);
  const queue = [from];
  while (queue.length) {
    for (const c of view.consumersOf(queue.shift()!)) {
      if (targets.has(c)) return true;
      for (const o of c.outputs) if (o && !seen.has(o)) (seen.add(o), queue.push(o));
    }
  }
  return false;
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
function shapeLookup(model: Model, notes: string[]): { shapes: ShapeLookup; sameShape: SameShape } {
  let types: ReturnType<typeof inferShapes> | undefined;
  try {
    types = inferShapes(model);
  } catch (e) {
    if (!isUserError(e)) throw e;
    notes.push(`shape inference failed (${(e as Error).message}); sizes come from the weights alone`);
  }
  const shapes: ShapeLookup = (value) => types?.get(value)?.shape?.map((d) => (typeof d === 'number' ? d : -1));
  // Equal dim for dim; a symbolic dim only equals itself (inference names derived dims consistently).
  const sameShape: SameShape = (a, b) => {
    const sa = types?.get(a)?.shape;
    const sb = types?.get(b)?.shape;
    return !!sa && !!sb && sa.length === sb.length && sa.every((d, i) => d === sb[i] && !(typeof d === 'string' && /^(\?|unk__)/.test(d)));
  };
  return { shapes, sameShape };
}

/** d from the projections (inputs of q/k/v/up/gate, outputs of o/down), cross-checked with the streams' inferred shapes. */
function hiddenSize(blocks: BlockInfo[], streams: string[], shapes: ShapeLookup, doubt: (text: string) => void): number {
  const votes = new Map<number, number>();
  for (const b of blocks) {
    for (const p of b.projections) {
      const d = ['q', 'k', 'v', 'qkv', 'up', 'gate'].includes(p.role) ? p.inFeatures : ['o', 'down'].includes(p.role) ? p.outFeatures : undefined;
      if (d !== undefined) votes.set(d, (votes.get(d) ?? 0) + 1);
    }
  }
  const ranked = [...votes].sort((a, b) => b[1] - a[1]);
  if (ranked.length > 1) doubt(`projections disagree on the hidden size: ${ranked.map(([d, n]) => `${d} (${n})`).join(', ')}`);
  const fromWeights = ranked[0]?.[0];
  const fromShapes = streams.map((s) => shapes(s)?.at(-1)).filter((d): d is number => d !== undefined && d > 0);
  const shapeD = fromShapes.length === streams.length && fromShapes.every((d) => d === fromShapes[0]) ? fromShapes[0] : undefined;
  if (fromWeights !== undefined && shapeD !== undefined && fromWeights !== shapeD) {
    doubt(`hidden size ${fromWeights} from the projection weights, but the streams' last dim is ${shapeD}`);
  }
  const d = fromWeights ?? shapeD;
  if (d === undefined) doubt('hidden size unknown: no attention or FFN projections, and no stream shape');
  return d ?? 0;
}

/**
 * A block maps the stream to a stream of the same rank. An output of another rank means the
 * block's end was taken past the stream (pooling, a flattening head): a LoR2C path from its
 * input would broadcast or fail, so say so rather than compile that structure quietly.
 */
function checkStreamRank(blocks: BlockInfo[], shapes: ShapeLookup, doubt: (text: string) => void): void {
  for (const b of blocks) {
    const inRank = shapes(b.input)?.length;
    const outRank = shapes(b.output)?.length;
    if (inRank !== undefined && outRank !== undefined && inRank !== outRank) {
      doubt(`${b.label}: its output '${b.output}' has rank ${outRank}, its input '${b.input}' rank ${inRank}: the block's end is probably past the stream (pooling or a head)`);
    }
  }
}

/**
 * Stacks reading the same weights block for block are one encoder run twice (a siamese model):
 * each later one records the first as its twin, so adapter choices can say they untie them.
 */
function markTwinStacks(stacks: StackInfo[], blocks: BlockInfo[], notes: string[]): void {
  const weightsOf = (b: BlockInfo) => b.projections.map((p) => p.weight).sort().join('\n');
  const signature = (s: StackInfo) => blocks.slice(s.first, s.first + s.count).map(weightsOf);
  const signatures = stacks.map(signature);
  stacks.forEach((s, k) => {
    const mine = signatures[k]!;
    if (mine.some((w) => w === '')) return;
    const twin = stacks.findIndex((_, j) => j < k && !stacks[j]!.twinOf && signatures[j]!.length === mine.length && signatures[j]!.every((w, i) => w === mine[i]));
    if (twin < 0) return;
    s.twinOf = stacks[twin]!.name;
    notes.push(`the ${s.name} stack reads the ${s.twinOf} stack's weights block for block: one encoder run on two inputs (a twin tower)`);
  });
}

/** Blocks of one stack should compute the same thing: compare op histograms. */
function checkIsomorphic(nodeLists: Node[][], labels: string[], notes: string[]): void {
  const histogram = (nodes: Node[]) => {
    const counts = new Map<string, number>();
    // Pass-through ops (the graph output's Identity after the last block) do not make a block differ.
    for (const n of nodes) if (n.opType !== 'Identity' && n.opType !== 'Dropout') counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
    return [...counts].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([op, c]) => `${op}:${c}`).join(' ');
  };
  const hs = nodeLists.map(histogram);
  const tally = new Map<string, number>();
  for (const h of hs) tally.set(h, (tally.get(h) ?? 0) + 1);
  const reference = [...tally].sort((a, b) => b[1] - a[1])[0]![0];
  const differing = hs.map((h, i) => (h === reference ? -1 : i)).filter((i) => i >= 0);
  if (differing.length) notes.push(`blocks differ in their ops from the others: ${differing.map((i) => labels[i]).join(', ')}`);
}
