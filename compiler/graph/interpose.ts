/**
 * Interposing on a value: every reader of `value` reads `build(value)` instead. This is how an
 * adapter adds its delta to a tensor (the output of a block, of a projection) without touching
 * the nodes around it. A graph output keeps its name: the interposed result takes it over.
 */
import { UserError } from '../../contract/errors.ts';
import type { GraphBuilder } from './builder.ts';
import { nodeReads, type Graph, type Node } from './graph.ts';

/** Returns the name now carrying the interposed value (`value` itself when it is a graph output). */
export function interpose(graph: Graph, b: GraphBuilder, value: string, build: (input: string) => string): string {
  const existing = new Set<Node>(graph.nodes);
  for (const n of graph.nodes) {
    if (!n.inputs.includes(value) && nodeReads(n).includes(value)) {
      throw new UserError(`cannot adapt '${value}': node '${n.name}' (${n.opType}) reads it inside a subgraph body`, 'choose other block boundaries in the spec');
    }
  }
  const out = build(value);
  for (const n of existing) n.inputs = n.inputs.map((i) => (i === value ? out : i));
  if (!graph.outputNames().includes(value)) return out;
  // Swap names so the graph's interface is unchanged: the original value becomes `<value>_base`.
  const producer = graph.nodes.find((n) => existing.has(n) && n.outputs.includes(value));
  if (!producer) throw new UserError(`cannot adapt '${value}': it is a graph input or weight and a graph output at once`);
  const base = b.fresh(`${value}_base`);
  producer.outputs = producer.outputs.map((o) => (o === value ? base : o));
  for (const n of graph.nodes) if (!existing.has(n)) n.inputs = n.inputs.map((i) => (i === value ? base : i));
  for (const n of graph.nodes) {
    n.outputs = n.outputs.map((o) => (o === out ? value : o));
    n.inputs = n.inputs.map((i) => (i === out ? value : i));
  }
  return value;
}
