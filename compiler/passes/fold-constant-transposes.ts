/**
 * Transposes of constants computed once, at export time: a Transpose whose input is an
 * initializer (not overridable as a graph input) becomes an initializer holding the transposed
 * values. A merged export bakes the adapter's factors into initializers, and every low-rank path
 * reads them as Transpose(A) / Transpose(B) (compiler/adapters/low-rank.ts): left as graph ops,
 * each inference would transpose the same constants again. Two Transposes of one constant with
 * one perm share the result. Element types are kept bit for bit; packed sub-byte, complex and
 * string tensors are left as they are.
 */
import type { Graph } from '../graph/graph.ts';
import { transposePerm } from '../ops/attributes.ts';
import { DataType } from '../onnx/dtype.ts';
import { makeTensor, tensorArray, tensorDims, type NumericArray } from '../onnx/tensor.ts';

/** Element types whose typed array holds one element per entry. */
const FOLDABLE = new Set<number>([
  DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16, DataType.BOOL,
  DataType.INT8, DataType.UINT8, DataType.INT16, DataType.UINT16, DataType.INT32, DataType.UINT32, DataType.INT64, DataType.UINT64,
]);

/** Returns how many Transpose nodes were replaced by initializers. */
export function foldConstantTransposes(graph: Graph): number {
  const declared = new Set(graph.inputNames());
  const outputs = new Set(graph.outputNames());
  const done = new Map<string, string>();
  const renamed = new Map<string, string>();
  let folded = 0;
  graph.nodes = graph.nodes.filter((n) => {
    if (n.opType !== 'Transpose' || n.domain !== '' || n.inputs.length !== 1 || n.outputs.length !== 1) return true;
    const [input] = n.inputs as [string];
    const [output] = n.outputs as [string];
    const t = graph.initializers.get(input);
    if (!t || declared.has(input) || outputs.has(output) || !FOLDABLE.has(t.dataType)) return true;
    const dims = tensorDims(t);
    const perm = transposePerm(n, dims.length)!;
    if (perm.length !== dims.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) return true;
    const key = `${input}\u0000${perm.join(',')}`;
    const earlier = done.get(key);
    if (earlier !== undefined) renamed.set(output, earlier);
    else {
      graph.initializers.set(output, makeTensor(output, t.dataType, perm.map((p) => dims[p]!), transpose(tensorArray(t), dims, perm)));
      done.set(key, output);
    }
    folded++;
    return false;
  });
  if (renamed.size > 0) for (const n of graph.nodes) n.inputs = n.inputs.map((i) => renamed.get(i) ?? i);
  return folded;
}

/** out[j...] = in[i...] with out axis k = in axis perm[k], row-major. */
function transpose(data: NumericArray, dims: number[], perm: number[]): NumericArray {
  const rank = dims.length;
  const out = new (data.constructor as new (n: number) => NumericArray)(data.length);
  const inStrides = new Array<number>(rank);
  for (let k = rank - 1, s = 1; k >= 0; k--) (inStrides[k] = s), (s *= dims[k]!);
  const outDims = perm.map((p) => dims[p]!);
  const strideOfOut = perm.map((p) => inStrides[p]!);
  const index = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let from = 0;
    for (let k = 0; k < rank; k++) from += index[k]! * strideOfOut[k]!;
    (out as unknown as number[])[o] = (data as unknown as number[])[from]!;
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k]! < outDims[k]!) break;
      index[k] = 0;
    }
  }
  return out;
}
