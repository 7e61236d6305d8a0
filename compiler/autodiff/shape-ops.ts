/**
 * Ops that move data without arithmetic: the gradient moves it back. Reshape-like ops
 * reshape to the input's shape; Transpose applies the inverse permutation; Concat splits
 * and Split concatenates; Slice pads the gradient back into place; Expand and Tile sum.
 */
import type { GradContext } from './context.ts';
import type { RuleTable } from './rule.ts';
import { listOperand, padAttributes, sliceOperands, transposePerm } from '../ops/attributes.ts';

const reshapeBack = (g: GradContext) => [g.reshapeLike(g.dy(), g.x())];

/** ONNX Slice index normalisation for step 1: clamp to [-dim, dim], then wrap negatives. */
function clampIndex(i: number, dim: number): number {
  const c = Math.min(Math.max(i, -dim), dim);
  return c < 0 ? c + dim : c;
}

function numericPads(start: number, end: number, dim: number): [number, number] {
  const s = clampIndex(start, dim);
  const n = Math.max(clampIndex(end, dim) - s, 0);
  return [s, dim - s - n];
}

/** Ends at or beyond this are "to the end" (torch exports INT64_MAX, some exporters INT32_MAX). */
const TO_THE_END = 2 ** 31 - 1;

/**
 * Pads for a slice of a dim of unknown size, where they do not depend on it: x[s:] and
 * x[s:-k] with s >= 0 (the LM shift slices). Exact whenever the dim is at least s + k; for a
 * shorter dim the padded gradient has the wrong length and ORT stops with a shape error (it
 * never yields a wrong value). Other forms: undefined, and the pads are computed in-graph.
 */
function symbolicPads(start: number, end: number): [number, number] | undefined {
  if (start < 0) return undefined;
  if (end >= TO_THE_END) return [start, 0];
  if (end < 0) return [start, -end];
  return undefined;
}

interface SliceParams { starts: string; ends: string; axes?: number[]; steps?: number[] }

function sliceParams(g: GradContext): SliceParams | { starts: number[]; ends: number[]; axes?: number[]; steps?: number[] } {
  const operands = sliceOperands(g.node, g.opset);
  const axes = g.operandInts(operands.axes);
  if (operands.axes.kind === 'input' && !axes) g.unsupported('Slice axes computed at run time');
  const steps = g.operandInts(operands.steps);
  if (operands.steps.kind === 'input' && !steps) g.unsupported('Slice steps computed at run time');
  const starts = g.operandInts(operands.starts);
  const ends = g.operandInts(operands.ends);
  if (operands.starts.kind !== 'input' && operands.ends.kind !== 'input') return { starts: starts ?? [], ends: ends ?? [], axes, steps };
  if (starts && ends) return { starts, ends, axes, steps };
  return { starts: g.x(1), ends: g.x(2), axes, steps };
}

function sliceGrad(g: GradContext): string[] {
  const p = sliceParams(g);
  const count = typeof p.starts === 'string' ? undefined : p.starts.length;
  const axesRaw = p.axes ?? (count !== undefined ? Array.from({ length: count }, (_, i) => i) : undefined);
  if (p.steps && p.steps.some((s) => s !== 1)) g.unsupported(`Slice with steps [${p.steps.join(', ')}] (only step 1 is supported)`);
  const x = g.x();
  const shape = g.shape(x);
  const rank = shape?.length;
  const axesCount = axesRaw?.length ?? g.shape(g.x(1))?.[0];
  if (typeof axesCount !== 'number') g.unsupported('Slice whose number of axes is not known statically');
  const axes = axesRaw ?? Array.from({ length: axesCount }, (_, i) => i);
  if (rank === undefined && g.opset < 18) g.unsupported('Slice on a tensor of unknown rank before opset 18 (run shape inference first)');
  const norm = (a: number) => (a < 0 ? (rank === undefined ? a : a + rank) : a);

  // Static pads: starts/ends constant, and each sliced dim either known or irrelevant.
  const statically = (starts: number[], ends: number[]) => axes.every((a, i) => typeof shape![norm(a)] === 'number' || symbolicPads(starts[i]!, ends[i]!) !== undefined);
  if (rank !== undefined && typeof p.starts !== 'string' && typeof p.ends !== 'string' && statically(p.starts, p.ends)) {
    const pads = new Array(2 * rank).fill(0);
    axes.forEach((a, i) => {
      const dim = shape![norm(a)];
      const [before, after] = typeof dim === 'number' ? numericPads((p.starts as number[])[i]!, (p.ends as number[])[i]!, dim) : symbolicPads((p.starts as number[])[i]!, (p.ends as number[])[i]!)!;
      pads[norm(a)] = before;
      pads[rank + norm(a)] = after;
    });
    if (g.opset < 11) return [g.like(g.op('Pad', [g.dy()], { pads }), x)];
    return [g.like(g.op('Pad', [g.dy(), g.int64s(pads)]), x)];
  }
  g.requireOpset(11, `the gradient of Slice '${g.node.name}' with sizes known only at run time`);
  // Dynamic: per sliced axis, before = start', after = dim - start' - max(end' - start', 0).
  const pick = (v: string | number[], i: number) => (typeof v === 'string' ? g.op('Gather', [v, g.int64s([i])], { axis: 0 }) : g.int64s([v[i]!]));
  const zero = g.int64s([0]);
  // Min and Max take int64 only from opset 12: Where + Less/Greater do the same at every opset.
  const max = (a: string, b: string) => g.op('Where', [g.op('Greater', [a, b]), a, b]);
  const min = (a: string, b: string) => g.op('Where', [g.op('Less', [a, b]), a, b]);
  const clamp = (v: string, dim: string) => {
    const c = min(max(v, g.neg(dim)), dim);
    return g.op('Where', [g.op('Less', [c, zero]), g.add(c, dim), c]);
  };
  const before = new Map<number, string>();
  const after = new Map<number, string>();
  axes.forEach((a, i) => {
    const dim = g.dimOf(x, a);
    const s = clamp(pick(p.starts, i), dim);
    const e = clamp(pick(p.ends, i), dim);
    const n = max(g.sub(e, s), zero);
    before.set(norm(a), s);
    after.set(norm(a), g.sub(g.sub(dim, s), n));
  });
  if (rank !== undefined) {
    const pads = [...Array.from({ length: rank }, (_, k) => before.get(k) ?? zero), ...Array.from({ length: rank }, (_, k) => after.get(k) ?? zero)];
    return [g.like(g.op('Pad', [g.dy(), g.op('Concat', pads, { axis: 0 })]), x)];
  }
  const keys = [...before.keys()];
  const pads = g.op('Concat', [...keys.map((k) => before.get(k)!), ...keys.map((k) => after.get(k)!)], { axis: 0 });
  return [g.like(g.op('Pad', [g.dy(), pads, '', g.int64s(keys)]), x)];
}

