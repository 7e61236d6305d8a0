/**
 * Residual Adds: Add(skip, branch) where `skip` reaches `branch` through a path holding a
 * weighted op (MatMul / Gemm / Conv by a stored weight). That is what a residual connection
 * is, and it rules out the Adds that look alike: the tanh-GELU's `x + c*x^3` and rotary
 * `q*cos + rot(q)*sin` (no weight on the way), bias adds (a constant operand), mask and
 * position-embedding adds (neither operand feeds the other), and the mask / rotary-table adds
 * of later layers (the mask reaches layer 2's scores only across layer 1's residual Adds).
 */
import { isDefaultDomain, type Node } from '../graph/graph.ts';
import type { GraphView } from './graph-view.ts';
import { findBackward } from './trace.ts';

export interface ResidualAdd {
  node: Node;
  /** The operand carried around the branch. */
  skip: string;
  /** The operand computed from `skip` by the block's sublayer. */
  branch: string;
  output: string;
  /** Nodes on paths from skip to branch, in topological order. */
  branchNodes: Node[];
  /** The branch holds a self-attention (a Softmax whose scores are computed from the stream
   * on both sides); a cross-attention, whose keys come from elsewhere, does not start a block. */
  attention: boolean;
}

/** Every residual Add of the graph, in topological order. */
export function findResidualAdds(view: GraphView): ResidualAdd[] {
  const found: ResidualAdd[] = [];
  const residualNodes = new Set<Node>();
  for (const n of view.nodes) {
    if (n.opType !== 'Add' || !isDefaultDomain(n) || n.inputs.length !== 2) continue;
    const [a, b] = n.inputs as [string, string];
    if (!a || !b || a === b || view.isConst(a) || view.isConst(b)) continue;
    // Only the operand produced earlier can be the ancestor of the other.
    const [skip, branch] = view.positionOf(a) <= view.positionOf(b) ? [a, b] : [b, a];
    const branchNodes = nodesBetween(view, skip, branch);
    // A value that reaches the other operand across a whole residual connection is a
    // long-range input reused by every layer (a mask, rotary tables), not this Add's skip.
    if (branchNodes?.some((m) => view.isWeighted(m)) && !branchNodes.some((m) => residualNodes.has(m))) {
      residualNodes.add(n);
      found.push({ node: n, skip, branch, output: n.outputs[0]!, branchNodes, attention: holdsSelfAttention(view, skip, branchNodes) });
      continue;
    }
    const parallel = parallelBranch(view, found, n);
    if (parallel) {
      found.push(parallel);
      residualNodes.add(n);
    }
  }
  return found;
}

/**
 * The second Add of a parallel block (GPT-J, Falcon: h + attn(ln h) + mlp(ln h), added as
 * (h + attn) + mlp): one operand is a residual Add's output, the other a weighted branch
 * from that residual's skip. It continues the stream like any residual.
 */
function parallelBranch(view: GraphView, found: ResidualAdd[], n: Node): ResidualAdd | undefined {
  for (const [self, other] of [[0, 1], [1, 0]] as const) {
    const prior = found.find((r) => r.output === n.inputs[self]);
    if (!prior) continue;
    const branch = n.inputs[other]!;
    const branchNodes = nodesBetween(view, prior.skip, branch);
    if (!branchNodes?.some((m) => view.isWeighted(m))) continue;
    return { node: n, skip: prior.output, branch, output: n.outputs[0]!, branchNodes, attention: holdsSelfAttention(view, prior.skip, branchNodes) };
  }
  return undefined;
}

/** Ops between an attention's scores MatMul and its Softmax. */
export const SCORE_PATH = new Set(['Add', 'Sub', 'Mul', 'Div', 'Where', 'Cast', 'Reshape', 'Identity', 'Clip', 'Tanh']);

function holdsSelfAttention(view: GraphView, skip: string, branchNodes: Node[]): boolean {
  const scope = new Set(branchNodes);
  return branchNodes.some((m) => {
    if (m.opType !== 'Softmax') return false;
    const scores = findBackward(view, m.inputs[0]!, scope, SCORE_PATH, (n) => n.opType === 'MatMul' && view.dynamicInputs(n).length === 2);
    // Without a recognisable scores MatMul, still count it as attention.
    return !scores || scores.inputs.every((i) => dataFrom(view, i, skip, scope));
  });
}

/** Ops whose inputs after the first are shapes, axes or indices, not data. */
const DATA_FIRST = new Set(['Reshape', 'Expand', 'Tile', 'Slice', 'Squeeze', 'Unsqueeze', 'Split', 'Pad', 'Gather', 'Transpose', 'Flatten', 'Cast', 'Dropout', 'Identity']);
/** Ops whose outputs describe a tensor's size, not its values. */
const METADATA = new Set(['Shape', 'Size', 'ConstantOfShape', 'EyeLike']);

/**
 * Whether `value`'s data (not just its shape) is computed from `origin` within `scope`: a
 * cross-attention's keys come from the encoder even where their head reshape reads the
 * decoder's batch size.
 */
export function dataFrom(view: GraphView, value: string, origin: string, scope: Set<Node>): boolean {
  const seen = new Set<string>([value]);
  const stack = [value];
  while (stack.length) {
    const v = stack.pop()!;
    if (v === origin) return true;
    const p = view.producer.get(v);
    if (!p || !scope.has(p) || METADATA.has(p.opType)) continue;
    const reads = view.isWeighted(p) ? p.inputs.filter((i) => !view.isConst(i)) : DATA_FIRST.has(p.opType) ? [p.inputs[0]!] : p.inputs;
    for (const i of reads) {
      if (!i || view.isConst(i) || seen.has(i)) continue;
      seen.add(i);
      stack.push(i);
    }
  }
  return false;
}

/**
 * The nodes on paths from value `from` to value `to` (topological order), or undefined when
 * `from` is not an ancestor of `to`. Only nodes after `from`'s producer can lie on such a
 * path, so the backward search stops there: cost is the size of the region between them.
 */
export function nodesBetween(view: GraphView, from: string, to: string): Node[] | undefined {
  if (from === to) return [];
  const floor = view.positionOf(from);
  // Backward: ancestors of `to` produced after `from`.
  const ancestors = new Set<Node>();
  const stack = [to];
  let reachesFrom = false;
  const seenValues = new Set<string>([to]);
  while (stack.length) {
    const v = stack.pop()!;
    if (v === from) {
      reachesFrom = true;
      continue;
    }
    const p = view.producer.get(v);
    if (!p || view.position.get(p)! <= floor || ancestors.has(p)) continue;
    ancestors.add(p);
    for (const i of p.inputs) {
      if (i && !seenValues.has(i) && !view.isConst(i)) {
        seenValues.add(i);
        stack.push(i);
      }
    }
  }
  if (!reachesFrom) return undefined;
  // Forward from `from`, within the ancestors: exactly the nodes on from -> to paths.
  const reached = new Set<string>([from]);
  const onPath: Node[] = [];
  const sorted = [...ancestors].sort((x, y) => view.position.get(x)! - view.position.get(y)!);
  for (const m of sorted) {
    if (m.inputs.some((i) => reached.has(i))) {
      onPath.push(m);
      for (const o of m.outputs) if (o) reached.add(o);
    }
  }
  return onPath;
}
