/**
 * The opset history of list operands: axes, split sizes, slice bounds and pads were
 * attributes in early opsets and became inputs (so they can be computed at run time). One row
 * per op, read only through ops/attributes.ts (`listOperand`), so the shape rule, the gradient
 * rule, block discovery and the Emitter never disagree about which form a node uses.
 */

/** An operand that is an attribute before `since` and input `input` from then on. */
export interface ListOperand {
  readonly input: number;
  readonly since: number;
  /** The attribute's name where it differs from the operand's (Pad-1's 'paddings'), with the opset it was renamed at. */
  readonly renamed?: { readonly from: string; readonly at: number };
}

/** Axes: attribute before opset `since`, input 1 from then on. */
const axesSince = (since: number): Record<string, ListOperand> => ({ axes: { input: 1, since } });

/** Keys are op types of the default domain. */
export const LIST_OPERANDS: Readonly<Record<string, Readonly<Record<string, ListOperand>>>> = {
  ReduceSum: axesSince(13),
  ReduceMean: axesSince(18),
  ReduceMax: axesSince(18),
  ReduceMin: axesSince(18),
  ReduceProd: axesSince(18),
  ReduceL1: axesSince(18),
  ReduceL2: axesSince(18),
  ReduceLogSum: axesSince(18),
  ReduceLogSumExp: axesSince(18),
  ReduceSumSquare: axesSince(18),
  Squeeze: axesSince(13),
  Unsqueeze: axesSince(13),
  Split: { split: { input: 1, since: 13 } },
  Slice: { starts: { input: 1, since: 10 }, ends: { input: 2, since: 10 }, axes: { input: 3, since: 10 }, steps: { input: 4, since: 10 } },
  Pad: { pads: { input: 1, since: 11, renamed: { from: 'paddings', at: 2 } } },
};

/**
 * The opset from which the op takes the list operand `name` as an input (it was an attribute
 * before); undefined for an op that has no such operand.
 */
export function operandInputSince(opType: string, name: string): number | undefined {
  return LIST_OPERANDS[opType]?.[name]?.since;
}
