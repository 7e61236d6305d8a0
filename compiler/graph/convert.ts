/**
 * ModelProto <-> IR. Lossless for what passes leave alone: a model converted to the IR and
 * straight back encodes to the same bytes.
 */
import { copyMessage, create, GraphProtoSchema, ModelProtoSchema, NodeProtoSchema, OperatorSetIdProtoSchema, type GraphProto, type ModelProto, type NodeProto } from '../onnx/proto.ts';
import { Graph, Model, normalizeDomain, type Node } from './graph.ts';

export function graphFromProto(g: GraphProto): Graph {
  const graph = new Graph();
  graph.origin = g;
  graph.name = g.name;
  graph.inputs = [...g.input];
  graph.outputs = [...g.output];
  for (const t of g.initializer) graph.initializers.set(t.name, t);
  for (const v of g.valueInfo) graph.valueInfo.set(v.name, v);
  graph.nodes = g.node.map(nodeFromProto);
  return graph;
}

export function nodeFromProto(n: NodeProto): Node {
  return { name: n.name, opType: n.opType, domain: n.domain, inputs: [...n.input], outputs: [...n.output], attributes: [...n.attribute], origin: n };
}

export function nodeToProto(n: Node): NodeProto {
  const fields = { name: n.name, opType: n.opType, domain: n.domain, input: n.inputs, output: n.outputs, attribute: n.attributes };
  return n.origin ? copyMessage(n.origin, fields) : create(NodeProtoSchema, fields);
}

export function graphToProto(graph: Graph): GraphProto {
  const fields = {
    name: graph.name,
    node: graph.nodes.map(nodeToProto),
    initializer: [...graph.initializers.values()],
    input: graph.inputs,
    output: graph.outputs,
    valueInfo: [...graph.valueInfo.values()],
  };
  return graph.origin ? copyMessage(graph.origin, fields) : create(GraphProtoSchema, fields);
}

export function modelFromProto(m: ModelProto): Model {
  const model = new Model(graphFromProto(m.graph!), m);
  for (const o of m.opsetImport) model.opsets.set(normalizeDomain(o.domain), Number(o.version));
  return model;
}

/** Opset imports keep the source's order and spelling; new domains are appended. */
export function modelToProto(model: Model): ModelProto {
  const origin = model.origin;
  const imports = [];
  const seen = new Set<string>();
  for (const o of origin?.opsetImport ?? []) {
    const key = normalizeDomain(o.domain);
    const version = model.opsets.get(key);
    if (version === undefined || seen.has(key)) continue;
    seen.add(key);
    imports.push(copyMessage(o, { version: BigInt(version) }));
  }
  for (const [domain, version] of model.opsets) {
    if (!seen.has(domain)) imports.push(create(OperatorSetIdProtoSchema, { domain, version: BigInt(version) }));
  }
  const graph = graphToProto(model.graph);
  if (origin) return copyMessage(origin, { graph, opsetImport: imports });
  return create(ModelProtoSchema, { irVersion: 10n, producerName: 'lor2c', graph, opsetImport: imports });
}
