/**
 * What an op IS, in one table: the facts every pass needs about an op that are not its shape
 * rule (compiler/shapes/ops/) or its gradient rule (compiler/autodiff/): whether its outputs
 * differ between runs with the same inputs, whether they carry a gradient and through
 * which inputs, their element types when these are not the first typed input's. Passes ask here (CSE, block discovery's
 * constant folding, dtype propagation, the differentiator) instead of keeping sets of their
 * own, so two passes can never disagree about an op. How an op's attributes read, with their
 * defaults, is ops/attributes.ts; which list operands moved from an attribute to an input at
 * which opset is ops/list-operands.ts.
 *
 * An op with none of these facts needs no row. Keys are op types for ai.onnx and
 * 'domain:OpType' for other domains, as in the rule tables.
 */
import { attrInt, attrTensor, getAttr } from '../graph/attributes.ts';
import { opKey, type Node } from '../graph/graph.ts';
import { DataType } from '../onnx/dtype.ts';
import { layerNormAttributes } from './attributes.ts';

/** Element type of input i, undefined when not known (or the input is omitted). */
export type InputDtype = (i: number) => number | undefined;

export interface OpTraits {
  /**
   * Outputs differ between runs with the same inputs (random draws; Dropout, whose training
   * mode may be on): such a node is never merged with another by CSE and never a constant.
   */
  readonly nondeterministic?: true;
  /**
   * Outputs are integral, boolean or piecewise constant (zero derivative almost everywhere):
   * they carry no gradient, and nothing upstream of them is differentiated.
   */
  readonly nondifferentiable?: true;
  /**
   * The input slots a gradient flows through, when not every slot: the others (shapes, axes,
   * indices, masks, conditions, pads) never make the outputs depend differentiably on a
   * parameter, so nothing upstream of them is differentiated, and the gradient rule is never
   * asked for them.
   */
  readonly differentiableInputs?: readonly number[];
  /** Element type of each output, when it is not the first typed input's. */
  readonly resultDtypes?: (node: Node, input: InputDtype) => (number | undefined)[];
}

/** Every output of the node has type t. */
const all = (t: number | undefined) => (node: Node): (number | undefined)[] => node.outputs.map(() => t);
const int64 = all(DataType.INT64);
const bool = all(DataType.BOOL);
const fromAttribute = (name: string, fallback: (node: Node, input: InputDtype) => number | undefined) => (node: Node, input: InputDtype) => all(attrInt(node, name) ?? fallback(node, input))(node);

/** The normalized output, then mean and inverse standard deviation in the stash type. */
function layerNormDtypes(node: Node, input: InputDtype): (number | undefined)[] {
  const stats = layerNormAttributes(node).stashType === 1 ? DataType.FLOAT : input(0);
  return [input(0), stats, stats];
}

const random = { nondeterministic: true, nondifferentiable: true } as const;
const comparison = { nondifferentiable: true, resultDtypes: bool } as const;
const piecewiseConstant = { nondifferentiable: true } as const;
/** Only the data input (0) carries a gradient; the others are shapes, axes, indices, bounds, pads, repeats or flags. */
const dataOnly = { differentiableInputs: [0] } as const;

