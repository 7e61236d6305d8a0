/**
 * Elementwise ops: unary maps (shape and dtype kept), broadcasting binary and variadic ops,
 * comparisons and logic (bool out), Where, Cast, Identity, Dropout, activations and the
 * shape-preserving ops (Softmax, Trilu, CumSum, ...). Integer arithmetic also computes
 * values, so shape computations (Shape -> Add -> Reshape) stay exact.
 */
import { DataType } from '../../onnx/dtype.ts';
import { attrInt } from '../../graph/attributes.ts';
import { dimAdd, dimDifferenceBounds, dimFloorDiv, dimMul, dimSub, type Dim } from '../dim.ts';
import { broadcastAll, elementwiseValue, isIntegerType, sameAs, withValue } from '../helpers.ts';
import type { Inferred, Rule, RuleContext, RuleTable } from '../rule.ts';

const num = (x: Dim): x is number => typeof x === 'number';

/** Same type out as in; no value. */
const keep: Rule = (ctx) => [sameAs(ctx, 0)];

/** Same type out, with the value mapped element by element where known. */
function unaryValue(fn: (x: Dim) => Dim | undefined): Rule {
  return (ctx) => {
    const x = ctx.input(0);
    if (!x) return [undefined];
    return [withValue(x.dtype, x.shape, elementwiseValue([x], x.shape, ([a]) => fn(a!)))];
  };
}

function broadcastOp(outDtype: (ctx: RuleContext) => number, fn?: (xs: Dim[], dtype: number) => Dim | undefined, first = 0, last?: number): Rule {
  return (ctx) => {
    const ins: (Inferred | undefined)[] = [];
    for (let i = first; i < (last ?? ctx.inputCount); i++) ins.push(ctx.input(i));
    const dtype = outDtype(ctx);
    const shape = broadcastAll(ins.map((x) => x?.shape));
    const value = fn ? elementwiseValue(ins, shape, (xs) => fn(xs, ctx.dtype(first))) : undefined;
    return [withValue(dtype, shape, value)];
  };
}

function firstKnownDtype(ctx: RuleContext): number {
  for (let i = 0; i < ctx.inputCount; i++) if (ctx.dtype(i)) return ctx.dtype(i);
  return 0;
}

const arith = (fn: (a: Dim, b: Dim, dtype: number) => Dim | undefined) => broadcastOp(firstKnownDtype, ([a, b], dt) => fn(a!, b!, dt));
const boolOut = (fn?: (a: Dim, b: Dim) => Dim | undefined) => broadcastOp(() => DataType.BOOL, fn && (([a, b]) => fn(a!, b!)));

function divide(a: Dim, b: Dim, dtype: number): Dim | undefined {
  if (num(a) && num(b)) {
    if (!isIntegerType(dtype)) return a / b;
    return b === 0 ? undefined : Math.trunc(a / b);
  }
  return isIntegerType(dtype) ? dimFloorDiv(a, b) : undefined;
}

/**
 * Compares two elements; with symbols, decided by the bounds of their difference (symbols are
 * sizes, never negative: torch's `Equal(shape, -1)` before an Expand is false for every dim),
 * undefined where the bounds do not decide it.
 */
function compare(test: (a: number, b: number) => boolean, decide?: (min: Bound, max: Bound) => boolean | undefined): (a: Dim, b: Dim) => Dim | undefined {
  return (a, b) => {
    if (num(a) && num(b)) return test(a, b) ? 1 : 0;
    if (!decide) return undefined;
    const { min, max } = dimDifferenceBounds(a, b);
    const r = decide(min, max);
    return r === undefined ? undefined : r ? 1 : 0;
  };
}

