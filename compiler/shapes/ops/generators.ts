/**
 * Ops that make tensors from attributes or shape vectors: Constant (every value_* form),
 * ConstantOfShape, Range, EyeLike and the random generators. Constant and Range carry
 * their values, so they can feed Reshape/Slice/Expand targets.
 */
import { DataType } from '../../onnx/dtype.ts';
import { smallTensorNumbers } from '../../graph/constants.ts';
import { tensorNumbers } from '../../onnx/tensor.ts';
import { attrInt, attrInts, getAttr } from '../../graph/attributes.ts';
import { dimDivExact, dimSub, isConcrete, type Dim } from '../dim.ts';
import { MAX_VALUE_ELEMENTS, product, withValue } from '../helpers.ts';
import { ShapeContradiction, type Rule, type RuleTable } from '../rule.ts';

const constant: Rule = (ctx) => {
  for (const a of ctx.node.attributes) {
    switch (a.name) {
      case 'value': {
        const t = a.t;
        if (!t) throw new ShapeContradiction(`Constant: attribute 'value' holds no tensor`);
        const shape = t.dims.map(Number);
        // Tensors read from files were checked on reading (onnx/check-tensor.ts).
        const value = smallTensorNumbers(t);
        return [withValue(t.dataType, shape, value)];
      }
      case 'sparse_value': {
        const s = a.sparseTensor;
        return [{ dtype: s?.values?.dataType ?? 0, shape: s?.dims.map(Number) }];
      }
      case 'value_float': return [{ dtype: DataType.FLOAT, shape: [], value: [a.f] }];
      case 'value_floats': return [{ dtype: DataType.FLOAT, shape: [a.floats.length], value: [...a.floats] }];
      case 'value_int': return [{ dtype: DataType.INT64, shape: [], value: [Number(a.i)] }];
      case 'value_ints': return [{ dtype: DataType.INT64, shape: [a.ints.length], value: a.ints.map(Number) }];
      case 'value_string': return [{ dtype: DataType.STRING, shape: [] }];
      case 'value_strings': return [{ dtype: DataType.STRING, shape: [a.strings.length] }];
    }
  }
  return [undefined];
};

const constantOfShape: Rule = (ctx) => {
  const t = getAttr(ctx.node, 'value')?.t;
  const dtype = t?.dataType ?? DataType.FLOAT;
  const fill = t && t.dataType !== DataType.STRING ? (tensorNumbers(t)[0] ?? 0) : 0;
  const shape = ctx.value(0);
  if (!shape) {
    const len = ctx.shape(0)?.[0];
    return [{ dtype, shape: typeof len === 'number' ? Array.from({ length: len }, () => ctx.fresh('cos')) : undefined }];
  }
  const value = isConcrete(shape) && product(shape) <= MAX_VALUE_ELEMENTS && !Number.isNaN(fill) ? new Array<Dim>(product(shape)).fill(fill) : undefined;
  return [withValue(dtype, shape, value)];
};

const range: Rule = (ctx) => {
  const dtype = ctx.dtype(0) || ctx.dtype(1) || ctx.dtype(2);
  const [start] = ctx.value(0) ?? [];
  const [limit] = ctx.value(1) ?? [];
  const [delta] = ctx.value(2) ?? [];
  if (start === undefined || limit === undefined || delta === undefined) return [{ dtype, shape: [ctx.fresh('range')] }];
  if (typeof start === 'number' && typeof limit === 'number' && typeof delta === 'number') {
    const n = Math.max(0, Math.ceil((limit - start) / delta));
    const value = n <= MAX_VALUE_ELEMENTS ? Array.from({ length: n }, (_, i) => start + i * delta) : undefined;
    return [withValue(dtype, [n], value)];
  }
  // Symbolic bounds: exact when the span divides by the step (the usual arange(seq)).
  const n = typeof delta === 'number' && delta > 0 ? dimDivExact(dimSub(limit, start), delta) : undefined;
  return [{ dtype, shape: [n ?? ctx.fresh('range')] }];
};

const eyeLike: Rule = (ctx) => {
  const dtypeAttr = attrInt(ctx.node, 'dtype');
  return [{ dtype: dtypeAttr ?? ctx.dtype(0), shape: ctx.shape(0) }];
};

const randomFromAttrs: Rule = (ctx) => {
  const shape = attrInts(ctx.node, 'shape');
  return [{ dtype: attrInt(ctx.node, 'dtype', DataType.FLOAT), shape }];
};

const randomLike: Rule = (ctx) => [{ dtype: attrInt(ctx.node, 'dtype') ?? ctx.dtype(0), shape: ctx.shape(0) }];

const multinomial: Rule = (ctx) => {
  const x = ctx.shape(0);
  return [{ dtype: attrInt(ctx.node, 'dtype', DataType.INT32), shape: x && [x[0]!, attrInt(ctx.node, 'sample_size', 1)] }];
};

export const generatorRules: RuleTable = {
  Constant: constant,
  ConstantOfShape: constantOfShape,
  Range: range,
  EyeLike: eyeLike,
  RandomNormal: randomFromAttrs,
  RandomUniform: randomFromAttrs,
  RandomNormalLike: randomLike,
  RandomUniformLike: randomLike,
  Bernoulli: randomLike,
  Multinomial: multinomial,
};

