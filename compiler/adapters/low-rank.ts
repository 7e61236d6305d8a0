/**
 * The one computation every adapter here adds: delta = (alpha / r) * Dropout(x) A^T B^T,
 * with A [r, in] (down) and B [out, r] (up), as LoR2C (docs/method.md section 1, x = h_s, added to
 * h_{e+1}) and LoRA (x = a projection's input, added to its output) both define it.
 */
import type { Graph } from '../graph/graph.ts';
import type { GraphBuilder } from '../graph/builder.ts';
import { interpose } from '../graph/interpose.ts';
import { DataType } from '../onnx/dtype.ts';

export interface LowRankPath {
  /** The value read (h_s for LoR2C, the projection input for LoRA). */
  x: string;
  /** The value the delta is added to (h_{e+1}, or the projection output). */
  y: string;
  /** Parameter names. */
  A: string;
  B: string;
  rank: number;
  alpha: number;
  dropout: number;
  /** Place delta column j into column columns[j] of y (`width` wide: a part of a fused projection), zeros elsewhere. */
  columns?: { columns: number[]; width: number };
}

export interface PathContext {
  graph: Graph;
  b: GraphBuilder;
  /** The model's ai.onnx opset: Dropout takes its ratio as an input from 12 on, an attribute before. */
  opset: number;
}

/** Adds the path; returns the name now carrying y + delta. */
export function addLowRankPath(ctx: PathContext, p: LowRankPath): string {
  const { graph, b } = ctx;
  return interpose(graph, b, p.y, (y) => {
    // A plain Dropout node: identity in eval and inference graphs; the train graph builder
    // switches every Dropout to training mode with reproducible masks.
    const x = p.dropout <= 0 ? p.x : ctx.opset >= 12 ? b.op('Dropout', [p.x, b.constant('dropout_ratio', DataType.FLOAT, [], Float32Array.of(p.dropout))]) : b.op('Dropout', [p.x], { ratio: p.dropout });
    const down = b.op('MatMul', [x, b.op('Transpose', [p.A], { perm: [1, 0] })]);
    // Scale the r-wide intermediate rather than the d-wide result: fewer multiplications.
    const scaled = b.op('Mul', [down, b.constant('scale', DataType.FLOAT, [], Float32Array.of(p.alpha / p.rank))]);
    const up = b.op('MatMul', [scaled, b.op('Transpose', [p.B], { perm: [1, 0] })]);
    return b.op('Add', [y, p.columns ? intoColumns(b, up, p.columns.columns, p.columns.width) : up]);
  });
}

/**
 * [.., w] -> [.., width]: delta column j at column columns[j], zeros elsewhere. Built from
 * runs (consecutive j landing on consecutive columns) as Slices of the delta and of a zero
 * copy of it, joined by one Concat: ordinary differentiable ops, a handful per head.
 */
function intoColumns(b: GraphBuilder, delta: string, columns: number[], width: number): string {
  const w = columns.length;
  const source = new Array<number>(width).fill(-1);
  columns.forEach((c, j) => (source[c] = j));
  let zeros: string | undefined;
  const slice = (from: string, start: number, end: number) =>
    b.op('Slice', [from, b.ints([start]), b.ints([end]), b.ints([-1])]);
  const pieces: string[] = [];
  for (let c = 0; c < width; ) {
    if (source[c]! >= 0) {
      let end = c + 1;
      while (end < width && source[end] === source[end - 1]! + 1) end++;
      pieces.push(source[c] === 0 && end - c === w ? delta : slice(delta, source[c]!, source[c]! + end - c));
      c = end;
    } else {
      let end = c + 1;
      while (end < width && source[end]! < 0 && end - c < w) end++;
      zeros ??= b.op('Mul', [delta, b.constant('zero', DataType.FLOAT, [], Float32Array.of(0))]);
      pieces.push(end - c === w ? zeros : slice(zeros, 0, end - c));
      c = end;
    }
  }
  return pieces.length === 1 ? pieces[0]! : b.op('Concat', pieces, { axis: -1 });
}
