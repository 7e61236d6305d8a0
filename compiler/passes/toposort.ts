/** Topological order of a graph's nodes, stable: nodes stay in their existing order wherever the data allows. */
import { UserError } from '../../contract/errors.ts';
import { describeNode, nodeReads, type Graph, type Node } from '../graph/graph.ts';

/** Reorders graph.nodes so every node comes after the producers of what it reads. Throws on a cycle. */
export function toposort(graph: Graph): void {
  graph.nodes = topologicalOrder(graph.nodes);
}

export function topologicalOrder(nodes: Node[]): Node[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => o && producer.set(o, i)));
  const deps = nodes.map((n) => {
    const d: number[] = [];
    for (const r of nodeReads(n)) {
      const p = producer.get(r);
      if (p !== undefined) d.push(p);
    }
    return d;
  });
  // Iterative DFS: 0 = unvisited, 1 = on the stack, 2 = placed.
  const state = new Uint8Array(nodes.length);
  const order: Node[] = [];
  for (let root = 0; root < nodes.length; root++) {
    if (state[root] === 2) continue;
    const stack: [number, number][] = [[root, 0]];
    state[root] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [i, k] = top;
      const d = deps[i]!;
      if (k < d.length) {
        top[1]++;
        const j = d[k]!;
        if (state[j] === 1) throw cycleError(nodes, stack.map(([s]) => s), j);
        if (state[j] === 0) {
          state[j] = 1;
          stack.push([j, 0]);
        }
      } else {
        state[i] = 2;
        order.push(nodes[i]!);
        stack.pop();
      }
    }
  }
  return order;
}

function cycleError(nodes: Node[], stack: number[], back: number): UserError {
  const cycle = stack.slice(stack.indexOf(back)).map((i) => describeNode(nodes[i]!));
  return new UserError(`the graph has a cycle: ${[...cycle, describeNode(nodes[back]!)].join(' -> ')}`);
}
