/**
 * Common-subexpression elimination: nodes with the same op, attributes and inputs compute the
 * same values, so later copies are dropped and their readers use the first copy's outputs.
 * Nondeterministic ops (their row in compiler/ops/traits.ts) and nodes with subgraph bodies
 * are never merged.
 */
import { AttributeProtoSchema, toBinary } from '../onnx/proto.ts';
import { hasSubgraphs, nodeReads, type Graph, type Node } from '../graph/graph.ts';
import { isNondeterministic } from '../ops/traits.ts';
import { topologicalOrder } from './toposort.ts';

function key(n: Node): string | undefined {
  if (isNondeterministic(n) || hasSubgraphs(n)) return undefined;
  const attrs = [...n.attributes]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((a) => bytesKey(toBinary(AttributeProtoSchema, a)));
  return `${n.domain}|${n.opType}|${n.inputs.join(',')}|${n.outputs.length}|${JSON.stringify(attrs)}`;
}

/** Bytes as a string, one character a byte (no Buffer: the compiler also runs in a page). */
function bytesKey(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

/** Returns how many nodes were removed. */
export function eliminateCommonSubexpressions(graph: Graph): number {
  const nodes = topologicalOrder(graph.nodes);
  const graphOutputs = new Set(graph.outputNames());
  // Values read implicitly by subgraph bodies cannot be renamed without rewriting the bodies.
  const implicit = new Set<string>();
  for (const n of nodes) if (hasSubgraphs(n)) for (const r of nodeReads(n)) if (!n.inputs.includes(r)) implicit.add(r);
  const rename = new Map<string, string>();
  const seen = new Map<string, Node>();
  const kept: Node[] = [];
  for (const n of nodes) {
    n.inputs = n.inputs.map((i) => rename.get(i) ?? i);
    const k = key(n);
    const first = k === undefined ? undefined : seen.get(k);
    if (first && n.outputs.every((o) => !graphOutputs.has(o) && !implicit.has(o))) {
      n.outputs.forEach((o, i) => o && rename.set(o, first.outputs[i]!));
      continue;
    }
    if (k !== undefined && !first) seen.set(k, n);
    kept.push(n);
  }
  const removed = graph.nodes.length - kept.length;
  graph.nodes = kept;
  return removed;
}