/** Each comparison of a with b decided from the bounds [min, max] of a - b (undefined: not decided). */
type Bound = number | undefined;
const below = (v: Bound, c: number, orEqual: boolean) => v !== undefined && (orEqual ? v <= c : v < c);
const above = (v: Bound, c: number, orEqual: boolean) => v !== undefined && (orEqual ? v >= c : v > c);
const decided = (yes: boolean, no: boolean) => (yes ? true : no ? false : undefined);
const DECIDE = {
  equal: (min: Bound, max: Bound) => decided(min === 0 && max === 0, above(min, 0, false) || below(max, 0, false)),
  less: (min: Bound, max: Bound) => decided(below(max, 0, false), above(min, 0, true)),
  greater: (min: Bound, max: Bound) => decided(above(min, 0, false), below(max, 0, true)),
  lessOrEqual: (min: Bound, max: Bound) => decided(below(max, 0, true), above(min, 0, false)),
  greaterOrEqual: (min: Bound, max: Bound) => decided(above(min, 0, true), below(max, 0, false)),
};

const numeric = (fn: (...xs: number[]) => number) => (xs: Dim[]): Dim | undefined => (xs.every(num) ? fn(...(xs as number[])) : undefined);

const variadic = (fn?: (xs: Dim[]) => Dim | undefined): Rule => broadcastOp(firstKnownDtype, fn && ((xs) => fn(xs)));

function castValue(x: Dim, to: number): Dim | undefined {
  if (!num(x)) return isIntegerType(to) && to !== DataType.BOOL ? x : undefined;
  if (to === DataType.BOOL) return x !== 0 ? 1 : 0;
  if (isIntegerType(to)) return Math.trunc(x);
  if (to === DataType.FLOAT) return Math.fround(x);
  return x;
}

const cast: Rule = (ctx) => {
  const x = ctx.input(0);
  const to = attrInt(ctx.node, 'to', 0);
  if (!x) return [{ dtype: to }];
  return [withValue(to, x.shape, elementwiseValue([x], x.shape, ([a]) => castValue(a!, to)))];
};

const castLike: Rule = (ctx) => {
  const x = ctx.input(0);
  const to = ctx.dtype(1);
  if (!x) return [{ dtype: to }];
  return [withValue(to, x.shape, to ? elementwiseValue([x], x.shape, ([a]) => castValue(a!, to)) : undefined)];
};

const identity: Rule = (ctx) => [ctx.input(0)];

const dropout: Rule = (ctx) => {
  const x = ctx.input(0);
  // The mask is bool since opset 10 (before, the input's type).
  return [x && { dtype: x.dtype, shape: x.shape }, x && { dtype: ctx.opset >= 10 ? DataType.BOOL : x.dtype, shape: x.shape }];
};

const where: Rule = (ctx) => {
  const ins = [ctx.input(0), ctx.input(1), ctx.input(2)];
  const dtype = ctx.dtype(1) || ctx.dtype(2);
  const shape = broadcastAll(ins.map((x) => x?.shape));
  const pick = ([c, a, b]: Dim[]) => (num(c!) ? (c ? a : b) : a === b ? a : undefined);
  // Without the condition's contents the value is still known where both branches agree.
  const value = ins[0]?.value ? elementwiseValue(ins, shape, pick) : elementwiseValue([ins[1], ins[2]], shape, ([a, b]) => (a === b ? a : undefined));
  return [withValue(dtype, shape, value)];
};

const clip: Rule = (ctx) => {
  const x = ctx.input(0);
  if (!x) return [undefined];
  // Clip's bounds (attributes before 11, inputs since) do not change the shape; the value is clipped where numbers.
  const lo = ctx.opset >= 11 ? ctx.numbers(1)?.[0] : undefined;
  const hi = ctx.opset >= 11 ? ctx.numbers(2)?.[0] : undefined;
  return [withValue(x.dtype, x.shape, elementwiseValue([x], x.shape, ([a]) => (num(a!) ? Math.min(hi ?? Infinity, Math.max(lo ?? -Infinity, a)) : lo === undefined && hi === undefined ? a : undefined)))];
};

const boolOfInput: Rule = (ctx) => {
  const x = ctx.input(0);
  return [x && { dtype: DataType.BOOL, shape: x.shape }];
};

