/**
 * Gathers: the gradient scatters dy back to the gathered positions, ADDING where an index
 * repeats (an embedding row used by several tokens). Index inputs carry no gradient.
 *
 * By opset:
 * - 16 and later: ScatterND / ScatterElements with reduction = 'add' (exact, any indices).
 * - 11 to 15 with CONSTANT indices that never repeat (a scalar index such as BERT's pooler
 *   `h[:, 0]`, a constant permutation): ScatterND / ScatterElements WITHOUT reduction into
 *   zeros (opset 11). Exact, since no position is written twice.
 * - otherwise (indices computed at run time, or constants that repeat; and every Gather before
 *   opset 11): the one-hot fallback, dData = OneHot(indices, axis size)^T contracted with dy.
 *   It is exact but costs O(N * V * rest) time and an N x V one-hot in memory (N gathered
 *   entries, V the axis size): fine for small tables and class-weight lookups, heavy for a
 *   30k-word embedding. It exists because before opset 16 no ONNX op accumulates into repeated
 *   positions; models with a trainable large embedding should be exported at opset 16+.
 */
import { DataType } from '../onnx/dtype.ts';
import { tensorNumbers } from '../onnx/tensor.ts';
import type { GradContext } from './context.ts';
import type { RuleTable } from './rule.ts';

function asInt64(g: GradContext, idx: string): string {
  return g.dtype(idx) === DataType.INT64 ? idx : g.op('Cast', [idx], { to: DataType.INT64 });
}

/** Static size of dimension `axis` of v, when known. */
function staticDim(g: GradContext, v: string, axis: number): number | undefined {
  const d = g.shape(v)?.[axis];
  return typeof d === 'number' ? d : undefined;
}

/** Product of dims [from, to) of v as a 1-element int64 tensor (a constant when they are static). */
function dimProduct(g: GradContext, v: string, from: number, to: number): string {
  const dims = Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
  const known = dims.map((i) => staticDim(g, v, i));
  if (known.every((d) => d !== undefined)) return g.int64s([known.reduce<number>((p, d) => p * d!, 1)]);
  return dims.map((i) => g.dimOf(v, i)).reduce((p, d) => g.mul(p, d));
}

/** Indices counted from the end (negative) turned into the positions they read, in the graph. */
function normalized(g: GradContext, idx: string, size: string): string {
  const raw = asInt64(g, idx);
  return g.op('Where', [g.op('Less', [raw, g.int64(0)]), g.add(raw, size), raw]);
}

/** A constant index tensor normalised to non-negative positions and its dims, when it is a constant whose negative entries can be resolved. */
function constantIndices(g: GradContext, idx: string, sizeOf: (k: number) => number | undefined): { values: number[]; dims: number[] } | undefined {
  const t = g.constTensor(idx);
  if (!t) return undefined;
  const raw = tensorNumbers(t);
  const values: number[] = [];
  for (let k = 0; k < raw.length; k++) {
    const v = raw[k]!;
    if (v >= 0) values.push(v);
    else {
      const size = sizeOf(k);
      if (size === undefined) return undefined;
      values.push(v + size);
    }
  }
  return { values, dims: t.dims.map(Number) };
}

function allDistinct(keys: Iterable<string | number>): boolean {
  const seen = new Set<string | number>();
  for (const k of keys) {
    if (seen.has(k)) return false;
    seen.add(k);
  }
  return true;
}

/**
 * The one-hot fallback: `flat` ([N] int64, non-negative) picks rows of a [P, V, R] view of the
 * data; dy viewed as [P, N, R]. Returns OneHot(flat, V)^T @ dy, shaped [P, V, R] (or [V, R]
 * when P is absent), in the data's element type.
 */
function oneHotContract(g: GradContext, flat: string, depth: string, dy3: string, data: string): string {
  const dt = g.dtype(data);
  // float32 one-hot directly (ORT has the int64 -> float kernel on CPU and CUDA); for other
  // float types an int64 one-hot cast afterwards (CUDA has no float64 OneHot kernel).
  const values = dt === DataType.FLOAT ? g.tensor('onehot_values', DataType.FLOAT, [2], Float32Array.of(0, 1)) : g.int64s([0, 1]);
  let oneHot = g.op('OneHot', [flat, depth, values], { axis: -1 });
  if (dt !== DataType.FLOAT) oneHot = g.castLike(oneHot, data);
  return g.op('MatMul', [g.op('Transpose', [oneHot], { perm: [1, 0] }), dy3]);
}

