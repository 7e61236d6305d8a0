/**
 * Ops that move or regroup elements without computing new ones: Reshape, Flatten, Transpose,
 * Squeeze/Unsqueeze, Concat, Split, Slice, Expand, Tile, Pad, Shape, Size, Depth/SpaceToDepth.
 * These carry values through (so shape vectors survive Concat, Slice, Unsqueeze, Reshape).
 */
import { DataType } from '../../onnx/dtype.ts';
import { attrInt, getAttr } from '../../graph/attributes.ts';
import { dimAdd, dimDivExact, dimEquals, dimFloorDiv, dimMul, dimProduct, dimSub, isConcrete, type Dim } from '../dim.ts';
import { axesOf, broadcastShapes, elementwiseValue, MAX_VALUE_ELEMENTS, normalizeAxis, operandNumbers, product, withValue } from '../helpers.ts';
import { listOperand, padAttributes, sliceOperands, transposePerm, type ListOperandValue } from '../../ops/attributes.ts';
import type { Inferred, Rule, RuleContext, RuleTable } from '../rule.ts';
import { ShapeContradiction } from '../rule.ts';

const reshape: Rule = (ctx) => {
  const x = ctx.input(0);
  const target = ctx.value(1);
  const dtype = ctx.dtype(0);
  if (!target) {
    // The target's length is still the output's rank.
    const len = ctx.shape(1);
    if (len && len.length === 1 && typeof len[0] === 'number') return [{ dtype, shape: Array.from({ length: len[0] }, () => ctx.fresh('reshape')) }];
    return [{ dtype }];
  }
  const allowZero = ctx.opset >= 14 && attrInt(ctx.node, 'allowzero', 0) !== 0;
  const shape: Dim[] = target.map((d, i) => {
    if (d === 0 && !allowZero) {
      const src = x?.shape?.[i];
      return src ?? ctx.fresh('reshape');
    }
    return d;
  });
  const inferAt = shape.indexOf(-1);
  if (inferAt >= 0) {
    const known = shape.filter((_, i) => i !== inferAt);
    if (x?.shape && known.every((d) => typeof d === 'number' ? d >= 0 : true)) {
      const q = dimDivExact(dimProduct(x.shape), dimProduct(known));
      shape[inferAt] = q ?? ctx.fresh('reshape');
    } else shape[inferAt] = ctx.fresh('reshape');
  }
  if (shape.some((d) => typeof d === 'number' && d < 0)) throw new ShapeContradiction('Reshape: negative dim');
  return [withValue(dtype, shape, x?.value)];
};

const flatten: Rule = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return [x && { dtype: x.dtype }];
  const r = x.shape.length;
  let axis = attrInt(ctx.node, 'axis', 1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis > r) throw new ShapeContradiction('Flatten: axis out of range');
  return [withValue(x.dtype, [dimProduct(x.shape.slice(0, axis)), dimProduct(x.shape.slice(axis))], x.value)];
};

const transpose: Rule = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return [x && { dtype: x.dtype }];
  const perm = transposePerm(ctx.node, x.shape.length)!;
  if (perm.length !== x.shape.length) throw new ShapeContradiction('Transpose: perm length');
  const shape = perm.map((p) => x.shape![normalizeAxis(p, x.shape!.length)]!);
  return [withValue(x.dtype, shape, x.shape.length <= 1 ? x.value : undefined)];
};

const squeeze: Rule = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return [x && { dtype: x.dtype }];
  const axes = axesOf(ctx);
  if (axes === 'unknown') return [{ dtype: x.dtype }];
  let drop: Set<number>;
  if (!axes) {
    // Without axes every 1 goes; a symbolic dim might be 1, so the rank is unknown then.
    if (!isConcrete(x.shape)) return [{ dtype: x.dtype }];
    drop = new Set(x.shape.flatMap((d, i) => (d === 1 ? [i] : [])));
  } else drop = new Set(axes.map((a) => normalizeAxis(a, x.shape!.length)));
  for (const a of drop) if (typeof x.shape[a] === 'number' && x.shape[a] !== 1) throw new ShapeContradiction('Squeeze: dim is not 1');
  return [withValue(x.dtype, x.shape.filter((_, i) => !drop.has(i)), x.value)];
};

const unsqueeze: Rule = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return [x && { dtype: x.dtype }];
  const axes = axesOf(ctx);
  if (axes === 'unknown' || !axes) return [{ dtype: x.dtype }];
  const rank = x.shape.length + axes.length;
  const set = new Set(axes.map((a) => normalizeAxis(a, rank)));
  if (set.size !== axes.length) throw new ShapeContradiction('Unsqueeze: repeated axis');
  const shape: Dim[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) shape.push(set.has(i) ? 1 : x.shape[k++]!);
  return [withValue(x.dtype, shape, x.value)];
};

