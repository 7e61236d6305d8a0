/** Dead-code elimination: drops nodes and initializers that no graph output depends on. */
import { nodeReads, type Graph } from '../graph/graph.ts';

export function eliminateDeadCode(graph: Graph): { nodes: number; initializers: number } {
  const live = new Set(graph.outputNames());
  const producer = new Map<string, number>();
  graph.nodes.forEach((n, i) => n.outputs.forEach((o) => o && producer.set(o, i)));
  const keep = new Uint8Array(graph.nodes.length);
  const work = [...live];
  while (work.length) {
    const v = work.pop()!;
    const p = producer.get(v);
    if (p === undefined || keep[p]) continue;
    keep[p] = 1;
    for (const r of nodeReads(graph.nodes[p]!)) if (!live.has(r)) { live.add(r); work.push(r); }
  }
  const before = { nodes: graph.nodes.length, initializers: graph.initializers.size };
  graph.nodes = graph.nodes.filter((_, i) => keep[i]);
  // Initializers that are also declared graph inputs are part of the interface: keep them.
  const declared = new Set(graph.inputNames());
  for (const name of [...graph.initializers.keys()]) if (!live.has(name) && !declared.has(name)) graph.initializers.delete(name);
  for (const name of [...graph.valueInfo.keys()]) if (!live.has(name)) graph.valueInfo.delete(name);
  return { nodes: before.nodes - graph.nodes.length, initializers: before.initializers - graph.initializers.size };
}