function gatherGrad(g: GradContext): string[] {
  const data = g.x(0);
  const r = g.rank(data);
  let axis = g.int('axis', 0);
  if (axis < 0) {
    if (r === undefined) g.unsupported('Gather with a negative axis on data of unknown rank (run shape inference first)');
    axis += r;
  }
  const dim = g.op('Reshape', [g.dimOf(data, axis), g.int64s([])]);
  const idx = normalized(g, g.x(1), dim);

  // Scatter without reduction (opset 11) is exact when the indices are constants that never repeat.
  const c = g.opset < 16 && g.opset >= 11 ? constantIndices(g, g.x(1), () => staticDim(g, data, axis)) : undefined;
  const exact = g.opset >= 16 || (c !== undefined && allDistinct(c.values));
  if (!exact) {
    if (r === undefined) g.unsupported('Gather before opset 16 with indices computed at run time on data of unknown rank (run shape inference first)');
    // One-hot fallback: dy is [before..., indices..., after...]; view it as [P, N, R].
    const after = dimProduct(g, data, axis + 1, r);
    const flat = g.op('Reshape', [idx, g.int64s([-1])]);
    const depth = dim;
    if (axis === 0) {
      const rows = g.op('Reshape', [g.dy(), g.op('Concat', [g.int64s([-1]), after], { axis: 0 })]);
      return [g.reshapeLike(oneHotContract(g, flat, depth, rows, data), data)];
    }
    const before = dimProduct(g, data, 0, axis);
    const dy3 = g.op('Reshape', [g.dy(), g.op('Concat', [before, g.int64s([-1]), after], { axis: 0 })]);
    return [g.reshapeLike(oneHotContract(g, flat, depth, dy3, data), data)];
  }
  // Exact scatter: accumulating from opset 16; plain (indices known distinct) before.
  const reduction = g.opset >= 16 ? { reduction: 'add' } : {};
  const zeros = g.zerosLike(data);
  if (axis === 0) {
    return [g.like(g.op('ScatterND', [zeros, g.unsqueeze(idx, [-1]), g.dy()], reduction), data)];
  }
  const q = g.rank(g.x(1));
  if (r === undefined || q === undefined) g.unsupported('Gather along a non-leading axis with operands of unknown rank (run shape inference first)');
  // Bring indices to rank 1 and dy to data's rank, then scatter along `axis`.
  let dy = g.dy();
  let flat = idx;
  if (q === 0) {
    dy = g.unsqueeze(dy, [axis]);
    flat = g.op('Reshape', [idx, g.int64s([1])]);
  } else if (q > 1) {
    flat = g.op('Reshape', [idx, g.int64s([-1])]);
    const before = Array.from({ length: axis }, (_, i) => g.dimOf(data, i));
    const after = Array.from({ length: r - axis - 1 }, (_, i) => g.dimOf(data, axis + 1 + i));
    dy = g.op('Reshape', [dy, g.op('Concat', [...before, g.int64s([-1]), ...after], { axis: 0 })]);
  }
  const view = Array.from({ length: r }, (_, i) => (i === axis ? -1 : 1));
  const spread = g.op('Expand', [g.op('Reshape', [flat, g.int64s(view)]), g.shapeOf(dy)]);
  return [g.like(g.op('ScatterElements', [zeros, spread, dy], { axis, ...reduction }), data)];
}

