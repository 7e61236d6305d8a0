/**
 * Strips every name that tells what a tensor or node is, the way a torch.onnx export looks
 * when module scopes are lost: initializers become `onnx::<first consumer op>_<n>`, nodes
 * `<OpType>_<n>`, intermediate values plain numbers. Graph inputs and outputs keep their
 * names (a caller has to feed and fetch them). Block discovery on such a graph must work
 * from structure alone.
 */
import type { Graph } from '../../compiler/graph/index.ts';
import { copyMessage } from '../../compiler/onnx/index.ts';

export function anonymizeGraph(graph: Graph): void {
  const keep = new Set([...graph.inputNames(), ...graph.outputNames()]);
  const rename = new Map<string, string>();
  let counter = 0;
  const consumers = graph.consumers();
  for (const name of graph.initializers.keys()) {
    if (keep.has(name)) continue;
    const op = consumers.get(name)?.[0]?.opType ?? 'Constant';
    rename.set(name, `onnx::${op}_${counter++}`);
  }
  for (const node of graph.nodes) {
    node.name = `${node.opType}_${counter++}`;
    for (const o of node.outputs) if (o && !keep.has(o) && !rename.has(o)) rename.set(o, String(counter++));
  }
  const to = (n: string) => rename.get(n) ?? n;
  for (const node of graph.nodes) {
    node.inputs = node.inputs.map(to);
    node.outputs = node.outputs.map(to);
  }
  graph.initializers = new Map([...graph.initializers].map(([name, t]) => [to(name), copyMessage(t, { name: to(name) })]));
  graph.valueInfo = new Map([...graph.valueInfo].map(([name, v]) => [to(name), copyMessage(v, { name: to(name) })]));
}
