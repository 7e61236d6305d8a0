/**
 * Undoing broadcasting: a gradient computed at the broadcast (output) shape is summed back to
 * the shape of the input that was broadcast. Statically when both shapes are known (one
 * ReduceSum, or nothing), otherwise in-graph from Shape() so symbolic and unknown dims work.
 */
import type { Dim } from '../shapes/dim.ts';
import type { Emitter } from '../graph/emitter.ts';
import { makeTensor } from '../onnx/tensor.ts';
import { DataType } from '../onnx/dtype.ts';

/** Axes of `from` to sum so it becomes `to`: [] for none, undefined when the shapes cannot tell. */
export function staticReductionAxes(from: readonly Dim[], to: readonly Dim[]): number[] | undefined {
  const lead = from.length - to.length;
  if (lead < 0) return undefined;
  const axes: number[] = [];
  for (let i = 0; i < lead; i++) axes.push(i);
  for (let i = 0; i < to.length; i++) {
    const t = to[i]!;
    const f = from[lead + i]!;
    // Anonymous dims ('?n') are unknown: two of them are not known to be equal.
    if (t === f && !(typeof t === 'string' && t.startsWith('?'))) continue;
    if (t === 1) {
      axes.push(lead + i);
      continue;
    }
    // A known size other than 1 was not broadcast (it equals the output's size).
    if (typeof t === 'number') continue;
    // A symbolic input dim against a different output dim: it may be 1 at run time.
    return undefined;
  }
  return axes;
}

/**
 * Sums `grad` (shaped like the value `gradShapeOf`, or of that shape when it is one) down to
 * the shape of `target`. Returns `grad` itself when no reduction is needed.
 */
export function sumToShape(e: Emitter, grad: string, gradShapeOf: string | readonly Dim[], target: string): string {
  if (gradShapeOf === target) return grad;
  const from = (typeof gradShapeOf === 'string' ? e.shape(gradShapeOf) : gradShapeOf) ?? e.shape(grad);
  const to = e.shape(target);
  if (from && to) {
    const axes = staticReductionAxes(from, to);
    if (axes) {
      if (axes.length === 0) return e.sameTypeAs(grad, target);
      const lead = from.length - to.length;
      const innerAxes = axes.filter((a) => a >= lead);
      if (innerAxes.length === 0) return e.sameTypeAs(e.reduceSum(grad, axes, false), target);
      let r = e.reduceSum(grad, axes, true);
      if (lead > 0) r = e.squeeze(r, axes.slice(0, lead));
      return e.sameTypeAs(r, target);
    }
  }
  if (e.opset < 13 && from && to) return sumToShapeAxisByAxis(e, grad, from, to, target);
  e.requireOpset(13, 'summing a gradient back over broadcast dimensions whose ranks are not known statically');
  const gradShape = e.shapeOf(grad);
  const targetShape = e.shapeOf(target);
  let padded: string;
  const rf = from?.length;
  const rt = to?.length;
  if (rf !== undefined && rt !== undefined) {
    padded = rf === rt ? targetShape : e.op('Concat', [e.ints(new Array(rf - rt).fill(1)), targetShape], { axis: 0 });
  } else {
    // Right-align target's shape to grad's rank: [1]*rank(grad) ++ shape(target), keep the
    // last rank(grad) entries. (A ConstantOfShape of the rank difference would be shorter, but
    // ORT's shape inference mis-propagates it.)
    const onesOfGradRank = e.op('Add', [e.op('Mul', [gradShape, e.int(0)]), e.int(1)]);
    const start = e.op('Neg', [e.unsqueeze(e.op('Size', [gradShape]), [0])]);
    padded = e.op('Slice', [e.op('Concat', [onesOfGradRank, targetShape], { axis: 0 }), start, e.ints([Number.MAX_SAFE_INTEGER])]);
  }
  const one = e.int(1);
  const broadcastAxes = e.op('And', [e.op('Equal', [padded, one]), e.op('Not', [e.op('Equal', [gradShape, one])])]);
  const axes = e.op('Reshape', [e.op('NonZero', [broadcastAxes]), e.ints([-1])]);
  const summed = e.reduceSum(grad, axes, true);
  return e.reshapeLike(summed, target);
}

/**
 * Before opset 13 ReduceSum takes its axes as an attribute, so the axes cannot be computed in
 * the graph. With both ranks known, every axis is decided statically except those where a
 * symbolic input dim meets a different output dim (the input dim may be 1 at run time). For
 * each such axis k: r = Where(dim_k(target) == 1, Expand(ReduceSum_k(g), Shape(g)), g), then
 * Gather(r, 0 .. dim_k(target) - 1) on axis k keeps one copy of the sum when the dim was 1 and
 * all of g when it was not. The indices come from NonZero(ConstantOfShape(dim, 1)): every op
 * used exists from opset 9 on.
 */
function sumToShapeAxisByAxis(e: Emitter, grad: string, from: readonly Dim[], to: readonly Dim[], target: string): string {
  const lead = from.length - to.length;
  if (lead < 0) throw new Error(`internal error: gradient of rank ${from.length} summed to rank ${to.length}`);
  const fixed: number[] = [];
  const ambiguous: number[] = [];
  to.forEach((t, i) => {
    const f = from[lead + i]!;
    if (t === f && !(typeof t === 'string' && t.startsWith('?'))) return;
    if (t === 1) fixed.push(i);
    else if (typeof t !== 'number') ambiguous.push(i);
  });
  let g = lead > 0 ? e.reduceSum(grad, [...Array(lead).keys()], false) : grad;
  if (fixed.length) g = e.reduceSum(g, fixed, true);
  for (const k of ambiguous) {
    const size = e.dimOf(target, k);
    const summed = e.op('Expand', [e.reduceSum(g, [k], true), e.shapeOf(g)]);
    const chosen = e.op('Where', [e.op('Equal', [size, e.ints([1])]), summed, g]);
    const indices = e.op('Reshape', [e.op('NonZero', [e.op('ConstantOfShape', [size], { value: makeTensor('', DataType.INT64, [1], BigInt64Array.of(1n)) })]), e.ints([-1])]);
    g = e.op('Gather', [chosen, indices], { axis: k });
  }
  return e.sameTypeAs(g, target);
}