/** The value of a concatenation: blocks of each input, interleaved along the axis. */
function concatValue(ins: Inferred[], axis: number, shape: Dim[]): Dim[] | undefined {
  if (!isConcrete(shape) || product(shape) > MAX_VALUE_ELEMENTS || ins.some((x) => !x.value || !isConcrete(x.shape))) return undefined;
  const outer = product(shape.slice(0, axis));
  const out: Dim[] = [];
  for (let o = 0; o < outer; o++) {
    for (const x of ins) {
      const block = product((x.shape as number[]).slice(axis));
      out.push(...x.value!.slice(o * block, (o + 1) * block));
    }
  }
  return out;
}

const concat: Rule = (ctx) => {
  const ins: Inferred[] = [];
  let dtype = 0;
  for (let i = 0; i < ctx.inputCount; i++) {
    const x = ctx.input(i);
    dtype ||= ctx.dtype(i);
    if (!x?.shape) return [{ dtype }];
    ins.push(x);
  }
  if (ins.length === 0) return [undefined];
  const rank = ins[0]!.shape!.length;
  const axis = normalizeAxis(attrInt(ctx.node, 'axis', 0), rank);
  const shape = [...ins[0]!.shape!];
  for (const x of ins.slice(1)) {
    if (x.shape!.length !== rank) throw new ShapeContradiction('Concat: rank mismatch');
    x.shape!.forEach((d, i) => {
      if (i === axis) shape[i] = dimAdd(shape[i]!, d);
      else if (dimEquals(shape[i]!, d) === false) throw new ShapeContradiction('Concat: dim mismatch');
      else if (typeof shape[i] !== 'number' && typeof d === 'number') shape[i] = d;
    });
  }
  return [withValue(dtype, shape, concatValue(ins, axis, shape))];
};

/** Sizes of Split's pieces along the axis, or undefined when they depend on unknown values. */
function splitSizes(ctx: RuleContext, dim: Dim, outputs: number): Dim[] | undefined {
  const given = operandNumbers(ctx, listOperand(ctx.node, ctx.opset, 'split'));
  if (given === 'unknown') return undefined;
  const sizes = given;
  if (sizes && sizes.length > 0) return sizes;
  const parts = ctx.opset >= 18 ? attrInt(ctx.node, 'num_outputs', outputs) : outputs;
  const even = dimDivExact(dim, parts);
  if (even !== undefined) return Array(outputs).fill(even);
  if (typeof dim === 'number' && ctx.opset >= 18) {
    // Opset 18: uneven splits give ceil(dim / n) each and the remainder last.
    const size = Math.ceil(dim / parts);
    return Array.from({ length: outputs }, (_, i) => Math.max(0, Math.min(size, dim - i * size)));
  }
  return undefined;
}

const split: Rule = (ctx) => {
  const x = ctx.input(0);
  const n = ctx.node.outputs.length;
  if (!x?.shape) return Array(n).fill(x && { dtype: x.dtype });
  const axis = normalizeAxis(attrInt(ctx.node, 'axis', 0), x.shape.length);
  const sizes = splitSizes(ctx, x.shape[axis]!, n);
  let offset = 0;
  return Array.from({ length: n }, (_, i) => {
    const shape = [...x.shape!];
    shape[axis] = sizes?.[i] ?? ctx.fresh('split');
    let value: Dim[] | undefined;
    if (x.value && x.shape!.length === 1 && typeof sizes?.[i] === 'number') value = x.value.slice(offset, offset + (sizes[i] as number));
    offset += typeof sizes?.[i] === 'number' ? (sizes[i] as number) : NaN;
    return withValue(x.dtype, shape, value);
  });
};

const BIG = 2 ** 31 - 1;

