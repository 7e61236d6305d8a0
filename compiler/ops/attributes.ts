/**
 * Each op's attributes parsed once, with ONNX's defaults spelled here and nowhere else (as
 * onnxruntime-web pairs every kernel with its parseAttributes): the shape rule, the gradient
 * rule and block discovery of an op call the same parser, so they can never read a default or
 * an opset difference two ways. A list operand that moved from an attribute to an input (axes,
 * split sizes, slice bounds, pads: the opsets are the op's row in list-operands.ts) comes back as either;
 * reading an input's numbers is the caller's (inference values, constants, a run-time tensor).
 */
import { attrFloat, attrInt, attrInts, attrString, getAttr } from '../graph/attributes.ts';
import type { Node } from '../graph/graph.ts';
import { LIST_OPERANDS } from './list-operands.ts';

/** A list operand as the node gives it. */
export type ListOperandValue =
  | { kind: 'absent' }
  | { kind: 'attribute'; values: number[] }
  | { kind: 'input'; index: number; value: string };

/** The one reader of "`name` as an attribute before opset N, as input i from then on". */
export function listOperand(node: Node, opset: number, name: string): ListOperandValue {
  const operand = LIST_OPERANDS[node.opType]?.[name];
  if (!operand) throw new Error(`internal error: ${node.opType} has no list operand '${name}' in compiler/ops/list-operands.ts`);
  if (opset >= operand.since) {
    const value = node.inputs[operand.input] ?? '';
    return value === '' ? { kind: 'absent' } : { kind: 'input', index: operand.input, value };
  }
  const a = getAttr(node, operand.renamed && opset < operand.renamed.at ? operand.renamed.from : name);
  return a ? { kind: 'attribute', values: a.ints.map(Number) } : { kind: 'absent' };
}

/** A list operand's numbers: the attribute's, or what `read` gives for its input (a constant's); undefined when absent or not known. */
export function listOperandNumbers(o: ListOperandValue, read: (value: string) => number[] | undefined): number[] | undefined {
  return o.kind === 'attribute' ? o.values : o.kind === 'input' ? read(o.value) : undefined;
}

export interface ReduceAttributes {
  keepdims: boolean;
  /** With no axes: reduce nothing (true) or every axis (false). Only opsets with axes as an input have it. */
  noopWithEmptyAxes: boolean;
  axes: ListOperandValue;
}

/** ReduceSum, ReduceMean, ... (not ArgMax / ArgMin, which take one axis). */
export function reduceAttributes(node: Node, opset: number): ReduceAttributes {
  const axes = listOperand(node, opset, 'axes');
  const since = LIST_OPERANDS[node.opType]!.axes!.since;
  return {
    keepdims: attrInt(node, 'keepdims', 1) !== 0,
    noopWithEmptyAxes: opset >= since && attrInt(node, 'noop_with_empty_axes', 0) !== 0,
    axes,
  };
}

export interface SliceOperands {
  starts: ListOperandValue;
  ends: ListOperandValue;
  axes: ListOperandValue;
  steps: ListOperandValue;
}

/** Slice's bounds: attributes before opset 10 (no steps then), inputs 1..4 from then on. */
export function sliceOperands(node: Node, opset: number): SliceOperands {
  return {
    starts: listOperand(node, opset, 'starts'),
    ends: listOperand(node, opset, 'ends'),
    axes: listOperand(node, opset, 'axes'),
    steps: listOperand(node, opset, 'steps'),
  };
}

export interface LayerNormAttributes {
  /** First normalized axis: the statistics are over [axis, rank). */
  axis: number;
  epsilon: number;
  /** Element type of the mean and inverse standard deviation outputs (1 = float32). */
  stashType: number;
}

/** LayerNormalization (ai.onnx and com.microsoft); RMSNormalization's axis and epsilon likewise. */
export function layerNormAttributes(node: Node): LayerNormAttributes {
  return { axis: attrInt(node, 'axis', -1), epsilon: attrFloat(node, 'epsilon', 1e-5), stashType: attrInt(node, 'stash_type', 1) };
}

/** Softmax, LogSoftmax, Hardmax: the axis (from opset 13 the one axis normalized, before it the 2-D view's split point). */
export function softmaxAxis(node: Node, opset: number): number {
  return attrInt(node, 'axis', opset >= 13 ? -1 : 1);
}

/**
 * Transpose's permutation: the attribute, or (ONNX's default) the axes reversed. Undefined
 * only when the attribute is absent and the rank is not known.
 */
export function transposePerm(node: Node, rank: number | undefined): number[] | undefined {
  const perm = attrInts(node, 'perm');
  if (perm) return perm;
  return rank === undefined ? undefined : Array.from({ length: rank }, (_, i) => rank - 1 - i);
}

/**
 * Whether the Transpose swaps the last two axes and keeps the others in place (a 2-D
 * transpose, or its batched form): what turns an [in, out] weight into [out, in]. Without a
 * perm attribute that is the reversal, which swaps the last two axes only at rank 2.
 */
export function swapsLastTwoAxes(node: Node, rank: number | undefined): boolean {
  const perm = transposePerm(node, rank ?? 2);
  if (!perm || perm.length < 2) return false;
  const r = perm.length;
  return perm.every((p, i) => p === (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
}

export interface PadAttributes {
  mode: string;
  pads: ListOperandValue;
  /** The constant fill: the 'value' attribute before opset 11 (default 0), input 2 from then on. */
  constantValue: { kind: 'attribute'; value: number } | { kind: 'input'; index: number; value: string } | { kind: 'absent' };
  /** Opset 18's axes input (absent: every axis). */
  axes: ListOperandValue;
}

/** Pad: mode (default 'constant'), pads and fill value as attributes or inputs by opset, axes from opset 18. */
export function padAttributes(node: Node, opset: number): PadAttributes {
  const fill = node.inputs[2] ?? '';
  const axes = node.inputs[3] ?? '';
  return {
    mode: attrString(node, 'mode', 'constant'),
    pads: listOperand(node, opset, 'pads'),
    constantValue: opset < 11 ? { kind: 'attribute', value: attrFloat(node, 'value', 0) } : fill === '' ? { kind: 'absent' } : { kind: 'input', index: 2, value: fill },
    axes: opset >= 18 && axes !== '' ? { kind: 'input', index: 3, value: axes } : { kind: 'absent' },
  };
}
