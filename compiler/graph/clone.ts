/**
 * Copies a model's structure so a pass can rewrite it without touching the original. Weights
 * (TensorProto) are shared, not copied: the train, eval and infer graphs all hold the same
 * frozen tensors, and the external-data writer stores each of them once.
 */
import { Graph, Model, type Node } from './graph.ts';

export function cloneGraph(g: Graph): Graph {
  const out = new Graph();
  out.name = g.name;
  out.origin = g.origin;
  out.nodes = g.nodes.map((n): Node => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attributes: [...n.attributes] }));
  out.inputs = [...g.inputs];
  out.outputs = [...g.outputs];
  out.initializers = new Map(g.initializers);
  out.valueInfo = new Map(g.valueInfo);
  return out;
}

export function cloneModel(m: Model): Model {
  const out = new Model(cloneGraph(m.graph), m.origin);
  out.opsets = new Map(m.opsets);
  return out;
}
