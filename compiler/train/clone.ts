/** Copies of a model whose node list, inputs, outputs and maps can be changed without touching the original (tensors are shared, not copied). */
import { Graph, Model, type Node } from '../graph/graph.ts';

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
  for (const [k, v] of m.opsets) out.opsets.set(k, v);
  return out;
}
