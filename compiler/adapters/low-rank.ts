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
  /** Place the delta into column block `index` of y (a part of a fused projection), zeros elsewhere. */
  columns?: { index: number; blocks: number };
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
    return b.op('Add', [y, p.columns ? intoColumns(b, up, p.columns.index, p.columns.blocks) : up]);
  });
}

/** [.., w] -> [.., blocks * w]: the delta in column block `index`, zero blocks around it. */
function intoColumns(b: GraphBuilder, delta: string, index: number, blocks: number): string {
  const zeros = b.op('Mul', [delta, b.constant('zero', DataType.FLOAT, [], Float32Array.of(0))]);
  return b.op('Concat', Array.from({ length: blocks }, (_, k) => (k === index ? delta : zeros)), { axis: -1 });
}
