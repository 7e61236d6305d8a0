/**
 * Which columns of a fused QKV projection's output each of q, k and v reads, derived from the
 * graph's own ops between the projection and the split, never from a guessed layout. GPT-2
 * splits [q | k | v]; GPT-NeoX views the output as [.., heads, 3 * head_dim] and slices each
 * head; Bloom and Falcon view it as [.., heads, 3, head_dim] and index; ViT reshapes to
 * [.., 3, heads, head_dim] and permutes. Each is followed here on a small index tensor: the
 * column numbers 0..out-1 laid out as the projection's last axis, moved by every Reshape,
 * Transpose, Split, Slice, Gather, Squeeze and Unsqueeze exactly as the data is. The part's
 * columns are the numbers that reach it, in the part's own row-major order (so delta column j
 * of q goes to fused column columns[j]).
 *
 * The leading axes (batch, sequence) are tracked as opaque: an op that touches them in a way
 * that could mix them with the column axes ends the derivation with the reason, and the
 * caller refuses to place a per-part delta.
 */
import { attrInt, type Node } from '../graph/index.ts';
import type { GraphView } from './graph-view.ts';
import type { ShapeLookup } from './roles.ts';
import type { TraceHit } from './trace.ts';
import { transposePerm } from '../ops/attributes.ts';

type Axis = { lead: true } | { lead: false; size: number };

interface IndexTensor {
  axes: Axis[];
  /** Column numbers over the non-lead axes, row-major in their order in `axes`. */
  columns: number[];
}

export type Derived = { columns: number[] } | { why: string };

/** The fused-output columns the part reaching `hit` through `until` (the split) reads. */
export function partColumns(view: GraphView, hit: TraceHit, until: Node, shapes: ShapeLookup): Derived {
  const y = hit.site.y;
  const rank = shapes(y)?.length ?? shapes(hit.site.raw)?.length;
  if (!rank) return { why: `the rank of '${y}' is not known` };
  let t: IndexTensor = { axes: [...Array.from({ length: rank - 1 }, (): Axis => ({ lead: true })), { lead: false, size: hit.site.outFeatures }], columns: Array.from({ length: hit.site.outFeatures }, (_, i) => i) };
  for (const step of hit.path) {
    const next = apply(view, step.node, step.out, t, shapes);
    if ('why' in next) return { why: `'${view.nameOf(step.node)}' (${step.node.opType}): ${next.why}` };
    t = next;
    if (step.node === until) return { columns: t.columns };
  }
  return { why: 'the split was not reached' };
}

function colShape(t: IndexTensor): number[] {
  return t.axes.filter((a): a is { lead: false; size: number } => !a.lead).map((a) => a.size);
}

