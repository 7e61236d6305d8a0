/** Visits every TensorProto a model holds: initializers, Constant and attribute tensors, subgraphs, functions. */
import type { AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto } from './proto.ts';

export type TensorVisitor = (tensor: TensorProto, where: string) => void;

function visitAttribute(a: AttributeProto, where: string, visit: TensorVisitor): void {
  const at = `${where} attribute '${a.name}'`;
  if (a.t) visit(a.t, at);
  for (const t of a.tensors) visit(t, at);
  if (a.sparseTensor) visitSparse(a.sparseTensor, at, visit);
  for (const s of a.sparseTensors) visitSparse(s, at, visit);
  if (a.g) visitGraph(a.g, visit, `${at} subgraph`);
  for (const g of a.graphs) visitGraph(g, visit, `${at} subgraph`);
}

function visitSparse(s: { values?: TensorProto; indices?: TensorProto }, where: string, visit: TensorVisitor): void {
  if (s.values) visit(s.values, `${where} (sparse values)`);
  if (s.indices) visit(s.indices, `${where} (sparse indices)`);
}

function visitNodes(nodes: NodeProto[], where: string, visit: TensorVisitor): void {
  for (const n of nodes) for (const a of n.attribute) visitAttribute(a, `${where} node '${n.name || n.opType}'`, visit);
}

export function visitGraph(g: GraphProto, visit: TensorVisitor, where = 'graph'): void {
  for (const t of g.initializer) visit(t, `${where} initializer`);
  for (const s of g.sparseInitializer) visitSparse(s, `${where} sparse initializer`, visit);
  visitNodes(g.node, where, visit);
}

export function visitModelTensors(model: ModelProto, visit: TensorVisitor): void {
  if (model.graph) visitGraph(model.graph, visit);
  for (const ti of model.trainingInfo) {
    if (ti.initialization) visitGraph(ti.initialization, visit, 'training initialization graph');
    if (ti.algorithm) visitGraph(ti.algorithm, visit, 'training algorithm graph');
  }
  for (const f of model.functions) visitNodes(f.node, `function '${f.name}'`, visit);
}

export type GraphVisitor = (graph: GraphProto, where: string) => void;

function visitSubgraphs(nodes: NodeProto[], where: string, visit: GraphVisitor): void {
  for (const n of nodes) {
    for (const a of n.attribute) {
      const at = `${where} node '${n.name || n.opType}' attribute '${a.name}' subgraph`;
      for (const g of a.g ? [a.g, ...a.graphs] : a.graphs) visitGraphs(g, at, visit);
    }
  }
}

function visitGraphs(g: GraphProto, where: string, visit: GraphVisitor): void {
  visit(g, where);
  visitSubgraphs(g.node, where, visit);
}

/** Visits every GraphProto a model holds: the main graph, control-flow bodies, training graphs, functions' bodies. */
export function visitModelGraphs(model: ModelProto, visit: GraphVisitor): void {
  if (model.graph) visitGraphs(model.graph, 'graph', visit);
  for (const ti of model.trainingInfo) {
    if (ti.initialization) visitGraphs(ti.initialization, 'training initialization graph', visit);
    if (ti.algorithm) visitGraphs(ti.algorithm, 'training algorithm graph', visit);
  }
  for (const f of model.functions) visitSubgraphs(f.node, `function '${f.name}'`, visit);
}
