/**
 * Folding LoRA into the weight it adapts, for a merged export: where a LoRA path
 *
 *     y = x W (+ c);   out = y + ((x Transpose(A)) * s) Transpose(B)        (compiler/adapters/low-rank.ts)
 *
 * sits on a projection whose W is a plain [in, out] initializer read by that projection only,
 * the path is replaced by W' = W + s A^T B^T (A [r, in], B [out, r], s = alpha / r) and the
 * Add becomes an Identity of y, so the model runs as if it had never been adapted. Anything
 * else (a fused QKV projection split after the MatMul, a Gemm, a weight shared with another
 * reader) is left as a graph path and reported with the reason. LoRA trained with dropout reads
 * Dropout(x), which in an inference graph is the identity, so such paths fold too. LoR2C paths
 * never fold: they skip whole blocks, so no single weight can hold them.
 *
 * Runs after the parameters became initializers; dead path nodes are left for DCE.
 */
import type { Manifest } from '../../contract/manifest.ts';
import type { Graph } from '../graph/graph.ts';
import { traceLoraPath } from './lora-path.ts';
import { DataType } from '../onnx/dtype.ts';
import { makeTensor, tensorArray, tensorDims } from '../onnx/tensor.ts';

export interface FoldReport {
  /** LoRA targets folded into their weights (e.g. 'b0.q'), with the weight changed. */
  folded: { module: string; weight: string }[];
  /** LoRA targets kept as graph paths, and why. */
  kept: { module: string; reason: string }[];
}

/** `names` maps a parameter name to the initializer now holding it. */
export function foldLora(graph: Graph, manifest: Manifest, names: ReadonlyMap<string, string>): FoldReport {
  const report: FoldReport = { folded: [], kept: [] };
  const targets = new Map<string, { A?: string; B?: string }>();
  for (const p of manifest.parameters) {
    if (p.role !== 'lora.A' && p.role !== 'lora.B') continue;
    const t = targets.get(p.module) ?? {};
    t[p.role === 'lora.A' ? 'A' : 'B'] = names.get(p.name) ?? p.name;
    targets.set(p.module, t);
  }
  for (const [module, { A, B }] of targets) {
    if (!A || !B) {
      report.kept.push({ module, reason: 'the manifest lists only one of its A and B' });
      continue;
    }
    const outcome = foldOne(graph, A, B);
    if (typeof outcome === 'string') report.kept.push({ module, reason: outcome });
    else report.folded.push({ module, weight: outcome.weight });
  }
  return report;
}

function foldOne(graph: Graph, A: string, B: string): { weight: string } | string {
  const path = traceLoraPath(graph, A, B);
  if (typeof path === 'string') return path;
  const { scale, add, y } = path;
  const consumers = graph.consumers();
  const weightName = path.weight;
  const W = graph.initializers.get(weightName);
  if (!W || W.dataType !== DataType.FLOAT || W.dims.length !== 2) return `weight '${weightName}' is not a 2-D float32 initializer`;
  if ((consumers.get(weightName) ?? []).length !== 1 || graph.inputNames().includes(weightName)) return `weight '${weightName}' has other readers`;
  const [inDim, outDim] = tensorDims(W) as [number, number];
  const a = tensorArray(graph.initializers.get(A)!) as Float32Array;
  const b = tensorArray(graph.initializers.get(B)!) as Float32Array;
  const r = a.length / inDim;
  if (!Number.isInteger(r) || b.length !== outDim * r) return `A and B shapes do not fit weight '${weightName}' [${inDim}, ${outDim}]`;

  // W'[i, o] = W[i, o] + s * sum_k A[k, i] B[o, k], accumulated in float64.
  const w = tensorArray(W) as Float32Array;
  const folded = new Float32Array(w.length);
  for (let i = 0; i < inDim; i++) {
    for (let o = 0; o < outDim; o++) {
      let delta = 0;
      for (let k = 0; k < r; k++) delta += a[k * inDim + i]! * b[o * r + k]!;
      folded[i * outDim + o] = w[i * outDim + o]! + scale * delta;
    }
  }
  graph.initializers.set(weightName, makeTensor(weightName, DataType.FLOAT, [inDim, outDim], folded));
  add.opType = 'Identity';
  add.inputs = [y];
  add.attributes = [];
  return { weight: weightName };
}