function concatGrad(g: GradContext): (string | false)[] {
  const axis = g.int('axis', 0);
  const n = g.node.inputs.length;
  const dims = g.node.inputs.map((v) => {
    const s = g.shape(v);
    return s ? s[axis < 0 ? axis + s.length : axis] : undefined;
  });
  let sizes: number[] | string;
  if (dims.every((d) => typeof d === 'number')) sizes = dims as number[];
  else {
    g.requireOpset(13, `the gradient of Concat '${g.node.name}' with sizes known only at run time`);
    sizes = g.op('Concat', g.node.inputs.map((v) => g.dimOf(v, axis)), { axis: 0 });
  }
  const parts = g.split(g.dy(), sizes, axis, n);
  return parts.map((p, i) => g.needs(i) && g.like(p, g.x(i)));
}

function padGrad(g: GradContext): string[] {
  const operands = padAttributes(g.node, g.opset);
  if (operands.mode !== 'constant') g.unsupported(`Pad in '${operands.mode}' mode`);
  const pads = g.operandInts(operands.pads);
  if (!pads) g.unsupported('Pad with pads computed at run time');
  if (pads.some((v) => v < 0)) g.unsupported('Pad with negative pads');
  let axes: number[] | undefined;
  if (operands.axes.kind === 'input') {
    axes = g.constInts(operands.axes.value);
    if (!axes) g.unsupported('Pad with axes computed at run time');
  }
  const k = pads.length / 2;
  const starts = pads.slice(0, k);
  const axesList = axes ?? Array.from({ length: k }, (_, i) => i);
  // dx = dy[start : start + dim] along each padded axis
  const sizes = g.op('Concat', axesList.map((a) => g.dimOf(g.x(), a)), { axis: 0 });
  const ends = g.add(g.int64s(starts), sizes);
  return [g.like(g.op('Slice', [g.dy(), g.int64s(starts), ends, g.int64s(axesList)]), g.x())];
}

function tileGrad(g: GradContext): string[] {
  const repeats = g.constInts(g.x(1));
  if (!repeats) g.unsupported('Tile with repeats computed at run time');
  // View dy as [r0, d0, r1, d1, ...] and sum the r axes.
  const pieces = repeats.flatMap((r, i) => [g.int64s([r]), g.dimOf(g.x(), i)]);
  const viewed = g.op('Reshape', [g.dy(), g.op('Concat', pieces, { axis: 0 })]);
  return [g.like(g.reduceSum(viewed, repeats.map((_, i) => 2 * i), false), g.x())];
}

export const shapeRules: RuleTable = {
  Reshape: { grad: reshapeBack },
  Flatten: { grad: reshapeBack },
  Squeeze: { grad: reshapeBack },
  Unsqueeze: { grad: reshapeBack },
  Transpose: {
    grad: (g) => {
      const perm = transposePerm(g.node, g.rank(g.x()));
      // The default perm (reversed axes) is its own inverse.
      if (!perm) return [g.op('Transpose', [g.dy()])];
      const inverse = new Array<number>(perm.length);
      perm.forEach((p, i) => (inverse[p] = i));
      return [g.like(g.op('Transpose', [g.dy()], { perm: inverse }), g.x())];
    },
  },
  Concat: { grad: concatGrad },
  Split: { grad: (g) => [g.like(g.op('Concat', g.node.outputs.map((_, i) => g.dyOrZeros(i)), { axis: g.int('axis', 0) }), g.x())] },
  Slice: { grad: sliceGrad },
  Pad: { grad: padGrad },
  Expand: { grad: (g) => [g.sumTo(g.dy(), 0)] },
  Tile: { grad: tileGrad },
  // Trilu keeps a triangle: the gradient keeps the same one.
  Trilu: { grad: (g) => [g.like(g.op('Trilu', g.has(1) ? [g.dy(), g.x(1)] : [g.dy()], { upper: g.int('upper', 1) }), g.x())] },
};
