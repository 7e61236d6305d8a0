/**
 * Lifts Constant nodes to initializers, so weights some exporters hold in Constant nodes
 * (PaddleOCR, old torch exports) become parameters that adapters can find and train.
 */
import { makeTensor } from '../onnx/tensor.ts';
import { DataType } from '../onnx/dtype.ts';
import { copyMessage, type TensorProto } from '../onnx/proto.ts';
import type { Graph, Node } from '../graph/graph.ts';

function constantValue(n: Node, name: string): TensorProto | undefined {
  const a = n.attributes[0];
  if (!a || n.attributes.length !== 1) return undefined;
  switch (a.name) {
    case 'value': return a.t ? copyMessage(a.t, { name }) : undefined;
    case 'value_float': return makeTensor(name, DataType.FLOAT, [], Float32Array.of(a.f));
    case 'value_floats': return makeTensor(name, DataType.FLOAT, [a.floats.length], Float32Array.from(a.floats));
    case 'value_int': return makeTensor(name, DataType.INT64, [], BigInt64Array.of(a.i));
    case 'value_ints': return makeTensor(name, DataType.INT64, [a.ints.length], BigInt64Array.from(a.ints));
    default: return undefined; // sparse and string constants stay nodes
  }
}

/** Returns the number of Constant nodes lifted. Constants of at least `minElements` elements only. */
export function liftConstants(graph: Graph, minElements = 0): number {
  let lifted = 0;
  graph.nodes = graph.nodes.filter((n) => {
    if (n.opType !== 'Constant' || (n.domain !== '' && n.domain !== 'ai.onnx')) return true;
    const out = n.outputs[0];
    if (!out || graph.initializers.has(out)) return true;
    const t = constantValue(n, out);
    if (!t) return true;
    const count = t.dims.reduce((p, d) => p * Number(d), 1);
    if (count < minElements) return true;
    graph.initializers.set(out, t);
    lifted++;
    return false;
  });
  return lifted;
}
