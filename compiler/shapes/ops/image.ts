/**
 * Image and detection ops: Resize/Upsample (scales or sizes, keep_aspect_ratio_policy),
 * GridSample, AffineGrid, RoiAlign, MaxUnpool, NonMaxSuppression, CenterCropPad.
 */
import { DataType } from '../../onnx/dtype.ts';
import { attrFloats, attrInt, attrInts, attrString } from '../../graph/attributes.ts';
import { dimAdd, dimMul, dimSub, type Dim } from '../dim.ts';
import { normalizeAxis } from '../helpers.ts';
import type { Rule, RuleContext, RuleTable } from '../rule.ts';

/** ORT computes floor(in * scale) in float32. */
function scaled(d: Dim, scale: number): Dim | undefined {
  if (scale === 1) return d;
  if (typeof d !== 'number') return Number.isInteger(scale) ? dimMul(d, scale) : undefined;
  return Math.floor(Math.fround(Math.fround(scale) * d));
}

function resizeShape(ctx: RuleContext, x: Dim[], scales: number[] | undefined, sizes: number[] | undefined): Dim[] {
  const rank = x.length;
  const axes = (attrInts(ctx.node, 'axes') ?? x.map((_, i) => i)).map((a) => normalizeAxis(a, rank));
  const out = [...x];
  if (sizes) {
    const policy = attrString(ctx.node, 'keep_aspect_ratio_policy', 'stretch');
    if (policy !== 'stretch') {
      if (!axes.every((a) => typeof x[a] === 'number')) return out.map((d, i) => (axes.includes(i) ? ctx.fresh('resize') : d));
      const ratios = axes.map((a, k) => sizes[k]! / (x[a] as number));
      const scale = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
      axes.forEach((a) => (out[a] = Math.round(scale * (x[a] as number))));
      return out;
    }
    axes.forEach((a, k) => (out[a] = sizes[k]!));
    return out;
  }
  if (!scales) return out.map(() => ctx.fresh('resize'));
  axes.forEach((a, k) => (out[a] = scaled(x[a]!, scales[k]!) ?? ctx.fresh('resize')));
  return out;
}

const resize: Rule = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return [x && { dtype: x.dtype }];
  let scales: number[] | undefined, sizes: number[] | undefined;
  if (ctx.opset < 11) scales = ctx.numbers(1);
  else {
    const sc = ctx.numbers(2);
    if (sc && sc.length > 0) scales = sc;
    else if (ctx.present(3)) sizes = ctx.numbers(3);
  }
  return [{ dtype: x.dtype, shape: resizeShape(ctx, x.shape, scales, sizes) }];
};

const upsample: Rule = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return [x && { dtype: x.dtype }];
  const scales = ctx.opset >= 9 ? ctx.numbers(1) : attrFloats(ctx.node, 'scales');
  return [{ dtype: x.dtype, shape: resizeShape(ctx, x.shape, scales, undefined) }];
};

const gridSample: Rule = (ctx) => {
  const x = ctx.shape(0), grid = ctx.shape(1);
  const dtype = ctx.dtype(0);
  if (!x || !grid) return [{ dtype }];
  return [{ dtype, shape: [x[0]!, x[1]!, ...grid.slice(1, -1)] }];
};

const affineGrid: Rule = (ctx) => {
  const size = ctx.value(1);
  const dtype = ctx.dtype(0);
  if (!size) return [{ dtype }];
  const spatial = size.slice(2);
  return [{ dtype, shape: [size[0]!, ...spatial, spatial.length] }];
};

const roiAlign: Rule = (ctx) => {
  const x = ctx.shape(0), rois = ctx.shape(1);
  const dtype = ctx.dtype(0);
  if (!x || !rois) return [{ dtype }];
  return [{ dtype, shape: [rois[0]!, x[1]!, attrInt(ctx.node, 'output_height', 1), attrInt(ctx.node, 'output_width', 1)] }];
};

const maxUnpool: Rule = (ctx) => {
  const x = ctx.shape(0);
  const dtype = ctx.dtype(0);
  if (!x) return [{ dtype }];
  const given = ctx.present(2) ? ctx.value(2) : undefined;
  if (given) return [{ dtype, shape: given }];
  if (ctx.present(2)) return [{ dtype, shape: x.map(() => ctx.fresh('unpool')) }];
  const kernel = attrInts(ctx.node, 'kernel_shape');
  if (!kernel) return [{ dtype }];
  const n = kernel.length;
  const strides = attrInts(ctx.node, 'strides') ?? Array(n).fill(1);
  const pads = attrInts(ctx.node, 'pads') ?? Array(2 * n).fill(0);
  const spatial = x.slice(2).map((d, i) => dimSub(dimAdd(dimMul(dimSub(d, 1), strides[i]!), kernel[i]!), pads[i]! + pads[i + n]!));
  return [{ dtype, shape: [x[0]!, x[1]!, ...spatial] }];
};

const nms: Rule = (ctx) => [{ dtype: DataType.INT64, shape: [ctx.fresh('nms'), 3] }];

const centerCropPad: Rule = (ctx) => {
  const x = ctx.shape(0);
  const dtype = ctx.dtype(0);
  const target = ctx.value(1);
  if (!x || !target) return [{ dtype }];
  const axes = (attrInts(ctx.node, 'axes') ?? x.map((_, i) => i)).map((a) => normalizeAxis(a, x.length));
  const out = [...x];
  axes.forEach((a, k) => (out[a] = target[k]!));
  return [{ dtype, shape: out }];
};

export const imageRules: RuleTable = {
  Resize: resize,
  Upsample: upsample,
  GridSample: gridSample,
  AffineGrid: affineGrid,
  RoiAlign: roiAlign,
  MaxUnpool: maxUnpool,
  NonMaxSuppression: nms,
  CenterCropPad: centerCropPad,
};
