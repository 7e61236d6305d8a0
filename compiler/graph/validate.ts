/** Structural checks of a graph: every value defined once, every read defined, no cycles, outputs produced. */
import { nodeReads, type Graph } from './graph.ts';
import { describeNode } from './graph.ts';
import { topologicalOrder } from '../passes/toposort.ts';
import { isUserError } from '../../contract/errors.ts';

export interface GraphProblem {
  message: string;
  node?: string;
  value?: string;
}

/** Returns every problem found (empty when the graph is well formed). */
export function validateGraph(graph: Graph): GraphProblem[] {
  const problems: GraphProblem[] = [];
  const defined = new Map<string, string>();
  const define = (name: string, by: string) => {
    const prev = defined.get(name);
    if (prev !== undefined) problems.push({ message: `value '${name}' is defined twice: by ${prev} and by ${by}`, value: name });
    else defined.set(name, by);
  };
  for (const v of graph.inputs) define(v.name, 'a graph input');
  for (const name of graph.initializers.keys()) if (!graph.inputNames().includes(name)) define(name, 'an initializer');
  for (const n of graph.nodes) for (const o of n.outputs) if (o) define(o, describeNode(n));
  for (const n of graph.nodes) {
    for (const r of nodeReads(n)) {
      if (!defined.has(r)) problems.push({ message: `${describeNode(n)} reads '${r}', which nothing defines`, node: n.name, value: r });
    }
  }
  for (const o of graph.outputNames()) if (!defined.has(o)) problems.push({ message: `graph output '${o}' is never produced`, value: o });
  try {
    topologicalOrder(graph.nodes);
  } catch (e) {
    if (!isUserError(e)) throw e;
    problems.push({ message: e.message }); // a cycle
  }
  return problems;
}

/** Throws an Error listing the problems: for graphs lor2c built itself, where a problem is a bug. */
export function assertValidGraph(graph: Graph, what: string): void {
  const problems = validateGraph(graph);
  if (problems.length) throw new Error(`internal error: ${what} is malformed:\n  ${problems.map((p) => p.message).join('\n  ')}`);
}
