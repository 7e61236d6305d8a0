/** Small pieces the op rules share: axes, broadcasting, values computed element by element. */
import { dimEquals, isConcrete, type Dim } from './dim.ts';
import type { Inferred, RuleContext } from './rule.ts';
import { ShapeContradiction } from './rule.ts';
import { listOperand, type ListOperandValue } from '../ops/attributes.ts';

/** Largest tensor whose contents inference carries along (shape computations are tiny): the constant reader's bound. */
import { MAX_VALUE_ELEMENTS } from '../graph/constants.ts';
export { MAX_VALUE_ELEMENTS };

export function normalizeAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ShapeContradiction(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** The broadcast of two dims: ONNX (numpy) multidirectional broadcasting. Throws where they cannot broadcast. */
export function broadcastDim(a: Dim, b: Dim): Dim {
  if (a === b) return a;
  if (a === 1) return b;
  if (b === 1) return a;
  const eq = dimEquals(a, b);
  if (eq === true) return a;
  if (typeof a === 'number' && typeof b === 'number') throw new ShapeContradiction(`cannot broadcast ${a} with ${b}`);
  // A symbol against a number other than 1: a valid model has the symbol equal to that number.
  if (typeof a === 'number') return a;
  if (typeof b === 'number') return b;
  // Two different symbols: each is either 1 or the result; the result has no better name.
  return a < b ? `max(${a},${b})` : `max(${b},${a})`;
}

/** ONNX multidirectional (numpy) broadcasting of two shapes. Throws where they cannot broadcast. */
export function broadcastShapes(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    out.push(broadcastDim(da, db));
  }
  return out;
}

export function broadcastAll(shapes: readonly (readonly Dim[] | undefined)[]): Dim[] | undefined {
  let out: Dim[] = [];
  for (const s of shapes) {
    if (!s) return undefined;
    out = broadcastShapes(out, s);
  }
  return out;
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Contents of an elementwise op over inputs whose values are known: each output element is
 * fn of the broadcast input elements. undefined when some value is unknown or too large.
 */
export function elementwiseValue(inputs: readonly (Inferred | undefined)[], outShape: readonly Dim[] | undefined, fn: (xs: Dim[]) => Dim | undefined): Dim[] | undefined {
  if (!isConcrete(outShape) || product(outShape) > MAX_VALUE_ELEMENTS) return undefined;
  const views: { value: Dim[]; strides: number[] }[] = [];
  for (const x of inputs) {
    if (!x?.value || !isConcrete(x.shape)) return undefined;
    // Broadcast strides: a dimension of size 1 (or a missing leading one) repeats its element.
    const own = strides(x.shape);
    const padded = outShape.map((_, i) => {
      const k = i - (outShape.length - x.shape!.length);
      return k < 0 || x.shape![k] === 1 ? 0 : own[k]!;
    });
    views.push({ value: x.value, strides: padded });
  }
  const total = product(outShape);
  const outStrides = strides(outShape);
  const out: Dim[] = new Array(total);
  for (let flat = 0; flat < total; flat++) {
    const args: Dim[] = [];
    for (const v of views) {
      let off = 0;
      for (let d = 0; d < outShape.length; d++) off += Math.floor(flat / outStrides[d]!) % outShape[d]! * v.strides[d]!;
      args.push(v.value[off]!);
    }
    const r = fn(args);
    if (r === undefined) return undefined;
    out[flat] = r;
  }
  return out;
}

/** An output with a value only when the value is consistent with the shape. */
export function withValue(dtype: number, shape: Dim[] | undefined, value: Dim[] | undefined): Inferred {
  if (value && isConcrete(shape) && product(shape) === value.length) return { dtype, shape, value };
  return { dtype, shape };
}

/** A list operand's numbers (ops/attributes.ts decides attribute or input): undefined when absent, 'unknown' when computed at run time. */
export function operandNumbers(ctx: RuleContext, operand: ListOperandValue): number[] | undefined | 'unknown' {
  if (operand.kind === 'absent') return undefined;
  if (operand.kind === 'attribute') return operand.values;
  return ctx.numbers(operand.index) ?? 'unknown';
}

/** The node's 'axes', as an attribute or an input by its opset. */
export function axesOf(ctx: RuleContext): number[] | undefined | 'unknown' {
  return operandNumbers(ctx, listOperand(ctx.node, ctx.opset, 'axes'));
}

export function sameAs(ctx: RuleContext, i = 0): Inferred | undefined {
  const x = ctx.input(i);
  return x && { dtype: x.dtype, shape: x.shape };
}

export function isIntegerType(dtype: number): boolean {
  return [2, 3, 4, 5, 6, 7, 12, 13, 9].includes(dtype);
}