function gatherElementsGrad(g: GradContext): string[] {
  const data = g.x(0);
  const r = g.rank(data) ?? g.rank(g.x(1));
  let axis = g.int('axis', 0);
  if (axis < 0) {
    if (r === undefined) g.unsupported('GatherElements with a negative axis on operands of unknown rank (run shape inference first)');
    axis += r;
  }
  if (g.opset >= 16) {
    return [g.like(g.op('ScatterElements', [g.zerosLike(data), g.x(1), g.dy()], { axis, reduction: 'add' }), data)];
  }
  // Distinct constant indices: no element of data is read twice when, along every line of
  // `axis`, the indices differ.
  const c = g.opset >= 11 ? constantIndices(g, g.x(1), () => staticDim(g, data, axis)) : undefined;
  const stride = c ? c.dims.slice(axis + 1).reduce((p, d) => p * d, 1) : 1;
  const len = c?.dims[axis] ?? 1;
  const lineOf = (k: number) => Math.floor(k / (stride * len)) * stride + (k % stride);
  if (c && allDistinct(c.values.map((v, k) => `${lineOf(k)}:${v}`))) return [g.like(g.op('ScatterElements', [g.zerosLike(data), g.x(1), g.dy()], { axis }), data)];
  // One-hot fallback: OneHot(idx) puts V at `axis` and the indices' axis after it; summing that
  // one against dy gives [..., V, ...] with the indices' other dims.
  if (r === undefined) g.unsupported('GatherElements before opset 16 with indices computed at run time on operands of unknown rank (run shape inference first)');
  const dim = g.op('Reshape', [g.dimOf(data, axis), g.int64s([])]);
  const idx = normalized(g, g.x(1), dim);
  const dt = g.dtype(data);
  const values = dt === DataType.FLOAT ? g.tensor('onehot_values', DataType.FLOAT, [2], Float32Array.of(0, 1)) : g.int64s([0, 1]);
  let oneHot = g.op('OneHot', [idx, dim, values], { axis });
  if (dt !== DataType.FLOAT) oneHot = g.castLike(oneHot, data);
  const summed = g.reduceSum(g.mul(oneHot, g.unsqueeze(g.dy(), [axis])), [axis + 1], false);
  // Indices may be shorter than data on the other axes (torch.gather allows it): pad with zeros.
  const ds = g.shape(data);
  const is = g.shape(g.x(1));
  const sameElsewhere = ds && is && ds.every((d, i) => i === axis || (typeof d === 'number' && d === is[i]));
  if (sameElsewhere) return [g.like(summed, data)];
  const growth = g.sub(g.shapeOf(data), g.shapeOf(summed));
  const pads = g.op('Concat', [g.int64s(new Array<number>(r).fill(0)), growth], { axis: 0 });
  return [g.like(g.op('Pad', [summed, pads]), data)];
}

function gatherNDGrad(g: GradContext): string[] {
  if (g.int('batch_dims', 0) !== 0) g.unsupported('GatherND with batch_dims');
  const data = g.x(0);
  if (g.opset >= 16) {
    return [g.like(g.op('ScatterND', [g.zerosLike(data), asInt64(g, g.x(1)), g.dy()], { reduction: 'add' }), data)];
  }
  const is = g.shape(g.x(1));
  const k = is?.[is.length - 1];
  if (typeof k !== 'number') g.unsupported('GatherND before opset 16 with an index tuple length that is not static (run shape inference first)');
  // Distinct constant index tuples: ScatterND without reduction, with negative entries resolved here.
  const c = constantIndices(g, g.x(1), (j) => staticDim(g, data, j % k));
  if (g.opset >= 11 && c) {
    const tuples = Array.from({ length: c.values.length / k }, (_, t) => c.values.slice(t * k, t * k + k).join(','));
    if (allDistinct(tuples)) {
      const idx = g.tensor('gathernd_indices', DataType.INT64, c.dims, BigInt64Array.from(c.values.map(BigInt)));
      return [g.like(g.op('ScatterND', [g.zerosLike(data), idx, g.dy()]), data)];
    }
  }
  // One-hot fallback over the first k dims of data flattened into one: a Gather along axis 0.
  const r = g.rank(data);
  if (r === undefined) g.unsupported('GatherND before opset 16 with indices computed at run time on data of unknown rank (run shape inference first)');
  const raw = asInt64(g, g.x(1));
  let flat: string | undefined;
  for (let j = 0; j < k; j++) {
    const size = g.op('Reshape', [g.dimOf(data, j), g.int64s([])]);
    const col = normalized(g, g.squeeze(g.op('Gather', [raw, g.int64s([j])], { axis: -1 }), [-1]), size);
    flat = flat === undefined ? col : g.add(g.mul(flat, size), col);
  }
  const lead = dimProduct(g, data, 0, k);
  const after = dimProduct(g, data, k, r);
  const rows = g.op('Reshape', [g.dy(), g.op('Concat', [g.int64s([-1]), after], { axis: 0 })]);
  const depth = g.op('Reshape', [lead, g.int64s([])]);
  return [g.reshapeLike(oneHotContract(g, g.op('Reshape', [flat!, g.int64s([-1])]), depth, rows, data), data)];
}

export const gatherRules: RuleTable = {
  Gather: { grad: gatherGrad },
  GatherElements: { grad: gatherElementsGrad },
  GatherND: { grad: gatherNDGrad },
};

