/**
 * Graph outputs without their copies. The train graph names each output (`<param>.next`,
 * `<param>.adam_m.next`, `loss`) by an Identity of the value that computes it; onnxruntime
 * keeps an Identity that writes a graph output and copies the tensor, so every step copied
 * every parameter and both Adam moments once more (a tenth of a full fine-tuning step's
 * kernel time on a BERT-base-sized model, measured with bench/profile.ts). Here the
 * producing node writes the output name itself and its readers read that name.
 *
 * Left alone: an Identity whose input is a graph input or an initializer (nothing to rename),
 * is itself a graph output (two outputs, one value), feeds another output's Identity, or is
 * read by a node with a subgraph body (the body would need renaming too).
 */
import { hasSubgraphs, type Graph, type Node } from '../graph/graph.ts';

/** Returns how many Identity nodes were removed. */
export function removeOutputCopies(graph: Graph): number {
  const outputs = new Set(graph.outputNames());
  const inputs = new Set([...graph.inputNames(), ...graph.initializers.keys()]);
  const producers = graph.producers();
  const consumers = graph.consumers();
  const copies = graph.nodes.filter((n) => n.opType === 'Identity' && n.domain === '' && outputs.has(n.outputs[0]!));
  const claimed = new Map<string, number>();
  for (const c of copies) claimed.set(c.inputs[0]!, (claimed.get(c.inputs[0]!) ?? 0) + 1);
  const removed = new Set<Node>();
  for (const copy of copies) {
    const value = copy.inputs[0]!;
    const name = copy.outputs[0]!;
    const producer = producers.get(value);
    const readers = consumers.get(value) ?? [];
    if (!producer || inputs.has(value) || outputs.has(value) || claimed.get(value)! > 1) continue;
    if (readers.some(hasSubgraphs)) continue;
    producer.outputs = producer.outputs.map((o) => (o === value ? name : o));
    for (const r of readers) r.inputs = r.inputs.map((i) => (i === value ? name : i));
    graph.valueInfo.delete(value); // the output's own ValueInfo types it
    removed.add(copy);
  }
  graph.nodes = graph.nodes.filter((n) => !removed.has(n));
  return removed.size;
}
