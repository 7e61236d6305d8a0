/**
 * Tracing values back to the projections that made them, through the data-moving and
 * elementwise ops attention and FFN code puts in between (head reshapes, transposes,
 * scaling, rotary embeddings, splits of a fused projection, grouped-query repeats), and
 * forward from a value to the op that consumes it.
 */
import type { Node } from '../graph/index.ts';
import type { GraphView } from './graph-view.ts';
import type { ProjectionSite } from './projections.ts';

/** Which inputs carry the data (not shapes, axes or indices) through each op. */
const DATA_INPUTS: Record<string, 'first' | 'all' | number[]> = {
  Reshape: 'first', Transpose: 'first', Squeeze: 'first', Unsqueeze: 'first', Expand: 'first', Tile: 'first', Flatten: 'first',
  Slice: 'first', Gather: 'first', Split: 'first', Cast: 'first', Identity: 'first', Dropout: 'first', Neg: 'first',
  Add: 'all', Sub: 'all', Mul: 'all', Div: 'all', Concat: 'all', Where: [1, 2],
};

/** Ops an FFN puts between a projection and the gate multiply. */
const ACTIVATIONS = new Set(['Sigmoid', 'Tanh', 'Relu', 'Gelu', 'FastGelu', 'QuickGelu', 'BiasGelu', 'Erf', 'Silu', 'HardSigmoid', 'HardSwish', 'Softplus', 'Mish', 'Elu', 'Selu', 'LeakyRelu', 'Pow', 'Clip', 'Sqrt']);

/** The ops that cut one part out of a fused projection's output. */
const SPLITS = new Set(['Split', 'Slice', 'Gather']);

export interface TraceHit {
  site: ProjectionSite;
  /** Going from the site towards the start: each node passed and the output it was passed through. */
  path: { node: Node; out: string }[];
}

export interface Trace {
  hits: TraceHit[];
  /** An activation op lay on some path. */
  activation: boolean;
}

/**
 * Walks back from `start` within `scope` through data inputs until projection outputs
 * (`sites`, keyed by raw output and by y). With `activations`, passes activation ops too.
 */
export function traceToProjections(view: GraphView, start: string, scope: Set<Node>, sites: Map<string, ProjectionSite>, activations = false): Trace {
  const hits = new Map<ProjectionSite, TraceHit>();
  let activation = false;
  const seen = new Set<string>([start]);
  const queue: { value: string; path: { node: Node; out: string }[] }[] = [{ value: start, path: [] }];
  while (queue.length) {
    const { value, path } = queue.shift()!;
    const s = sites.get(value);
    if (s) {
      if (!hits.has(s)) hits.set(s, { site: s, path: [...path].reverse() });
      continue;
    }
    const p = view.producer.get(value);
    if (!p || !scope.has(p)) continue;
    let inputs: string[];
    if (activations && ACTIVATIONS.has(p.opType)) {
      activation = true;
      inputs = [p.inputs[0]!];
    } else {
      const which = DATA_INPUTS[p.opType];
      if (!which) continue;
      inputs = which === 'first' ? [p.inputs[0]!] : which === 'all' ? p.inputs : which.map((k) => p.inputs[k] ?? '');
    }
    for (const i of inputs) {
      if (!i || view.isConst(i) || seen.has(i)) continue;
      seen.add(i);
      queue.push({ value: i, path: [...path, { node: p, out: value }] });
    }
  }
  return { hits: [...hits.values()], activation };
}

/** The first node (breadth-first, within `scope`) reached backwards from `start` through `through` ops that satisfies `accept`. */
export function findBackward(view: GraphView, start: string, scope: Set<Node>, through: Set<string>, accept: (n: Node) => boolean): Node | undefined {
  const seen = new Set<string>([start]);
  const queue = [start];
  while (queue.length) {
    const p = view.producer.get(queue.shift()!);
    if (!p || !scope.has(p)) continue;
    if (accept(p)) return p;
    if (!through.has(p.opType)) continue;
    for (const i of p.inputs) {
      if (i && !view.isConst(i) && !seen.has(i)) {
        seen.add(i);
        queue.push(i);
      }
    }
  }
  return undefined;
}

/** The first consumer (breadth-first, within `scope`) reached forwards from `start` through `through` ops for which `accept(node, value it reads)` holds. */
export function findForward(view: GraphView, start: string, scope: Set<Node>, through: Set<string>, accept: (n: Node, via: string) => boolean): Node | undefined {
  const seen = new Set<string>([start]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const c of view.consumersOf(v)) {
      if (!scope.has(c)) continue;
      if (accept(c, v)) return c;
      if (!through.has(c.opType)) continue;
      for (const o of c.outputs) {
        if (o && !seen.has(o)) {
          seen.add(o);
          queue.push(o);
        }
      }
    }
  }
  return undefined;
}

/** Where a part of a fused projection leaves its split: the first Split/Slice/Gather on the path from the site. */
export function splitPoint(hit: TraceHit): { node: Node; out: string } | undefined {
  return hit.path.find((step) => SPLITS.has(step.node.opType));
}
