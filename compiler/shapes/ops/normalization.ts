/**
 * Normalizations: LayerNormalization (with its mean / inv_std_dev outputs), RMSNormalization,
 * BatchNormalization (inference and training-mode outputs), InstanceNormalization,
 * GroupNormalization, and com.microsoft's SkipLayerNormalization and SimplifiedLayerNormalization.
 */
import { DataType } from '../../onnx/dtype.ts';
import { layerNormAttributes } from '../../ops/attributes.ts';
import type { Dim } from '../dim.ts';
import { broadcastShapes, normalizeAxis, sameAs } from '../helpers.ts';
import type { Inferred, Rule, RuleTable } from '../rule.ts';

/** The statistics' shape: the normalized axes (axis..end) become 1. */
function statsShape(shape: Dim[] | undefined, axis: number): Dim[] | undefined {
  if (!shape) return undefined;
  const a = normalizeAxis(axis, shape.length);
  return shape.map((d, i) => (i < a ? d : 1));
}

const layerNorm: Rule = (ctx) => {
  const x = ctx.input(0);
  if (!x) return [undefined];
  const { stashType: stash, axis } = layerNormAttributes(ctx.node);
  const stats: Inferred = { dtype: stash === 1 ? DataType.FLOAT : stash || DataType.FLOAT, shape: statsShape(x.shape, axis) };
  return [{ dtype: x.dtype, shape: x.shape }, stats, stats];
};

const rmsNorm: Rule = (ctx) => [sameAs(ctx, 0)];

/** com.microsoft SimplifiedLayerNormalization (RMSNorm): output, then inv_std_var. */
const simplifiedLayerNorm: Rule = (ctx) => {
  const x = ctx.input(0);
  if (!x) return [undefined];
  return [{ dtype: x.dtype, shape: x.shape }, { dtype: DataType.FLOAT, shape: statsShape(x.shape, layerNormAttributes(ctx.node).axis) }];
};

/** com.microsoft SkipLayerNormalization: output, mean, inv_std_var, input+skip(+bias). */
const skipLayerNorm: Rule = (ctx) => {
  const x = ctx.input(0);
  if (!x) return [undefined];
  const shape = x.shape && ctx.shape(1) ? broadcastShapes(x.shape, ctx.shape(1)!) : x.shape;
  const stats: Inferred = { dtype: DataType.FLOAT, shape: statsShape(shape, -1) };
  return [{ dtype: x.dtype, shape }, stats, stats, { dtype: x.dtype, shape }];
};

const skipSimplifiedLayerNorm: Rule = (ctx) => {
  const outs = skipLayerNorm(ctx);
  return [outs[0], outs[1], outs[2], outs[3]];
};

const batchNorm: Rule = (ctx) => {
  const x = ctx.input(0);
  if (!x) return [undefined];
  const c: Dim[] | undefined = x.shape && x.shape.length > 1 ? [x.shape[1]!] : ctx.shape(1);
  const stat: Inferred = { dtype: ctx.dtype(3) || x.dtype, shape: c };
  // Opset 14+: training_mode outputs running_mean, running_var. Opset < 12 had saved_mean/var too.
  return [{ dtype: x.dtype, shape: x.shape }, stat, stat, stat, stat];
};

export const normalizationRules: RuleTable = {
  LayerNormalization: layerNorm,
  RMSNormalization: rmsNorm,
  BatchNormalization: batchNorm,
  InstanceNormalization: rmsNorm,
  GroupNormalization: rmsNorm,
  'com.microsoft:SkipLayerNormalization': skipLayerNorm,
  'com.microsoft:SkipSimplifiedLayerNormalization': skipSimplifiedLayerNorm,
  'com.microsoft:SimplifiedLayerNormalization': simplifiedLayerNorm,
  'com.microsoft:LayerNormalization': layerNorm,
};
