/**
 * Writes inferred types back into the model: graph.valueInfo for every intermediate value
 * with a known dtype, and a type for graph outputs that declare none. `lor2c inspect` and
 * onnxruntime read these; inputs and initializers keep their own declarations.
 */
import type { Model } from '../graph/graph.ts';
import { inferShapes } from './infer.ts';
import { valueInfoFromType, valueTypeFromInfo, type ValueType } from './types.ts';

/** Annotates the main graph; returns the number of values given a type. */
export function annotateValueInfo(model: Model, types: Map<string, ValueType> = inferShapes(model)): number {
  const graph = model.graph;
  const skip = new Set<string>([...graph.inputNames(), ...graph.initializers.keys()]);
  let count = 0;
  graph.outputs = graph.outputs.map((o) => {
    skip.add(o.name);
    const t = types.get(o.name);
    if (valueTypeFromInfo(o) || !t || !t.dtype) return o;
    count++;
    return valueInfoFromType(o.name, t, o);
  });
  for (const node of graph.nodes) {
    for (const name of node.outputs) {
      if (!name || skip.has(name)) continue;
      const t = types.get(name);
      if (!t || !t.dtype) continue;
      graph.valueInfo.set(name, valueInfoFromType(name, t, graph.valueInfo.get(name)));
      count++;
    }
  }
  return count;
}