const notRule: Rule = (ctx) => {
  const x = ctx.input(0);
  if (!x) return [undefined];
  return [withValue(DataType.BOOL, x.shape, elementwiseValue([x], x.shape, ([a]) => (num(a!) ? (a ? 0 : 1) : undefined)))];
};

/** Ops whose output has the type and shape of input 0, whatever their attributes. */
const SHAPE_PRESERVING = [
  'Relu', 'LeakyRelu', 'Elu', 'Selu', 'Celu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Softplus', 'Softsign', 'Tanh', 'Erf',
  'Sqrt', 'Exp', 'Log', 'Reciprocal', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh',
  'Mish', 'ThresholdedRelu', 'Shrink', 'Gelu', 'Softmax', 'LogSoftmax', 'Hardmax', 'Trilu', 'CumSum', 'LRN', 'MeanVarianceNormalization',
  'LpNormalization', 'Round', 'BitwiseNot', 'Swish',
];

const table: Record<string, Rule> = {};
for (const op of SHAPE_PRESERVING) table[op] = keep;

export const elementwiseRules: RuleTable = {
  ...table,
  Neg: unaryValue((x) => (num(x) ? -x : dimSub(0, x))),
  Abs: unaryValue((x) => (num(x) ? Math.abs(x) : x)),
  Floor: unaryValue((x) => (num(x) ? Math.floor(x) : undefined)),
  Ceil: unaryValue((x) => (num(x) ? Math.ceil(x) : undefined)),
  Sign: unaryValue((x) => (num(x) ? Math.sign(x) : undefined)),
  Add: arith((a, b) => (num(a) && num(b) ? a + b : dimAdd(a, b))),
  Sub: arith((a, b) => (num(a) && num(b) ? a - b : dimSub(a, b))),
  Mul: arith((a, b) => (num(a) && num(b) ? a * b : dimMul(a, b))),
  Div: arith(divide),
  Mod: arith((a, b) => (num(a) && num(b) && b !== 0 ? a - Math.floor(a / b) * b : undefined)),
  Pow: broadcastOp((ctx) => ctx.dtype(0), ([a, b]) => (num(a!) && num(b!) ? a ** b : undefined)),
  PRelu: broadcastOp((ctx) => ctx.dtype(0)),
  BitShift: arith(() => undefined),
  BitwiseAnd: arith(() => undefined),
  BitwiseOr: arith(() => undefined),
  BitwiseXor: arith(() => undefined),
  Equal: boolOut(compare((a, b) => a === b, DECIDE.equal)),
  Less: boolOut(compare((a, b) => a < b, DECIDE.less)),
  Greater: boolOut(compare((a, b) => a > b, DECIDE.greater)),
  LessOrEqual: boolOut(compare((a, b) => a <= b, DECIDE.lessOrEqual)),
  GreaterOrEqual: boolOut(compare((a, b) => a >= b, DECIDE.greaterOrEqual)),
  And: boolOut(compare((a, b) => !!a && !!b)),
  Or: boolOut(compare((a, b) => !!a || !!b)),
  Xor: boolOut(compare((a, b) => !!a !== !!b)),
  Not: notRule,
  IsNaN: boolOfInput,
  IsInf: boolOfInput,
  Where: where,
  Min: variadic(numeric(Math.min)),
  Max: variadic(numeric(Math.max)),
  Sum: variadic((xs) => xs.reduce<Dim | undefined>((acc, x) => (acc === undefined ? undefined : dimAdd(acc, x)), 0)),
  Mean: variadic(),
  Clip: clip,
  Cast: cast,
  CastLike: castLike,
  Identity: identity,
  Dropout: dropout,
  'com.microsoft:Gelu': keep,
  'com.microsoft:FastGelu': broadcastOp((ctx) => ctx.dtype(0)),
  'com.microsoft:BiasGelu': broadcastOp((ctx) => ctx.dtype(0)),
  'com.microsoft:QuickGelu': keep,
};
