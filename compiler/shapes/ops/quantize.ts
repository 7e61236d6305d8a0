/** Quantization: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear (shape kept, dtype changed). */
import { DataType } from '../../onnx/dtype.ts';
import { attrInt } from '../../graph/attributes.ts';
import type { Rule, RuleTable } from '../rule.ts';

/** The quantized type: output_dtype (opset 21) or the zero point's type, uint8 by default. */
const quantize: Rule = (ctx) => {
  const dtype = attrInt(ctx.node, 'output_dtype', 0) || ctx.dtype(2) || DataType.UINT8;
  return [{ dtype, shape: ctx.shape(0) }];
};

/** The float type: the scale's (output_dtype since opset 23 where given). */
const dequantize: Rule = (ctx) => {
  const dtype = attrInt(ctx.node, 'output_dtype', 0) || ctx.dtype(1) || DataType.FLOAT;
  return [{ dtype, shape: ctx.shape(0) }];
};

const dynamicQuantize: Rule = (ctx) => [
  { dtype: DataType.UINT8, shape: ctx.shape(0) },
  { dtype: DataType.FLOAT, shape: [] },
  { dtype: DataType.UINT8, shape: [] },
];

export const quantizeRules: RuleTable = {
  QuantizeLinear: quantize,
  DequantizeLinear: dequantize,
  DynamicQuantizeLinear: dynamicQuantize,
};
