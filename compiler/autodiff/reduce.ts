/**
 * Reductions. Axes come from an attribute or from input 1 (constant or computed), by opset
 * (ops/attributes.ts reads them, with keepdims and noop_with_empty_axes). The gradient is the output gradient put back at
 * the reduced axes (Unsqueeze when keepdims = 0) and expanded to the input's shape.
 */
import { dimDivExact, dimProduct } from '../shapes/dim.ts';
import type { GradContext } from './context.ts';
import type { RuleTable } from './rule.ts';
import { reduceAttributes } from '../ops/attributes.ts';

type Axes = { kind: 'all' } | { kind: 'none' } | { kind: 'list'; axes: number[] } | { kind: 'tensor'; axes: string };

function reductionAxes(g: GradContext): Axes {
  const { axes: operand, noopWithEmptyAxes } = reduceAttributes(g.node, g.opset);
  const axes = g.operandInts(operand);
  if (operand.kind === 'input' && !axes) return { kind: 'tensor', axes: operand.value };
  if (!axes || axes.length === 0) return noopWithEmptyAxes ? { kind: 'none' } : { kind: 'all' };
  return { kind: 'list', axes };
}

function keepsDims(g: GradContext): boolean {
  return reduceAttributes(g.node, g.opset).keepdims;
}

/** v (shaped like the reduction's output) broadcast back to the shape of input 0. */
function expandBack(g: GradContext, v: string, axes: Axes): string {
  if (axes.kind === 'none') return v;
  let kept = v;
  if (!keepsDims(g) && axes.kind !== 'all') {
    kept = axes.kind === 'list' ? g.unsqueeze(v, axes.axes) : g.op('Unsqueeze', [v, axes.axes]);
  }
  return g.like(g.op('Expand', [kept, g.shapeTensor(g.x())]), g.x());
}

/** Number of input elements per output element, as a scalar of the input's type. */
function groupSize(g: GradContext): string {
  const xs = g.shape(g.x());
  const ys = g.shape(g.y());
  // Symbolic dims usually cancel ([batch, seq, 768] over [batch, seq, 1]): a constant then, and
  // the backward does not read x, which would keep it alive for its size alone.
  const n = xs && ys ? dimDivExact(dimProduct(xs), dimProduct(ys)) : undefined;
  if (typeof n === 'number') return g.c(n);
  return g.castLike(g.div(g.op('Size', [g.x()]), g.op('Size', [g.y()])), g.x());
}

/** Gradient of ReduceMax / ReduceMin: to the elements equal to the result, shared among ties. */
function extremumGrad(g: GradContext): string[] {
  const axes = reductionAxes(g);
  const hitTyped = g.castLike(g.op('Equal', [g.x(), expandBack(g, g.y(), axes)]), g.x());
  const ties = axes.kind === 'none' ? hitTyped : sumLike(g, hitTyped, axes);
  return [g.div(g.mul(hitTyped, expandBack(g, g.dy(), axes)), expandBack(g, ties, axes))];
}

/** The same reduction as the node (sum), applied to v shaped like x. */
function sumLike(g: GradContext, v: string, axes: Axes): string {
  const keep = keepsDims(g);
  if (axes.kind === 'all') return g.reduceSum(v, undefined, keep);
  if (axes.kind === 'list') return g.reduceSum(v, axes.axes, keep);
  if (axes.kind === 'tensor') return g.reduceSum(v, axes.axes, keep);
  return v;
}

export const reduceRules: RuleTable = {
  ReduceSum: { grad: (g) => [expandBack(g, g.dy(), reductionAxes(g))] },
  ReduceMean: {
    grad: (g) => {
      const axes = reductionAxes(g);
      return [axes.kind === 'none' ? g.dy() : g.div(expandBack(g, g.dy(), axes), groupSize(g))];
    },
  },
  // y = sum x^2: dx = 2 x dy
  ReduceSumSquare: { grad: (g) => [g.mul(g.mul(g.x(), g.c(2)), expandBack(g, g.dy(), reductionAxes(g)))] },
  // y = sqrt(sum x^2): dx = x dy / y
  ReduceL2: {
    grad: (g) => {
      const axes = reductionAxes(g);
      return [g.div(g.mul(g.x(), expandBack(g, g.dy(), axes)), expandBack(g, g.y(), axes))];
    },
  },
  // y = log sum exp x: dx = exp(x - y) dy
  ReduceLogSumExp: {
    grad: (g) => {
      const axes = reductionAxes(g);
      return [g.mul(g.op('Exp', [g.sub(g.x(), expandBack(g, g.y(), axes))]), expandBack(g, g.dy(), axes))];
    },
  },
  // A running sum's gradient is the running sum of dy in the other direction.
  CumSum: { grad: (g) => [g.like(g.op('CumSum', [g.dy(), g.x(1)], { exclusive: g.int('exclusive', 0), reverse: 1 - g.int('reverse', 0) }), g.x())] },
  ReduceMax: { grad: extremumGrad },
  ReduceMin: { grad: extremumGrad },
};
