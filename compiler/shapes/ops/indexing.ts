/**
 * Indexing ops: Gather (with values, for Shape -> Gather), GatherElements, GatherND, the
 * Scatter family, OneHot, TopK, and the ops whose output size depends on the data (NonZero,
 * Compress, Unique), which get fresh symbols.
 */
import { DataType } from '../../onnx/dtype.ts';
import { attrInt } from '../../graph/attributes.ts';
import { dimProduct, isConcrete, type Dim } from '../dim.ts';
import { normalizeAxis, product, withValue } from '../helpers.ts';
import type { Rule, RuleTable } from '../rule.ts';
import { ShapeContradiction } from '../rule.ts';

const gather: Rule = (ctx) => {
  const data = ctx.input(0);
  const indices = ctx.input(1);
  if (!data?.shape || !indices?.shape) return [data && { dtype: data.dtype }];
  const axis = normalizeAxis(attrInt(ctx.node, 'axis', 0), data.shape.length);
  const shape = [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)];
  let value: Dim[] | undefined;
  const idx = ctx.numbers(1);
  if (data.value && isConcrete(data.shape) && idx) {
    const d = data.shape;
    const outer = product(d.slice(0, axis));
    const inner = product(d.slice(axis + 1));
    const n = d[axis]!;
    value = [];
    for (let o = 0; o < outer; o++) {
      for (let i of idx) {
        if (i < 0) i += n;
        if (i < 0 || i >= n) throw new ShapeContradiction('Gather: index out of range');
        for (let k = 0; k < inner; k++) value.push(data.value[(o * n + i) * inner + k]!);
      }
    }
  }
  return [withValue(data.dtype, shape, value)];
};

const gatherElements: Rule = (ctx) => [{ dtype: ctx.dtype(0), shape: ctx.shape(1) }];

const gatherND: Rule = (ctx) => {
  const data = ctx.shape(0), indices = ctx.shape(1);
  const dtype = ctx.dtype(0);
  if (!data || !indices) return [{ dtype }];
  const b = attrInt(ctx.node, 'batch_dims', 0);
  const last = indices[indices.length - 1];
  if (typeof last !== 'number') return [{ dtype }];
  return [{ dtype, shape: [...indices.slice(0, -1), ...data.slice(b + last)] }];
};

const likeData: Rule = (ctx) => [ctx.input(0) && { dtype: ctx.dtype(0), shape: ctx.shape(0) }];

const oneHot: Rule = (ctx) => {
  const indices = ctx.shape(0);
  const dtype = ctx.dtype(2);
  if (!indices) return [{ dtype }];
  const depthValue = ctx.value(1);
  let depth: Dim = depthValue?.length === 1 ? depthValue[0]! : ctx.fresh('depth');
  if (typeof depth === 'number') depth = Math.trunc(depth);
  const rank = indices.length + 1;
  const axis = normalizeAxis(attrInt(ctx.node, 'axis', -1), rank);
  return [{ dtype, shape: [...indices.slice(0, axis), depth, ...indices.slice(axis)] }];
};

const topK: Rule = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return [x && { dtype: x.dtype }, { dtype: DataType.INT64 }];
  const axis = normalizeAxis(attrInt(ctx.node, 'axis', -1), x.shape.length);
  const kv = ctx.opset >= 10 ? ctx.value(1) : [attrInt(ctx.node, 'k', 0)];
  const shape = [...x.shape];
  shape[axis] = kv?.length === 1 ? kv[0]! : ctx.fresh('topk');
  return [{ dtype: x.dtype, shape }, { dtype: DataType.INT64, shape }];
};

const nonZero: Rule = (ctx) => {
  const r = ctx.rank(0);
  const v = ctx.value(0);
  // Known contents (a constant mask) give the count; otherwise it depends on the data.
  const count: Dim = v && v.every((x) => typeof x === 'number') ? v.filter((x) => x !== 0).length : ctx.fresh('nonzero');
  return [{ dtype: DataType.INT64, shape: r === undefined ? undefined : [r, count] }];
};

const compress: Rule = (ctx) => {
  const x = ctx.input(0);
  if (!x) return [undefined];
  const axisAttr = ctx.node.attributes.find((a) => a.name === 'axis');
  const cond = ctx.numbers(1);
  const count = (limit: Dim | undefined): Dim => {
    if (!cond || typeof limit !== 'number') return ctx.fresh('compress');
    return cond.slice(0, limit).filter((c) => c !== 0).length;
  };
  if (!axisAttr) return [{ dtype: x.dtype, shape: [count(x.shape && isConcrete(x.shape) ? product(x.shape) : undefined)] }];
  if (!x.shape) return [{ dtype: x.dtype }];
  const axis = normalizeAxis(Number(axisAttr.i), x.shape.length);
  const shape = [...x.shape];
  shape[axis] = count(x.shape[axis]);
  return [{ dtype: x.dtype, shape }];
};

const unique: Rule = (ctx) => {
  const x = ctx.input(0);
  if (!x) return [];
  const n = ctx.fresh('unique');
  const axisAttr = ctx.node.attributes.find((a) => a.name === 'axis');
  let y: Dim[] | undefined = [n];
  if (axisAttr) {
    if (!x.shape) y = undefined;
    else {
      y = [...x.shape];
      y[normalizeAxis(Number(axisAttr.i), x.shape.length)] = n;
    }
  }
  // inverse_indices: one per element (no axis) or per slice along the axis.
  const inverse = !x.shape ? undefined : axisAttr ? [x.shape[normalizeAxis(Number(axisAttr.i), x.shape.length)]!] : [dimProduct(x.shape)];
  return [
    { dtype: x.dtype, shape: y },
    { dtype: DataType.INT64, shape: [n] },
    { dtype: DataType.INT64, shape: inverse },
    { dtype: DataType.INT64, shape: [n] },
  ];
};

export const indexingRules: RuleTable = {
  Gather: gather,
  GatherElements: gatherElements,
  GatherND: gatherND,
  ScatterND: likeData,
  ScatterElements: likeData,
  Scatter: likeData,
  OneHot: oneHot,
  TopK: topK,
  NonZero: nonZero,
  Compress: compress,
  Unique: unique,
};
