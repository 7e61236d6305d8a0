/**
 * Element types of every value of a graph, by a small forward pass over the nodes. The
 * Emitter needs a value's dtype to emit typed constants; full shape inference
 * (compiler/shapes) is optional for it, this is not, so it lives beside the Emitter. An op's
 * output types are its first typed input's unless its row in the op traits
 * (compiler/ops/traits.ts) says otherwise.
 */
import type { Graph, Node } from './graph.ts';
import { topologicalOrder } from '../passes/toposort.ts';
import type { ValueType } from '../shapes/types.ts';
import { opTraits } from '../ops/traits.ts';

function tensorTypeOf(v: { type?: { value: { case?: string; value?: unknown } } }): number | undefined {
  const t = v.type?.value;
  if (t?.case !== 'tensorType') return undefined;
  const elem = (t.value as { elemType: number }).elemType;
  return elem || undefined;
}

export function inferDtypes(graph: Graph, known?: ReadonlyMap<string, ValueType>): Map<string, number> {
  const dt = new Map<string, number>();
  if (known) for (const [k, v] of known) if (v.dtype) dt.set(k, v.dtype);
  for (const v of [...graph.inputs, ...graph.valueInfo.values(), ...graph.outputs]) {
    const t = tensorTypeOf(v);
    if (t && !dt.has(v.name)) dt.set(v.name, t);
  }
  for (const [name, t] of graph.initializers) dt.set(name, t.dataType);
  for (const node of topologicalOrder(graph.nodes)) {
    const outs = outputDtypes(node, (v) => dt.get(v));
    node.outputs.forEach((o, i) => {
      const t = outs[i];
      if (o && t && !dt.has(o)) dt.set(o, t);
    });
  }
  return dt;
}

function outputDtypes(node: Node, dtype: (v: string) => number | undefined): (number | undefined)[] {
  const input = (i: number) => (node.inputs[i] ? dtype(node.inputs[i]!) : undefined);
  // Ops of other domains may type their outputs any way: only ai.onnx and com.microsoft are known.
  if (node.domain !== '' && node.domain !== 'ai.onnx' && node.domain !== 'com.microsoft') return node.outputs.map(() => undefined);
  const declared = opTraits(node.domain, node.opType).resultDtypes;
  if (declared) return declared(node, input);
  let first: number | undefined;
  for (let i = 0; i < node.inputs.length && first === undefined; i++) first = input(i);
  return node.outputs.map(() => first);
}