/** One sliced axis: its new size, and (for numeric sizes) the indices it keeps. */
export function sliceDim(d: Dim, start: Dim, end: Dim, step: number, fresh: () => string): { size: Dim; indices?: number[] } {
  if (step === 0) throw new ShapeContradiction('Slice: step 0');
  if (typeof d === 'number' && typeof start === 'number' && typeof end === 'number') {
    let s = start < 0 ? start + d : start;
    let e = end < 0 ? end + d : end;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
    } else {
      s = Math.min(Math.max(s, -1), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
    }
    const indices: number[] = [];
    if (d <= MAX_VALUE_ELEMENTS) for (let i = s; step > 0 ? i < e : i > e; i += step) indices.push(i);
    const size = step > 0 ? Math.max(0, Math.ceil((e - s) / step)) : Math.max(0, Math.ceil((s - e) / -step));
    return { size, indices: d <= MAX_VALUE_ELEMENTS ? indices : undefined };
  }
  if (step !== 1) {
    // x[::-1] of a symbolic axis: the whole axis, reversed.
    if (step === -1 && (start === -1 || (typeof start === 'number' && start >= BIG)) && typeof end === 'number' && end <= -BIG) return { size: d };
    return { size: fresh() };
  }
  // Symbolic axis size: a bound is trusted only where it cannot fall outside the axis of any
  // valid model (0, 1, -1, "to the end", a symbolic bound, which an export derives from the
  // axis itself); otherwise the size is min(d, end) - start, which has no polynomial form.
  const small = (v: number) => Math.abs(v) <= 1;
  let lo: Dim;
  if (typeof start === 'number') {
    if (start >= BIG) return { size: 0 };
    if (!small(start) && !(start >= 0 && typeof d === 'number')) return { size: fresh() };
    lo = start < 0 ? dimAdd(d, start) : start;
  } else lo = start;
  let hi: Dim;
  if (typeof end === 'number') {
    if (end >= BIG) hi = d;
    else if (typeof d === 'number') hi = Math.max(0, Math.min(end < 0 ? d + end : end, d));
    else if (small(end)) hi = end < 0 ? dimAdd(d, end) : end;
    else return { size: fresh() };
  } else hi = end;
  const size = dimSub(hi, lo);
  if (typeof size === 'number' && size < 0) return { size: 0 };
  return { size };
}

const slice: Rule = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return [x && { dtype: x.dtype }];
  const rank = x.shape.length;
  const operands = sliceOperands(ctx.node, ctx.opset);
  // Bounds may be symbolic (a shape's dims); axes and steps must be numbers. Unknown ones are marked -1e9 and 0.
  const bounds = (o: ListOperandValue): Dim[] | undefined => (o.kind === 'attribute' ? o.values : o.kind === 'input' ? ctx.value(o.index) : undefined);
  const starts = bounds(operands.starts);
  const ends = bounds(operands.ends);
  const givenAxes = operandNumbers(ctx, operands.axes);
  const givenSteps = operandNumbers(ctx, operands.steps);
  let axes = givenAxes === 'unknown' ? [-1e9] : givenAxes;
  let steps = givenSteps === 'unknown' ? [0] : givenSteps;
  if (!starts || !ends || axes?.[0] === -1e9 || steps?.[0] === 0) {
    // Parameters computed at run time: the rank survives; the sliced axes (all, if unknown) are unknown.
    const sliced = axes && axes[0] !== -1e9 ? new Set(axes.map((a) => normalizeAxis(a, rank))) : undefined;
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (sliced && !sliced.has(i) ? d : ctx.fresh('slice'))) }];
  }
  axes ??= starts.map((_, i) => i);
  steps ??= starts.map(() => 1);
  const shape = [...x.shape];
  const keep: (number[] | undefined)[] = x.shape.map((d) => (typeof d === 'number' && d <= MAX_VALUE_ELEMENTS ? Array.from({ length: d }, (_, i) => i) : undefined));
  axes.forEach((a, k) => {
    const axis = normalizeAxis(a, rank);
    const r = sliceDim(x.shape![axis]!, starts![k]!, ends![k]!, steps![k] ?? 1, () => ctx.fresh('slice'));
    shape[axis] = r.size;
    keep[axis] = r.indices;
  });
  return [withValue(x.dtype, shape, x.value ? gatherIndices(x.value, x.shape as number[], keep) : undefined)];
};

/** The elements at the cartesian product of per-axis index lists (row-major). */
function gatherIndices(value: Dim[], shape: number[], keep: (number[] | undefined)[]): Dim[] | undefined {
  if (keep.some((k) => !k)) return undefined;
  let offsets = [0];
  shape.forEach((_, axis) => {
    const stride = product(shape.slice(axis + 1));
    const next: number[] = [];
    for (const o of offsets) for (const i of keep[axis]!) next.push(o + i * stride);
    offsets = next;
  });
  return offsets.map((o) => value[o]!);
}

const expand: Rule = (ctx) => {
  const x = ctx.input(0);
  const dtype = ctx.dtype(0);
  const target = ctx.value(1);
  if (!x?.shape) return [{ dtype }];
  if (!target) {
    const len = ctx.shape(1)?.[0];
    if (typeof len !== 'number') return [{ dtype }];
    const rank = Math.max(len, x.shape.length);
    // Unknown target dims: where the input's dim is not 1 it wins; otherwise unknown.
    return [{ dtype, shape: Array.from({ length: rank }, (_, i) => {
      const d = x.shape![i - (rank - x.shape!.length)];
      return d !== undefined && d !== 1 ? d : ctx.fresh('expand');
    }) }];
  }
  const shape = broadcastShapes(x.shape, target);
  return [withValue(dtype, shape, elementwiseValue([x], shape, ([a]) => a))];
};

