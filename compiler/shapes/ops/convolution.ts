/**
 * Sliding-window ops: Conv, ConvTranspose, ConvInteger, MaxPool, AveragePool, LpPool and the
 * global pools. Spatial sizes follow ONNX's formulas for explicit pads, auto_pad
 * (SAME_UPPER / SAME_LOWER / VALID), strides, dilations and ceil_mode.
 */
import { DataType } from '../../onnx/dtype.ts';
import { attrInt, attrInts, attrString } from '../../graph/attributes.ts';
import { dimAdd, dimFloorDiv, dimMul, dimSub, type Dim } from '../dim.ts';
import type { Rule, RuleContext, RuleTable } from '../rule.ts';
import { ShapeContradiction } from '../rule.ts';

function ceilDiv(a: Dim, b: number): Dim | undefined {
  if (typeof a === 'number') return Math.ceil(a / b);
  return b === 1 ? a : undefined;
}

/** Output spatial sizes of a window of `kernel` sliding over `spatial`. */
function windowOutput(ctx: RuleContext, spatial: Dim[], kernel: number[], ceilMode: boolean): Dim[] {
  const n = spatial.length;
  const strides = attrInts(ctx.node, 'strides') ?? Array(n).fill(1);
  const dilations = attrInts(ctx.node, 'dilations') ?? Array(n).fill(1);
  const autoPad = attrString(ctx.node, 'auto_pad', 'NOTSET');
  const pads = attrInts(ctx.node, 'pads') ?? Array(2 * n).fill(0);
  return spatial.map((d, i) => {
    const s = strides[i]!, dil = dilations[i]!, k = kernel[i]!;
    const extent = (k - 1) * dil + 1;
    let out: Dim | undefined;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') out = ceilDiv(d, s);
    else if (autoPad === 'VALID') {
      const span = dimSub(d, extent - 1);
      out = ceilDiv(span, s);
    } else {
      const span = dimSub(dimAdd(d, pads[i]! + pads[i + n]!), extent);
      if (typeof span === 'number') {
        out = (ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
        // A last window that would start inside the end padding is dropped (ONNX, PyTorch).
        if (ceilMode && (out - 1) * s >= (d as number) + pads[i]!) out--;
      } else {
        const q = dimFloorDiv(span, s);
        out = q === undefined ? undefined : dimAdd(q, 1);
      }
    }
    if (typeof out === 'number' && out < 0) throw new ShapeContradiction('window larger than input');
    return out ?? ctx.fresh('conv');
  });
}

const conv = (outDtype?: number): Rule => (ctx) => {
  const x = ctx.shape(0), w = ctx.shape(1);
  const dtype = outDtype ?? ctx.dtype(0);
  if (!x || !w || x.length < 3) return [{ dtype }];
  const kernel = attrInts(ctx.node, 'kernel_shape') ?? (w.slice(2).every((d) => typeof d === 'number') ? (w.slice(2) as number[]) : undefined);
  if (!kernel) return [{ dtype, shape: [x[0]!, w[0]!, ...x.slice(2).map(() => ctx.fresh('conv'))] }];
  return [{ dtype, shape: [x[0]!, w[0]!, ...windowOutput(ctx, x.slice(2), kernel, false)] }];
};

const qlinearConv: Rule = (ctx) => {
  const x = ctx.shape(0), w = ctx.shape(3);
  const dtype = ctx.dtype(7);
  if (!x || !w || x.length < 3) return [{ dtype }];
  const kernel = attrInts(ctx.node, 'kernel_shape') ?? (w.slice(2) as number[]);
  return [{ dtype, shape: [x[0]!, w[0]!, ...windowOutput(ctx, x.slice(2), kernel, false)] }];
};

const convTranspose: Rule = (ctx) => {
  const x = ctx.shape(0), w = ctx.shape(1);
  const dtype = ctx.dtype(0);
  if (!x || !w || x.length < 3) return [{ dtype }];
  const n = x.length - 2;
  const group = attrInt(ctx.node, 'group', 1);
  const channels = dimMul(w[1]!, group);
  const outputShape = attrInts(ctx.node, 'output_shape');
  if (outputShape) return [{ dtype, shape: [x[0]!, channels, ...outputShape.slice(-n)] }];
  // The kernel comes from the weight when the attribute is absent: its dims may be symbols.
  const kernel: Dim[] = attrInts(ctx.node, 'kernel_shape') ?? w.slice(2);
  const strides = attrInts(ctx.node, 'strides') ?? Array(n).fill(1);
  const dilations = attrInts(ctx.node, 'dilations') ?? Array(n).fill(1);
  const outPad = attrInts(ctx.node, 'output_padding') ?? Array(n).fill(0);
  const pads = attrInts(ctx.node, 'pads') ?? Array(2 * n).fill(0);
  const autoPad = attrString(ctx.node, 'auto_pad', 'NOTSET');
  const spatial = x.slice(2).map((d, i) => {
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return dimMul(d, strides[i]!);
    const extent = dimAdd(dimMul(dimSub(kernel[i]!, 1), dilations[i]!), 1);
    const full = dimAdd(dimAdd(dimMul(dimSub(d, 1), strides[i]!), outPad[i]!), extent);
    return dimSub(full, autoPad === 'VALID' ? 0 : pads[i]! + pads[i + n]!);
  });
  return [{ dtype, shape: [x[0]!, channels, ...spatial] }];
};

const pool: Rule = (ctx) => {
  const x = ctx.shape(0);
  const dtype = ctx.dtype(0);
  if (!x || x.length < 3) return [{ dtype }, { dtype: DataType.INT64 }];
  const kernel = attrInts(ctx.node, 'kernel_shape');
  if (!kernel) return [{ dtype }, { dtype: DataType.INT64 }];
  const shape = [x[0]!, x[1]!, ...windowOutput(ctx, x.slice(2), kernel, attrInt(ctx.node, 'ceil_mode', 0) !== 0)];
  return [{ dtype, shape }, { dtype: DataType.INT64, shape }];
};

const globalPool: Rule = (ctx) => {
  const x = ctx.shape(0);
  const dtype = ctx.dtype(0);
  if (!x || x.length < 2) return [{ dtype }];
  return [{ dtype, shape: [x[0]!, x[1]!, ...x.slice(2).map(() => 1)] }];
};

export const convolutionRules: RuleTable = {
  Conv: conv(),
  ConvInteger: conv(DataType.INT32),
  QLinearConv: qlinearConv,
  ConvTranspose: convTranspose,
  MaxPool: pool,
  AveragePool: pool,
  LpPool: pool,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
};
