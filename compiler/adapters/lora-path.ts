/**
 * Tracing a LoRA path back to the projection it adapts, in a compiled graph (the shape
 * compiler/adapters/low-rank.ts builds):
 *
 *     y = x W (+ c);   out = y + ((x Transpose(A)) * s) Transpose(B)
 *
 * Folding (fold-lora.ts) needs the nodes to rewrite; a PEFT export (runtime/peft-layout.ts)
 * needs the weight's name, which gives the torch module path. Either way the path is read from
 * the graph, never from parameter names. A path this does not recognise is a reason string.
 */
import { attrInt } from '../graph/attributes.ts';
import { swapsLastTwoAxes } from '../ops/attributes.ts';
import type { Graph, Node } from '../graph/graph.ts';
import { DataType } from '../onnx/dtype.ts';
import { tensorArray } from '../onnx/tensor.ts';

export interface LoraPath {
  /** LoRA's input x (looked through inference-mode Dropouts). */
  x: string;
  /** The constant scale s (alpha / rank as compiled). */
  scale: number;
  /** The Add of y and the delta. */
  add: Node;
  /** The adapted value y. */
  y: string;
  /** The projection's right operand: its weight, when that is an initializer. */
  weight: string;
}

/** The path that LoRA factors A and B (value names in `graph`) form, or why there is none. */
export function traceLoraPath(graph: Graph, A: string, B: string): LoraPath | string {
  const consumers = graph.consumers();
  const producers = graph.producers();
  const only = (value: string, opType: string): Node | undefined => {
    const c = consumers.get(value) ?? [];
    return c.length === 1 && c[0]!.opType === opType && c[0]!.domain === '' ? c[0] : undefined;
  };
  const transposed = (n: Node | undefined) => n !== undefined && swapsLastTwoAxes(n, 2);
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
  return { x, scale, add, y, weight: projection.inputs[1]! };
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