const tile: Rule = (ctx) => {
  const x = ctx.input(0);
  const repeats = ctx.value(1);
  if (!x?.shape) return [x && { dtype: x.dtype }];
  if (!repeats) return [{ dtype: x.dtype, shape: x.shape.map((d) => (d === 0 ? 0 : ctx.fresh('tile'))) }];
  if (repeats.length !== x.shape.length) throw new ShapeContradiction('Tile: repeats length');
  const shape = x.shape.map((d, i) => dimMul(d, repeats[i]!));
  let value: Dim[] | undefined;
  if (x.value && x.shape.length === 1 && typeof repeats[0] === 'number') value = Array.from({ length: repeats[0] }, () => x.value!).flat();
  return [withValue(x.dtype, shape, value)];
};

const pad: Rule = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return [x && { dtype: x.dtype }];
  const rank = x.shape.length;
  const operands = padAttributes(ctx.node, ctx.opset);
  const pads = operands.pads.kind === 'attribute' ? operands.pads.values : operands.pads.kind === 'input' ? ctx.value(operands.pads.index) : undefined;
  if (!pads) return [{ dtype: x.dtype, shape: x.shape.map(() => ctx.fresh('pad')) }];
  let axes = operands.axes.kind === 'input' ? ctx.numbers(operands.axes.index) : x.shape.map((_, i) => i);
  if (!axes) return [{ dtype: x.dtype, shape: x.shape.map(() => ctx.fresh('pad')) }];
  axes = axes.map((a) => normalizeAxis(a, rank));
  if (pads.length !== 2 * axes.length) throw new ShapeContradiction('Pad: pads length');
  const shape = [...x.shape];
  axes.forEach((a, k) => {
    shape[a] = dimAdd(dimAdd(shape[a]!, pads[k]!), pads[k + axes!.length]!);
  });
  return [{ dtype: x.dtype, shape }];
};

const shapeOp: Rule = (ctx) => {
  const s = ctx.shape(0);
  if (!s) return [{ dtype: DataType.INT64, shape: [ctx.fresh('rank')] }];
  let start = 0, end = s.length;
  if (ctx.opset >= 15) {
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + s.length : v, 0), s.length);
    start = clamp(attrInt(ctx.node, 'start', 0));
    if (getAttr(ctx.node, 'end')) end = clamp(attrInt(ctx.node, 'end', s.length));
  }
  const value = s.slice(start, Math.max(start, end));
  return [{ dtype: DataType.INT64, shape: [value.length], value }];
};

const size: Rule = (ctx) => {
  const s = ctx.shape(0);
  return [s ? { dtype: DataType.INT64, shape: [], value: [dimProduct(s)] } : { dtype: DataType.INT64, shape: [] }];
};

const depthToSpace: Rule = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape || x.shape.length !== 4) return [x && { dtype: x.dtype }];
  const b = attrInt(ctx.node, 'blocksize', 1);
  const [n, c, h, w] = x.shape as [Dim, Dim, Dim, Dim];
  return [{ dtype: x.dtype, shape: [n, dimDivExact(c, b * b) ?? ctx.fresh('d2s'), dimMul(h, b), dimMul(w, b)] }];
};

const spaceToDepth: Rule = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape || x.shape.length !== 4) return [x && { dtype: x.dtype }];
  const b = attrInt(ctx.node, 'blocksize', 1);
  const [n, c, h, w] = x.shape as [Dim, Dim, Dim, Dim];
  return [{ dtype: x.dtype, shape: [n, dimMul(c, b * b), dimFloorDiv(h, b) ?? ctx.fresh('s2d'), dimFloorDiv(w, b) ?? ctx.fresh('s2d')] }];
};

const sameShape: Rule = (ctx) => [ctx.input(0) && { dtype: ctx.dtype(0), shape: ctx.shape(0) }];

export const layoutRules: RuleTable = {
  ReverseSequence: sameShape,
  Reshape: reshape,
  Flatten: flatten,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Concat: concat,
  Split: split,
  Slice: slice,
  Expand: expand,
  Tile: tile,
  Pad: pad,
  Shape: shapeOp,
  Size: size,
  DepthToSpace: depthToSpace,
  SpaceToDepth: spaceToDepth,
};
