/**
 * Normalisation ops with their backward written in plain ops. Over the normalised axes,
 * with xhat the normalised input and dxhat = dy * scale:
 *   LayerNorm: dx = invstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat))
 *   RMSNorm:   dx = invrms (dxhat - xhat mean(dxhat xhat))
 *   dScale = sum(dy xhat), dBias = sum(dy) over the other axes.
 * The decomposed forms (ReduceMean / Sub / Pow / Sqrt / Div chains) need nothing here: they
 * differentiate through the elementwise and reduce rules.
 */
import { DataType } from '../onnx/dtype.ts';
import type { GradContext } from './context.ts';
import type { RuleTable } from './rule.ts';
import { layerNormAttributes } from '../ops/attributes.ts';

/** The normalised axes [axis, rank): all negative when axis is, so the rank need not be known. */
function normalizedAxes(g: GradContext): number[] {
  const { axis } = layerNormAttributes(g.node);
  if (axis < 0) return Array.from({ length: -axis }, (_, i) => axis + i);
  const r = g.rank(g.x());
  if (r === undefined) g.unsupported(`${g.node.opType} with a non-negative axis on an input of unknown rank (run shape inference first)`);
  return Array.from({ length: r - axis }, (_, i) => axis + i);
}

/**
 * Whether the forward kernel's statistics (outputs 1 and 2) serve the backward: float32 ones
 * do; stashed as float32 they would cost a double (or half) input its precision.
 */
function usesSavedStatistics(g: GradContext): boolean {
  return g.dtype(g.x()) === DataType.FLOAT && layerNormAttributes(g.node).stashType === 1;
}

/**
 * Whether the input gradient may be computed in the expanded form (x b + c with per-row b, c):
 * in float32 and float64. Its terms grow as invstd^3 and cancel (x b against mu b), which a
 * half type's range and precision do not survive where a row's spread is small (invstd^3 passes
 * 65504 at a standard deviation of 0.025); there the factored form, over xhat, is kept.
 */
function expandsWell(g: GradContext): boolean {
  const dt = g.dtype(g.x());
  return dt === DataType.FLOAT || dt === DataType.DOUBLE;
}

function layerNormGrad(g: GradContext): (string | false)[] {
  const x = g.x();
  const axes = normalizedAxes(g);
  const mean = (v: string) => g.reduceMean(v, axes, true);
  let mu: string;
  let invstd: string;
  if (usesSavedStatistics(g)) {
    // The forward kernel's saved statistics.
    mu = g.y(1);
    invstd = g.y(2);
  } else {
    mu = mean(x);
    const centered = g.sub(x, mu);
    invstd = g.op('Reciprocal', [g.op('Sqrt', [g.add(mean(g.mul(centered, centered)), g.c(layerNormAttributes(g.node).epsilon))])]);
  }
  const xhat = () => g.like(g.mul(g.sub(x, mu), invstd), x);
  const dx = () => {
    const d = g.mul(g.dy(), g.x(1));
    if (!expandsWell(g)) {
      const xh = xhat();
      return g.like(g.mul(invstd, g.sub(g.sub(d, mean(d)), g.mul(xh, mean(g.mul(d, xh))))), x);
    }
    // invstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) with xhat = (x - mu) invstd expanded:
    //   dx = dxhat invstd + x b + c,  b = invstd^3 (mu mean(dxhat) - mean(dxhat x)),
    //                                 c = -mu b - invstd mean(dxhat),
    // b and c one number per normalised row. Four passes over the input's size after the two
    // reductions, where the factored form takes six, and xhat is never formed (as PyTorch's
    // CPU kernel computes it).
    const meanDxhat = mean(d);
    const b = g.mul(g.mul(invstd, g.mul(invstd, invstd)), g.sub(g.mul(mu, meanDxhat), mean(g.mul(d, x))));
    const c = g.neg(g.add(g.mul(mu, b), g.mul(invstd, meanDxhat)));
    return g.like(g.add(g.add(g.mul(d, invstd), g.mul(x, b)), c), x);
  };
  return [g.needs(0) && dx(), g.needs(1) && g.sumTo(g.like(g.mul(g.dy(), xhat()), x), 1, x), g.has(2) && g.needs(2) && g.sumTo(g.dy(), 2)];
}

function rmsNormGrad(g: GradContext): (string | false)[] {
  const x = g.x();
  const axes = normalizedAxes(g);
  const mean = (v: string) => g.reduceMean(v, axes, true);
  const invrms = g.op('Reciprocal', [g.op('Sqrt', [g.add(mean(g.mul(x, x)), g.c(layerNormAttributes(g.node).epsilon))])]);
  const dx = () => {
    const dxhat = g.mul(g.dy(), g.x(1));
    if (!expandsWell(g)) {
      const xhat = g.like(g.mul(x, invrms), x);
      return g.like(g.mul(invrms, g.sub(dxhat, g.mul(xhat, mean(g.mul(dxhat, xhat))))), x);
    }
    // invrms (dxhat - xhat mean(dxhat xhat)) with xhat = x invrms: dxhat invrms + x b,
    // b = -invrms^3 mean(dxhat x) one number per normalised row.
    const b = g.neg(g.mul(g.mul(invrms, g.mul(invrms, invrms)), mean(g.mul(dxhat, x))));
    return g.like(g.add(g.mul(dxhat, invrms), g.mul(x, b)), x);
  };
  return [g.needs(0) && dx(), g.needs(1) && g.sumTo(g.like(g.mul(g.dy(), g.like(g.mul(x, invrms), x)), x), 1, x)];
}

/** BatchNormalization in inference mode (running statistics as inputs): an affine map per channel. */
function batchNormGrad(g: GradContext): (string | false)[] {
  if (g.int('training_mode', 0) === 1 || g.node.outputs.filter(Boolean).length > 1) g.unsupported('BatchNormalization in training mode');
  const x = g.x();
  const r = g.rank(x);
  if (r === undefined) g.unsupported('BatchNormalization on an input of unknown rank (run shape inference first)');
  const perChannel = (v: string) => (r > 2 ? g.unsqueeze(v, Array.from({ length: r - 2 }, (_, i) => i + 1)) : v);
  const others = [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2)];
  const [scale, mean, variance] = [g.x(1), g.x(3), g.x(4)];
  const inv = g.op('Reciprocal', [g.op('Sqrt', [g.add(variance, g.c(g.float('epsilon', 1e-5)))])]);
  const centered = g.sub(x, perChannel(mean));
  const dyScaled = g.mul(g.dy(), perChannel(g.mul(scale, inv)));
  return [
    g.needs(0) && dyScaled,
    g.needs(1) && g.reduceSum(g.mul(g.dy(), g.mul(centered, perChannel(inv))), others, false),
    g.needs(2) && g.reduceSum(g.dy(), others, false),
    g.needs(3) && g.neg(g.reduceSum(dyScaled, others, false)),
    // d/dvar of (x - mean) scale (var + eps)^-1/2 = -1/2 (x - mean) scale inv^3
    g.needs(4) && g.reduceSum(g.mul(g.mul(g.dy(), centered), perChannel(g.mul(g.mul(scale, g.c(-0.5)), g.mul(inv, g.mul(inv, inv))))), others, false),
  ];
}

export const normalizationRules: RuleTable = {
  LayerNormalization: { saves: (g) => (usesSavedStatistics(g) ? [1, 2] : []), grad: layerNormGrad },
  RMSNormalization: { grad: rmsNormGrad },
  BatchNormalization: { grad: batchNormGrad },
};
