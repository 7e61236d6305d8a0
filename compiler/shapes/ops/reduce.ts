/**
 * Reductions: ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare, ArgMax/ArgMin.
 * Attributes (and the opsets at which axes became an input) are ops/attributes.ts's; an
 * empty or absent axes list means "all axes" unless noop_with_empty_axes is set.
 */
import { DataType } from '../../onnx/dtype.ts';
import { attrInt } from '../../graph/attributes.ts';
import { reduceAttributes } from '../../ops/attributes.ts';
import { dimProduct, type Dim } from '../dim.ts';
import { normalizeAxis, operandNumbers, withValue } from '../helpers.ts';
import type { Rule, RuleTable } from '../rule.ts';

function reducedShape(shape: readonly Dim[], axes: number[] | undefined, keepdims: boolean, noopWithEmpty: boolean): Dim[] {
  if (!axes || axes.length === 0) {
    if (noopWithEmpty) return [...shape];
    axes = shape.map((_, i) => i);
  }
  const set = new Set(axes.map((a) => normalizeAxis(a, shape.length)));
  const out: Dim[] = [];
  shape.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

function reduce(): Rule {
  return (ctx) => {
    const x = ctx.input(0);
    if (!x) return [undefined];
    const { keepdims, noopWithEmptyAxes: noop, axes: operand } = reduceAttributes(ctx.node, ctx.opset);
    const axes = operandNumbers(ctx, operand);
    if (!x.shape) return [{ dtype: x.dtype }];
    if (axes === 'unknown') {
      // Axes computed at run time: with keepdims the rank is still known, each dim either kept or 1.
      return [{ dtype: x.dtype, shape: keepdims ? x.shape.map((d) => (d === 1 ? 1 : ctx.fresh('reduced'))) : undefined }];
    }
    const shape = reducedShape(x.shape, axes, keepdims, noop);
    // ReduceProd over a shape vector is how some exports compute an element count.
    let value: Dim[] | undefined;
    if (ctx.node.opType === 'ReduceProd' && x.value && x.shape.length === 1 && shape.length <= 1 && !(noop && (!axes || axes.length === 0))) {
      value = [dimProduct(x.value)];
    }
    return [withValue(x.dtype, shape, value)];
  };
}

function argReduce(): Rule {
  return (ctx) => {
    const x = ctx.shape(0);
    if (!x) return [{ dtype: DataType.INT64 }];
    const axis = normalizeAxis(attrInt(ctx.node, 'axis', 0), x.length);
    return [{ dtype: DataType.INT64, shape: reducedShape(x, [axis], attrInt(ctx.node, 'keepdims', 1) !== 0, false) }];
  };
}

export const reduceRules: RuleTable = {
  ReduceSum: reduce(),
  ReduceMean: reduce(),
  ReduceMax: reduce(),
  ReduceMin: reduce(),
  ReduceProd: reduce(),
  ReduceL1: reduce(),
  ReduceL2: reduce(),
  ReduceLogSum: reduce(),
  ReduceLogSumExp: reduce(),
  ReduceSumSquare: reduce(),
  ArgMax: argReduce(),
  ArgMin: argReduce(),
};
