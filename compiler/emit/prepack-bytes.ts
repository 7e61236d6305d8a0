/**
 * What ORT's weight prepacking would add to the memory of a session of this graph, in bytes.
 *
 * At load, ORT's CPU MatMul, FusedMatMul and Gemm kernels copy a constant 2-D B operand into
 * MLAS's packed float32 layout, each kernel its own copy (a forward `x @ W` and its backward
 * `Gemm(dY, W, transB)` pack W twice, in two layouts). The initializer itself is released only
 * when every node reading it packed it. A weight stored in float16 and cast by the graph is
 * folded to float32 first, so its packed copies are float32 too.
 *
 * The trainer reads this from the manifest to decide whether prepacking is worth its memory
 * for the train graph (runtime/trainer.ts trainSessionSettings). It is an estimate from the
 * graph alone, before ORT's own fusions (which keep each product's B operand).
 */
import type { Graph, Node } from '../graph/graph.ts';
import { isDefaultDomain } from '../graph/graph.ts';
import { attrInt } from '../graph/attributes.ts';
import { DataType } from '../onnx/dtype.ts';
import { elementCount, tensorDims } from '../onnx/tensor.ts';

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16]);
/** One-input ops that keep every element, which ORT folds into a new initializer when their input is one. */
const FOLDED_COPIES = new Set(['Transpose', 'Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze']);

/** Whether the node's kernel packs a constant input 1 (its B operand). */
function packsB(n: Node): boolean {
  if (isDefaultDomain(n)) return n.opType === 'MatMul' || n.opType === 'Gemm';
  return n.domain === 'com.microsoft' && n.opType === 'FusedMatMul';
}

/**
 * The float32 constants holding an initializer's elements as the session sees them: itself,
 * and what ORT's constant folding makes of it through a Cast to float32 (a weight stored
 * half) or a layout op (an exporter's `Transpose(W)`, a tied embedding read as `E^T`).
 */
function float32Copies(name: string, dataType: number, readers: ReadonlyMap<string, Node[]>): string[] {
  const out: string[] = [];
  const walk = (v: string, isFloat32: boolean): void => {
    if (isFloat32) out.push(v);
    for (const n of readers.get(v) ?? []) {
      if (!isDefaultDomain(n) || n.inputs[0] !== v || !n.outputs[0]) continue;
      if (n.opType === 'Cast' && attrInt(n, 'to') === DataType.FLOAT) walk(n.outputs[0], true);
      else if (FOLDED_COPIES.has(n.opType)) walk(n.outputs[0], isFloat32);
    }
  };
  walk(name, dataType === DataType.FLOAT);
  return out;
}

/**
 * Counted for every constant B operand whatever its rank (ORT packs 2-D ones only), so the
 * estimate errs high, never low.
 */
export function prepackBytes(graph: Graph): number {
  const readers = graph.consumers();
  let bytes = 0;
  for (const [name, t] of graph.initializers) {
    if (!FLOAT_TYPES.has(t.dataType)) continue;
    const copy = 4 * elementCount(tensorDims(t));
    for (const v of float32Copies(name, t.dataType, readers)) {
      const reading = readers.get(v) ?? [];
      const packing = reading.filter((n) => packsB(n) && n.inputs[1] === v).length;
      // When every reader packed it, the unpacked value is freed: one copy fewer.
      if (packing > 0) bytes += copy * (packing === reading.length ? packing - 1 : packing);
    }
  }
  return bytes;
}
