/**
 * The one reader of constant values (axes, shapes, starts, split sizes, indices, exponents)
 * that gradient rules, block discovery and shape inference read as numbers. A value is
 * constant when it is an initializer that no graph input overrides, a Constant node, or one
 * of those passed through ops that only re-shape, re-type or join it: torch.onnx.export
 * without constant folding writes index lists that way (a Slice's axes as
 * Unsqueeze(Constant 3)). Only small tensors are read: one too large to be an index list (a
 * weight) is not a number list.
 */
import { attrInt, attrTensor, getAttr } from './attributes.ts';
import { isDefaultDomain, type Graph, type Node } from './graph.ts';
import { DataType } from '../onnx/dtype.ts';
import { DataLocation, type TensorProto } from '../onnx/proto.ts';
import { deferredBytes } from '../onnx/deferred.ts';
import { tensorNumbers } from '../onnx/tensor.ts';

/** Largest tensor whose contents are read as numbers (index lists and shape computations are tiny). */
export const MAX_VALUE_ELEMENTS = 4096;

/** What the reader needs of a graph: its initializers and inputs, and each value's producer. */
export interface ConstantScope {
  readonly graph: Graph;
  producer(value: string): Node | undefined;
  /** The rank of a value, where known otherwise (shape inference); used to read Concat(axis = -1). */
  rank?(value: string): number | undefined;
}

/**
 * A tensor's elements as numbers when it is small and numeric and its bytes can be had: in
 * memory, or deferred to its data file (read from there). External data never read is not.
 */
export function smallTensorNumbers(t: TensorProto): number[] | undefined {
  let count = 1;
  for (const d of t.dims) count *= Number(d);
  if (count > MAX_VALUE_ELEMENTS || t.dataType === DataType.STRING) return undefined;
  if (t.dataLocation === DataLocation.EXTERNAL && t.rawData.length === 0 && !deferredBytes(t)) return undefined;
  return tensorNumbers(t);
}

/** The stored tensor behind `value`: an initializer no graph input overrides, or a Constant node's `value`. */
export function constantTensor(scope: ConstantScope, value: string): TensorProto | undefined {
  const init = scope.graph.initializers.get(value);
  // An initializer that is also a graph input can be overridden at run time: not a constant.
  if (init) return scope.graph.inputs.some((i) => i.name === value) ? undefined : init;
  const p = scope.producer(value);
  if (p && p.opType === 'Constant' && isDefaultDomain(p)) return attrTensor(p, 'value');
  return undefined;
}

/**
 * The contents of a constant tensor (row-major; shapes are not returned), or undefined when
 * `value` is not one of the constants this reader follows.
 */
export function constantNumbers(scope: ConstantScope, value: string | undefined, depth = 0): number[] | undefined {
  if (!value) return undefined;
  const t = constantTensor(scope, value);
  if (t) return smallTensorNumbers(t);
  const p = scope.producer(value);
  if (!p || depth > 16 || !isDefaultDomain(p)) return undefined;
  switch (p.opType) {
    case 'Constant': {
      const ints = getAttr(p, 'value_ints');
      if (ints) return ints.ints.map(Number);
      const int = getAttr(p, 'value_int');
      return int ? [Number(int.i)] : undefined;
    }
    // Row-major order is what these keep: the flat contents are the input's.
    case 'Identity': case 'Unsqueeze': case 'Squeeze': case 'Reshape': case 'Flatten':
      return constantNumbers(scope, p.inputs[0], depth + 1);
    case 'Cast': {
      const to = attrInt(p, 'to');
      const inner = constantNumbers(scope, p.inputs[0], depth + 1);
      if (!inner || (to !== DataType.INT64 && to !== DataType.INT32)) return undefined;
      return inner.map(Math.trunc);
    }
    case 'Concat': {
      // Joining along the first axis (or 1-D parts) concatenates the flat contents.
      const parts = p.inputs.map((i) => ({ values: constantNumbers(scope, i, depth + 1), rank: constantTensor(scope, i)?.dims.length ?? scope.rank?.(i) }));
      const axis = attrInt(p, 'axis');
      if (parts.some((x) => !x.values) || !(axis === 0 || (axis === -1 && parts.every((x) => x.rank === 1)))) return undefined;
      return parts.flatMap((x) => x.values!);
    }
    default:
      return undefined;
  }
}
