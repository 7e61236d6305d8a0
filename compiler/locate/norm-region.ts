/**
 * Normalisation regions: a LayerNorm / RMSNorm applied to a value, as one op
 * (LayerNormalization, RMSNormalization, SimplifiedLayerNormalization) or as the
 * elementwise chain exporters write out (ReduceMean, Sub, Pow, Sqrt, Div, Mul, Add, Cast...).
 * Post-LN blocks end in one, and the block's output is its single exit value.
 */
import type { Node } from '../graph/index.ts';
import { listOperandNumbers, reduceAttributes } from '../ops/attributes.ts';
import type { GraphView } from './graph-view.ts';

const NORM_OPS = new Set(['LayerNormalization', 'RMSNormalization', 'SimplifiedLayerNormalization']);
/** Ops a written-out norm is made of. */
const CHAIN_OPS = new Set(['ReduceMean', 'Sub', 'Pow', 'Sqrt', 'Div', 'Mul', 'Add', 'Cast', 'Reciprocal', 'Identity', 'ReduceSumSquare', 'ReduceL2', 'Neg', 'Max', 'Clip']);
const REDUCTIONS = new Set(['ReduceMean', 'ReduceSumSquare', 'ReduceL2']);
/** A written-out norm is a handful of ops; more means the region has run past the norm. */
const MAX_CHAIN = 24;

export interface NormRegion {
  /** The normalised value leaving the region. */
  exit: string;
  nodes: Node[];
}

/**
 * The normalisation that consumes `value` and nothing else does, or undefined when `value`
 * is also read elsewhere (a pre-LN stream feeds the next residual Add too) or is not normalised.
 */
export function normConsumingOnly(view: GraphView, value: string): NormRegion | undefined {
  if (view.graphOutputs.has(value)) return undefined;
  const consumers = view.consumersOf(value);
  if (consumers.length === 0) return undefined;
  if (consumers.length === 1 && NORM_OPS.has(consumers[0]!.opType) && consumers[0]!.inputs[0] === value) {
    return { exit: consumers[0]!.outputs[0]!, nodes: [consumers[0]!] };
  }
  const region = growChain(view, value);
  if (!region) return undefined;
  const exits = [...region.values].filter((v) => view.graphOutputs.has(v) || view.consumersOf(v).some((c) => !region.nodes.has(c)));
  if (exits.length !== 1 || exits[0] === value) return undefined;
  const nodes = [...region.nodes].sort((a, b) => view.position.get(a)! - view.position.get(b)!);
  if (!nodes.some((n) => normStatistic(view, n))) return undefined;
  return { exit: exits[0]!, nodes };
}

/** Whether `value` feeds a normalisation (alone or alongside other readers). */
export function feedsNorm(view: GraphView, value: string): boolean {
  return view.consumersOf(value).some((c) => NORM_OPS.has(c.opType) || normStatistic(view, c) || (c.opType === 'Pow' && c.inputs[0] === value));
}

/**
 * Whether a reduction computes a norm's per-position statistic: it keeps its dims and reduces
 * feature axes only, never the batch or sequence axis (axes from 2 on at rank 3 and above, from
 * 1 on at rank 2). A ReduceMean over the sequence after the final norm is mean pooling, the
 * head's first op: taking it into the norm made the last block's output the pooled value.
 */
function normStatistic(view: GraphView, n: Node): boolean {
  if (!REDUCTIONS.has(n.opType)) return false;
  const { keepdims, axes } = reduceAttributes(n, view.opset);
  const reduced = listOperandNumbers(axes, (v) => view.constantNumbers(v));
  if (!keepdims || !reduced?.length) return false;
  const rank = view.rankOf(n.inputs[0]!);
  // Without a known rank, a negative axis counts from the features and axis 0 is the batch.
  if (rank === undefined) return reduced.every((a) => a < 0 || a >= 1);
  const lowest = rank >= 3 ? 2 : 1;
  return reduced.every((a) => {
    const axis = a < 0 ? a + rank : a;
    return axis >= lowest && axis < rank;
  });
}

/** The closure of chain ops whose every non-constant input comes from `value` or the region itself. */
function growChain(view: GraphView, value: string): { values: Set<string>; nodes: Set<Node> } | undefined {
  const values = new Set<string>([value]);
  const nodes = new Set<Node>();
  let changed = true;
  while (changed) {
    changed = false;
    for (const v of [...values]) {
      for (const c of view.consumersOf(v)) {
        if (nodes.has(c) || !CHAIN_OPS.has(c.opType)) continue;
        if (REDUCTIONS.has(c.opType) && !normStatistic(view, c)) continue;
        if (!c.inputs.every((i) => i === '' || view.isConst(i) || values.has(i))) continue;
        nodes.add(c);
        if (nodes.size > MAX_CHAIN) return undefined;
        for (const o of c.outputs) if (o) values.add(o);
        changed = true;
      }
    }
  }
  return nodes.size ? { values, nodes } : undefined;
}
