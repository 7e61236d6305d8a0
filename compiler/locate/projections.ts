/**
 * Projection sites: MatMul / Gemm / FusedMatMul nodes that multiply an activation by a
 * stored 2-D weight, in either layout, with the bias Add that follows them when there is one.
 * A LoRA delta computed from `x` belongs at `y`.
 */
import { attrInt, isDefaultDomain, type Node } from '../graph/index.ts';
import type { GraphView, WeightSource } from './graph-view.ts';

export interface ProjectionSite {
  node: Node;
  weight: WeightSource;
  layout: 'in,out' | 'out,in';
  inFeatures: number;
  outFeatures: number;
  x: string;
  /** The node's own output. */
  raw: string;
  bias?: string;
  /** After the bias: where a delta is added. */
  y: string;
}

/** The projection `n` performs, if it is one. */
export function projectionAt(view: GraphView, n: Node): ProjectionSite | undefined {
  const isMicrosoft = n.domain === 'com.microsoft';
  if (n.opType === 'MatMul' && isDefaultDomain(n)) return site(view, n, false);
  if ((n.opType === 'Gemm' && isDefaultDomain(n)) || (n.opType === 'FusedMatMul' && isMicrosoft)) {
    if (attrInt(n, 'transA', 0) !== 0) return undefined;
    return site(view, n, attrInt(n, 'transB', 0) === 1);
  }
  return undefined;
}

function site(view: GraphView, n: Node, transB: boolean): ProjectionSite | undefined {
  const [x, w] = n.inputs;
  if (!x || !w || view.isConst(x)) return undefined;
  const weight = view.weightSource(w);
  if (!weight || weight.dims.length !== 2) return undefined;
  const outIn = weight.transposed !== transB;
  const [a, b] = weight.dims as [number, number];
  const [inFeatures, outFeatures] = outIn ? [b, a] : [a, b];
  const raw = n.outputs[0]!;
  let bias: string | undefined;
  let y = raw;
  if (n.opType === 'Gemm' && n.inputs[2] && view.isConst(n.inputs[2])) {
    bias = view.weightSource(n.inputs[2])?.name ?? n.inputs[2];
  } else {
    const after = biasAdd(view, raw, outFeatures);
    if (after) ({ bias, y } = after);
  }
  return { node: n, weight, layout: outIn ? 'out,in' : 'in,out', inFeatures, outFeatures, x, raw, y, ...(bias !== undefined ? { bias } : {}) };
}

/** The Add of a constant [out] (or [1.., out]) vector that is the only reader of `raw`. */
function biasAdd(view: GraphView, raw: string, outFeatures: number): { bias: string; y: string } | undefined {
  const readers = view.consumersOf(raw);
  if (readers.length !== 1 || view.graphOutputs.has(raw)) return undefined;
  const add = readers[0]!;
  if (add.opType !== 'Add' || add.inputs.length !== 2) return undefined;
  const other = add.inputs[0] === raw ? add.inputs[1]! : add.inputs[0]!;
  const source = view.weightSource(other);
  if (!source) return undefined;
  const dims = source.dims;
  if (dims.length === 0 || dims[dims.length - 1] !== outFeatures || dims.slice(0, -1).some((d) => d !== 1)) return undefined;
  return { bias: source.name, y: add.outputs[0]! };
}