function product(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function apply(view: GraphView, n: Node, out: string, t: IndexTensor, shapes: ShapeLookup): IndexTensor | { why: string } {
  const rank = t.axes.length;
  const norm = (a: number) => (a < 0 ? a + rank : a);
  switch (n.opType) {
    case 'Identity': case 'Cast': case 'Dropout':
      return t;
    case 'Reshape': case 'Flatten': {
      const firstCol = t.axes.findIndex((a) => !a.lead);
      if (t.axes.slice(firstCol).some((a) => a.lead)) return { why: 'the column axes are not the trailing ones' };
      const target = shapes(out);
      if (!target) return { why: 'its output shape is not known' };
      const want = product(colShape(t));
      // The shortest trailing run of known dims holding exactly the columns.
      for (let k = 1; k <= target.length; k++) {
        const tail = target.slice(target.length - k);
        if (tail.some((d) => d <= 0)) break;
        const p = product(tail);
        if (p === want) return { axes: [...target.slice(0, target.length - k).map((): Axis => ({ lead: true })), ...tail.map((size): Axis => ({ lead: false, size }))], columns: t.columns };
        if (p > want) break;
      }
      return { why: `its output ${JSON.stringify(target)} does not keep the ${want} columns in trailing axes` };
    }
    case 'Transpose': {
      const perm = transposePerm(n, rank)!;
      const axes = perm.map((p) => t.axes[p]!);
      // Column axes in their old order, and where each lands.
      const oldCols = t.axes.flatMap((a, i) => (a.lead ? [] : [i]));
      const newOrder = perm.filter((p) => !t.axes[p]!.lead).map((p) => oldCols.indexOf(p));
      return { axes, columns: transpose(t.columns, colShape(t), newOrder) };
    }
    case 'Split': {
      const axis = norm(attrInt(n, 'axis', 0));
      const a = t.axes[axis];
      if (!a || a.lead) return { why: 'it splits a leading axis' };
      const k = n.outputs.indexOf(out);
      const sizes = view.operandNumbers(n, 'split') ?? Array.from({ length: n.outputs.length }, () => a.size / n.outputs.length);
      if (sizes.some((s) => !Number.isInteger(s)) || sizes.reduce((x, y) => x + y, 0) !== a.size) return { why: 'its split sizes are not known' };
      const start = sizes.slice(0, k).reduce((x, y) => x + y, 0);
      return take(t, axis, range(start, start + sizes[k]!, 1), false);
    }
    case 'Slice': {
      const starts = view.operandNumbers(n, 'starts');
      const ends = view.operandNumbers(n, 'ends');
      if (!starts || !ends) return { why: 'its starts and ends are not constants' };
      const axes = view.operandNumbers(n, 'axes') ?? starts.map((_, i) => i);
      const steps = view.operandNumbers(n, 'steps') ?? starts.map(() => 1);
      let cur = t;
      for (let i = 0; i < axes.length; i++) {
        const axis = norm(axes[i]!);
        const a = cur.axes[axis];
        if (!a) return { why: 'it slices an axis the value does not have' };
        if (a.lead) {
          if (starts[i] === 0 && steps[i] === 1 && ends[i]! >= 2 ** 31 - 1) continue; // the whole axis
          return { why: 'it slices a leading axis' };
        }
        const idx = sliceRange(a.size, starts[i]!, ends[i]!, steps[i]!);
        if (!idx) return { why: 'its step is 0' };
        const next = take(cur, axis, idx, false);
        if ('why' in next) return next;
        cur = next;
      }
      return cur;
    }
    case 'Gather': {
      const axis = norm(attrInt(n, 'axis', 0));
      const a = t.axes[axis];
      if (!a || a.lead) return { why: 'it gathers along a leading axis' };
      const indices = n.inputs[1] ? view.constantNumbers(n.inputs[1]) : undefined;
      const scalar = n.inputs[1] ? (view.storedDims(n.inputs[1])?.dims.length ?? 1) === 0 : false;
      if (!indices) return { why: 'its indices are not constants' };
      return take(t, axis, indices.map((i) => (i < 0 ? i + a.size : i)), scalar);
    }
    case 'Unsqueeze': {
      const axesIn = view.operandNumbers(n, 'axes');
      if (!axesIn) return { why: 'its axes are not constants' };
      const outRank = rank + axesIn.length;
      const at = new Set(axesIn.map((a) => (a < 0 ? a + outRank : a)));
      const axes: Axis[] = [];
      let k = 0;
      for (let i = 0; i < outRank; i++) axes.push(at.has(i) ? { lead: false, size: 1 } : t.axes[k++]!);
      return { axes, columns: t.columns };
    }
    case 'Squeeze': {
      const axesIn = view.operandNumbers(n, 'axes');
      if (!axesIn) return { why: 'its axes are not constants' };
      const at = new Set(axesIn.map(norm));
      if ([...at].some((i) => { const a = t.axes[i]; return !a || (!a.lead && a.size !== 1); })) return { why: 'it squeezes an axis that is not 1' };
      return { axes: t.axes.filter((_, i) => !at.has(i)), columns: t.columns };
    }
    default:
      return { why: 'not an op that only moves data' };
  }
}

function range(start: number, end: number, step: number): number[] {
  const out: number[] = [];
  for (let i = start; step > 0 ? i < end : i > end; i += step) out.push(i);
  return out;
}

/** ONNX Slice's clamping of start/end on an axis of `size`. */
function sliceRange(size: number, start: number, end: number, step: number): number[] | undefined {
  if (step === 0) return undefined;
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + size : start;
  let e = end < 0 ? end + size : end;
  if (step > 0) [s, e] = [clamp(s, 0, size), clamp(e, 0, size)];
  else [s, e] = [clamp(s, 0, size - 1), clamp(e, -1, size - 1)];
  return range(s, e, step);
}

/** Keeps positions `idx` of column axis `axis` (dropping the axis when `drop`, a scalar index). */
function take(t: IndexTensor, axis: number, idx: number[], drop: boolean): IndexTensor | { why: string } {
  const shape = colShape(t);
  const c = t.axes.slice(0, axis).filter((a) => !a.lead).length;
  const size = shape[c]!;
  if (idx.some((i) => i < 0 || i >= size)) return { why: 'an index is out of range' };
  const outer = product(shape.slice(0, c));
  const inner = product(shape.slice(c + 1));
  const columns: number[] = [];
  for (let o = 0; o < outer; o++) for (const i of idx) for (let r = 0; r < inner; r++) columns.push(t.columns[(o * size + i) * inner + r]!);
  const axes = t.axes.slice();
  if (drop) axes.splice(axis, 1);
  else axes[axis] = { lead: false, size: idx.length };
  return { axes, columns };
}

/** Row-major transpose of `values` with `shape`, new axis k being old axis order[k]. */
function transpose(values: number[], shape: number[], order: number[]): number[] {
  const newShape = order.map((o) => shape[o]!);
  const strides = shape.map((_, i) => product(shape.slice(i + 1)));
  const out = new Array<number>(values.length);
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < values.length; flat++) {
    let src = 0;
    for (let k = 0; k < order.length; k++) src += index[k]! * strides[order[k]!]!;
    out[flat] = values[src]!;
    for (let k = newShape.length - 1; k >= 0; k--) {
      if (++index[k]! < newShape[k]!) break;
      index[k] = 0;
    }
  }
  return out;
}