export const OP_TRAITS: Readonly<Record<string, OpTraits>> = {
  // ---- random draws ----
  RandomNormal: { ...random, resultDtypes: fromAttribute('dtype', () => DataType.FLOAT) },
  RandomUniform: { ...random, resultDtypes: fromAttribute('dtype', () => DataType.FLOAT) },
  RandomNormalLike: { ...random, resultDtypes: fromAttribute('dtype', (_, input) => input(0)) },
  RandomUniformLike: { ...random, resultDtypes: fromAttribute('dtype', (_, input) => input(0)) },
  Bernoulli: random,
  Multinomial: random,
  // Inputs 1 and 2 are the ratio and the training flag.
  Dropout: { nondeterministic: true, ...dataOnly, resultDtypes: (_, input) => [input(0), DataType.BOOL] },

  // ---- integer, boolean and shape results ----
  Shape: { nondifferentiable: true, resultDtypes: int64 },
  Size: { nondifferentiable: true, resultDtypes: int64 },
  NonZero: { nondifferentiable: true, resultDtypes: int64 },
  ArgMax: { nondifferentiable: true, resultDtypes: int64 },
  ArgMin: { nondifferentiable: true, resultDtypes: int64 },
  NonMaxSuppression: { nondifferentiable: true, resultDtypes: int64 },
  Equal: comparison,
  Less: comparison,
  Greater: comparison,
  LessOrEqual: comparison,
  GreaterOrEqual: comparison,
  Not: comparison,
  And: comparison,
  Or: comparison,
  Xor: comparison,
  IsNaN: comparison,
  IsInf: comparison,
  Range: piecewiseConstant,
  BitShift: piecewiseConstant,
  Unique: { nondifferentiable: true, resultDtypes: (_, input) => [input(0), DataType.INT64, DataType.INT64, DataType.INT64] },
  Constant: {
    nondifferentiable: true,
    resultDtypes: (node) => {
      const t = attrTensor(node, 'value');
      if (t) return all(t.dataType)(node);
      if (getAttr(node, 'value_float') || getAttr(node, 'value_floats')) return all(DataType.FLOAT)(node);
      if (getAttr(node, 'value_int') || getAttr(node, 'value_ints')) return int64(node);
      return all(undefined)(node);
    },
  },
  ConstantOfShape: { nondifferentiable: true, resultDtypes: (node) => all(attrTensor(node, 'value')?.dataType ?? DataType.FLOAT)(node) },
  OneHot: { nondifferentiable: true, resultDtypes: (node, input) => all(input(2))(node) },
  EyeLike: { nondifferentiable: true, resultDtypes: fromAttribute('dtype', (_, input) => input(0)) },

  // ---- piecewise constant ----
  Floor: piecewiseConstant,
  Ceil: piecewiseConstant,
  Round: piecewiseConstant,
  Sign: piecewiseConstant,

  // ---- a gradient through the data input only ----
  Reshape: dataOnly,
  Flatten: dataOnly,
  Squeeze: dataOnly,
  Unsqueeze: dataOnly,
  Split: dataOnly,
  Slice: dataOnly,
  Pad: dataOnly,
  Expand: dataOnly,
  Tile: dataOnly,
  Trilu: dataOnly,
  Gather: dataOnly,
  GatherElements: dataOnly,
  GatherND: dataOnly,
  ReduceSum: dataOnly,
  ReduceMean: dataOnly,
  ReduceSumSquare: dataOnly,
  ReduceL2: dataOnly,
  ReduceLogSumExp: dataOnly,
  ReduceMax: dataOnly,
  ReduceMin: dataOnly,
  CumSum: dataOnly,

  // ---- element types of their own ----
  Cast: { resultDtypes: (node) => all(attrInt(node, 'to'))(node) },
  // Input 1 only lends its element type.
  CastLike: { ...dataOnly, resultDtypes: (node, input) => all(input(1))(node) },
  // Input 0 is the condition.
  Where: { differentiableInputs: [1, 2], resultDtypes: (node, input) => all(input(1))(node) },
  TopK: { resultDtypes: (_, input) => [input(0), DataType.INT64] },
  MaxPool: { resultDtypes: (_, input) => [input(0), DataType.INT64] },
  LayerNormalization: { resultDtypes: (node, input) => layerNormDtypes(node, input) },
  DequantizeLinear: { resultDtypes: (node, input) => all(input(1))(node) },
  QuantizeLinear: { resultDtypes: (node, input) => all(input(2) ?? DataType.UINT8)(node) },
  // com.microsoft's ops of the same name and types.
  'com.microsoft:LayerNormalization': { resultDtypes: (node, input) => layerNormDtypes(node, input) },
  'com.microsoft:DequantizeLinear': { resultDtypes: (node, input) => all(input(1))(node) },
  'com.microsoft:QuantizeLinear': { resultDtypes: (node, input) => all(input(2) ?? DataType.UINT8)(node) },
  'com.microsoft:Unique': { resultDtypes: (_, input) => [input(0), DataType.INT64, DataType.INT64, DataType.INT64] },
};

const NONE: OpTraits = Object.freeze({});

/** The traits of an op ({} for an op with none). */
export function opTraits(domain: string, opType: string): OpTraits {
  return OP_TRAITS[opKey(domain, opType)] ?? NONE;
}

export function isNondeterministic(node: Node): boolean {
  return opTraits(node.domain, node.opType).nondeterministic === true;
}

/** The input slots of the node a gradient flows through (every slot unless its traits say). */
export function differentiableInputs(node: Node): readonly number[] {
  return opTraits(node.domain, node.opType).differentiableInputs ?? node.inputs.map((_, i) => i);
}

/** Ops of the default domain whose outputs carry no gradient. */
export function nondifferentiableOps(): string[] {
  return Object.entries(OP_TRAITS).filter(([, t]) => t.nondifferentiable).map(([op]) => op);
}
