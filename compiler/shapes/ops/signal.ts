/** Signal processing: DFT, STFT, the window generators and MelWeightMatrix. */
import { DataType } from '../../onnx/dtype.ts';
import { attrInt } from '../../graph/attributes.ts';
import { dimAdd, dimFloorDiv, dimSub, type Dim } from '../dim.ts';
import { normalizeAxis } from '../helpers.ts';
import type { Rule, RuleTable } from '../rule.ts';
import { ShapeContradiction } from '../rule.ts';

const half = (n: Dim): Dim | undefined => (typeof n === 'number' ? Math.floor(n / 2) + 1 : undefined);

/** Input [..., n, ..., 1 or 2] -> complex output [..., m, ..., 2]; m = dft_length (or n), halved when one-sided. */
const dft: Rule = (ctx) => {
  const x = ctx.shape(0);
  const dtype = ctx.dtype(0);
  if (!x) return [{ dtype }];
  const rank = x.length;
  const axisRaw = ctx.opset >= 20 ? (ctx.present(2) ? ctx.numbers(2)?.[0] : -2) : attrInt(ctx.node, 'axis', 1);
  if (axisRaw === undefined) return [{ dtype, shape: x.map(() => ctx.fresh('dft')) }];
  // Negative axes count from the back of the full rank; the last (complex) dim is never the axis.
  const axis = normalizeAxis(axisRaw, rank);
  if (axis === rank - 1) throw new ShapeContradiction('DFT: axis is the complex dim');
  const out = [...x];
  const length: Dim | undefined = ctx.present(1) ? ctx.value(1)?.[0] : x[axis];
  const inverse = attrInt(ctx.node, 'inverse', 0) !== 0;
  const onesided = attrInt(ctx.node, 'onesided', 0) !== 0;
  out[axis] = length === undefined ? ctx.fresh('dft') : onesided && !inverse ? half(length) ?? ctx.fresh('dft') : length;
  out[rank - 1] = 2;
  return [{ dtype, shape: out }];
};

const stft: Rule = (ctx) => {
  const x = ctx.shape(0);
  const dtype = ctx.dtype(0);
  if (!x || x.length !== 3) return [{ dtype }];
  const step = ctx.value(1)?.[0];
  const frameLength: Dim | undefined = ctx.present(3) ? ctx.value(3)?.[0] : ctx.shape(2)?.[0];
  if (step === undefined || frameLength === undefined) return [{ dtype, shape: [x[0]!, ctx.fresh('stft'), ctx.fresh('stft'), 2] }];
  const q = dimFloorDiv(dimSub(x[1]!, frameLength), step);
  const frames = q === undefined ? ctx.fresh('stft') : dimAdd(q, 1);
  const onesided = attrInt(ctx.node, 'onesided', 1) !== 0;
  const bins = onesided ? half(frameLength) ?? ctx.fresh('stft') : frameLength;
  return [{ dtype, shape: [x[0]!, frames, bins, 2] }];
};

const windowOp: Rule = (ctx) => {
  const size = ctx.value(0)?.[0];
  return [{ dtype: attrInt(ctx.node, 'output_datatype', DataType.FLOAT), shape: [size ?? ctx.fresh('window')] }];
};

const melWeightMatrix: Rule = (ctx) => {
  const bins = ctx.value(0)?.[0];
  const dftLength = ctx.value(1)?.[0];
  const rows = dftLength === undefined ? undefined : half(dftLength);
  return [{ dtype: attrInt(ctx.node, 'output_datatype', DataType.FLOAT), shape: [rows ?? ctx.fresh('mel'), bins ?? ctx.fresh('mel')] }];
};

export const signalRules: RuleTable = {
  DFT: dft,
  STFT: stft,
  HannWindow: windowOp,
  HammingWindow: windowOp,
  BlackmanWindow: windowOp,
  MelWeightMatrix: melWeightMatrix,
};
