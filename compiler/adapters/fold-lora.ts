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
import { attrInt, attrInts } from '../graph/attributes.ts';
import type { Graph, Node } from '../graph/graph.ts';
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
  const consumers = graph.consumers();
  const producers = graph.producers();
  const only = (value: string, opType: string): Node | undefined => {
    const c = consumers.get(value) ?? [];
    return c.length === 1 && c[0]!.opType === opType && c[0]!.domain === '' ? c[0] : undefined;
  };
  const transposed = (n: Node | undefined) => n && JSON.stringify(attrInts(n, 'perm') ?? [1, 0]) === '[1,0]';
  const tA = only(A, 'Transpose');
  const tB = only(B, 'Transpose');
  if (!transposed(tA) || !transposed(tB)) return 'its A or B is not read by exactly one 2-D Transpose';
  const down = only(tA!.outputs[0]!, 'MatMul');
  if (!down || down.inputs[1] !== tA!.outputs[0]) return 'no MatMul x A^T found';
  // LoRA trained with dropout reads Dropout(x): an identity in this (inference) graph.
  const x = throughInferenceDropout(graph, producers, down.inputs[0]!);
  const mul = only(down.outputs[0]!, 'Mul');
  const scaleName = mul?.inputs.find((i) => i !== down.outputs[0]);
  const scaleTensor = scaleName === undefined ? undefined : graph.initializers.get(scaleName);
  if (!mul || !scaleTensor || tensorArray(scaleTensor).length !== 1 || scaleTensor.dataType !== DataType.FLOAT) return 'no constant scale after x A^T';
  const scale = Number(tensorArray(scaleTensor)[0]);
  const up = only(mul.outputs[0]!, 'MatMul');
  if (!up || up.inputs[0] !== mul.outputs[0] || up.inputs[1] !== tB!.outputs[0]) return 'no MatMul (.) B^T found';
  const add = only(up.outputs[0]!, 'Add');
  if (!add) return 'the delta is not added by one Add';
  const y = add.inputs.find((i) => i !== up.outputs[0]);
  if (y === undefined) return 'the delta is added to itself';
  if ((consumers.get(y) ?? []).length !== 1 || graph.outputNames().includes(y)) return `'${y}' is read elsewhere too, so its adapted and unadapted values differ`;

  // y = MatMul(x, W), or y = Add(MatMul(x, W), c) / Add(c, MatMul(x, W)) with c a constant bias.
  let projection = producers.get(y);
  if (projection?.opType === 'Add' && projection.domain === '') {
    const [p, q] = projection.inputs as [string, string];
    const matmulSide = [p, q].find((v) => producers.get(v)?.opType === 'MatMul');
    const biasSide = matmulSide === p ? q : p;
    if (matmulSide === undefined || !graph.initializers.has(biasSide) || (consumers.get(matmulSide) ?? []).length !== 1) {
      return 'the adapted value is not MatMul(x, W) + constant bias';
    }
    projection = producers.get(matmulSide);
  }
  if (!projection || projection.opType !== 'MatMul' || projection.domain !== '') return `'${y}' is not computed by a MatMul (e.g. a fused projection split after it)`;
  if (throughInferenceDropout(graph, producers, projection.inputs[0]!) !== x) return 'the projection reads a different value than the LoRA path (a cast or a training-mode dropout in between)';
  const weightName = projection.inputs[1]!;
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

/**
 * The value `v` passes on, looking through inference-mode Dropouts: opset 12+ Dropout without a
 * training_mode input (or with a constant false one), opset 7-11 Dropout (always inference in
 * ONNX runtimes); an is_test attribute (opset 6 and older) must be set. A training-mode Dropout
 * is not looked through.
 */
function throughInferenceDropout(graph: Graph, producers: ReadonlyMap<string, Node>, v: string): string {
  for (let node = producers.get(v); node && node.opType === 'Dropout' && node.domain === '' && node.outputs[0] === v && inferenceMode(graph, node); node = producers.get(v)) {
    v = node.inputs[0]!;
  }
  return v;
}

function inferenceMode(graph: Graph, dropout: Node): boolean {
  const isTest = attrInt(dropout, 'is_test');
  if (isTest !== undefined) return isTest !== 0;
  const mode = dropout.inputs[2];
  if (mode === undefined || mode === '') return true;
  const t = graph.initializers.get(mode);
  if (!t || graph.inputNames().includes(mode)) return false;
  const values = tensorArray(t);
  return values.length === 1 && !Number(values[0]);
}
