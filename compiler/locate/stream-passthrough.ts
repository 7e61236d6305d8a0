/**
 * Ops that carry the residual stream on unchanged in meaning, so the value a block reads is
 * the one the previous block left even when code puts something in between:
 * - Identity and (inference) Dropout;
 * - a Cast to a float type (T5's `hidden_states.to(torch.float32)`, float to float);
 * - an Add / Sub of a constant that broadcasts over the stream without growing it: a bias
 *   added AFTER the residual Add (`x = x + y @ W + b` parses as (x + y @ W) + b);
 * - Reshape / Squeeze / Unsqueeze / Flatten whose output has exactly the input's shape
 *   (`x.view(b, s, d)` round trips), proven by shape inference, never assumed.
 */
import type { Node } from '../graph/index.ts';
import { DataType } from '../onnx/dtype.ts';
import type { GraphView } from './graph-view.ts';

/** Whether two values have the same shape, dim for dim (symbolic dims compared by name). */
export type SameShape = (a: string, b: string) => boolean;

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16]);
const SHAPE_OPS = new Set(['Reshape', 'Squeeze', 'Unsqueeze', 'Flatten']);

/** The stream input `n` passes on to its first output unchanged in meaning, or undefined. */
export function streamInputOf(view: GraphView, n: Node, sameShape: SameShape): string | undefined {
  const out = n.outputs[0];
  if (!out) return undefined;
  switch (n.opType) {
    case 'Identity':
    case 'Dropout':
      return n.inputs[0] || undefined;
    case 'Cast': {
      const to = n.attributes.find((a) => a.name === 'to');
      return to && FLOAT_TYPES.has(Number(to.i)) ? n.inputs[0] || undefined : undefined;
    }
    case 'Add':
    case 'Sub': {
      const [a, b] = n.inputs;
      if (!a || !b) return undefined;
      const dynamic = view.isConst(a) ? (n.opType === 'Add' ? b : undefined) : view.isConst(b) ? a : undefined;
      if (!dynamic) return undefined;
      const constant = dynamic === a ? b : a;
      const dims = view.weightSource(constant)?.dims ?? view.storedDims(constant)?.dims;
      // A bias: a vector, or ones before its last dim; anything that could broadcast the stream up is not.
      if (!dims || dims.slice(0, -1).some((d) => d !== 1) || !sameShape(dynamic, out)) return undefined;
      return dynamic;
    }
    default:
      return SHAPE_OPS.has(n.opType) && n.inputs[0] && sameShape(n.inputs[0], out) ? n.inputs[0] : undefined;
  }
}

/** The value `value` was carried from through pass-through ops (itself when none). */
export function streamOrigin(view: GraphView, value: string, sameShape: SameShape): string {
  let v = value;
  for (let hops = 0; hops < 16; hops++) {
    const p = view.producer.get(v);
    const from = p && streamInputOf(view, p, sameShape);
    if (!from) return v;
    v = from;
  }
  return v;
}

/**
 * Where `value` is carried to: forward through pass-through ops while each is the value's
 * only reader (the last block's output, before the final norm).
 */
export function streamCarried(view: GraphView, value: string, sameShape: SameShape): string {
  let v = value;
  for (let hops = 0; hops < 16; hops++) {
    const readers = view.consumersOf(v);
    if (readers.length !== 1 || view.graphOutputs.has(v)) return v;
    if (streamInputOf(view, readers[0]!, sameShape) !== v) return v;
    v = readers[0]!.outputs[0]!;
  }
  return v;
}
