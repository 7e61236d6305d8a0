/**
 * A sum of gradients that Gemms compute, accumulated by the Gemms themselves.
 *
 * A layer input read by several projections (attention's query, key and value, beside the
 * residual) gets its gradient as a Sum of the projections' input gradients, each a Gemm of
 * the output gradient with the frozen weight:
 *
 *   dx = Sum(r, Reshape(Gemm(dq, Wq)), Reshape(Gemm(dk, Wk)), Reshape(Gemm(dv, Wv)))
 *
 * which writes each product and then reads them all again. Gemm's own C input adds into the
 * product as it is written (alpha A B + beta C with beta 1), so
 *
 *   dx = Reshape(Gemm(dv, Wv, Gemm(dk, Wk, Gemm(dq, Wq, Reshape(r, [-1, n])))))
 *
 * is the same sum in another order (equal up to float rounding), without the Sum's pass over
 * every operand. Rewritten where every operand of the Sum (or Add) has the sum's shape, the
 * sum's last dim is the Gemm's static column count n (so the Reshape between the Gemm and the
 * sum only folds rows), and the Gemm has no C and no other reader.
 */
import { attrInt, float, makeAttrs } from '../graph/attributes.ts';
import { GraphBuilder } from '../graph/builder.ts';
import { isOp, soleReaderIn, type Graph, type Node } from '../graph/graph.ts';
import { DataType } from '../onnx/dtype.ts';
import { shapesEqual, type Dim } from '../shapes/dim.ts';
import type { ValueType } from '../shapes/types.ts';
import { toposort } from './toposort.ts';

/** A Sum operand that a Gemm computes, with the Reshape between them when there is one. */
interface GemmTerm {
  gemm: Node;
  reshape: Node | undefined;
}

/** Rewrites g in place with the shapes inference gave; returns how many sums the Gemms now accumulate. */
export function accumulateIntoGemm(g: Graph, shapes: ReadonlyMap<string, ValueType>): number {
  const producers = g.producers();
  const readers = g.consumers();
  const outputs = new Set(g.outputNames());
  const soleReader = soleReaderIn(readers, outputs);
  const shape = (v: string): readonly Dim[] | undefined => shapes.get(v)?.shape;

  /** The Gemm computing operand v of `sum` (directly or through a row-folding Reshape), when it can take the sum into C. */
  const gemmTerm = (v: string, sum: Node, columns: Dim): GemmTerm | undefined => {
    // An operand the sum reads twice counts twice: not one product to accumulate.
    if (sum.inputs.filter((x) => x === v).length !== 1) return undefined;
    let reshape: Node | undefined;
    let gemm = producers.get(v);
    if (isOp(gemm, 'Reshape')) {
      if (soleReader(v) !== sum) return undefined;
      reshape = gemm;
      gemm = producers.get(gemm.inputs[0]!);
      if (soleReader(reshape.inputs[0]!) !== reshape) return undefined;
    } else if (soleReader(v) !== sum) return undefined;
    if (!isOp(gemm, 'Gemm') || (gemm.inputs[2] ?? '') !== '') return undefined;
    // n, the product's columns: the second operand's last dim, or its first where transposed.
    const w = shape(gemm.inputs[1]!);
    const n = w?.length === 2 ? w[attrInt(gemm, 'transB', 0) === 1 ? 0 : 1] : undefined;
    if (typeof n !== 'number' || n !== columns) return undefined;
    return { gemm, reshape };
  };

  const b = new GraphBuilder(g, 'grad/');
  const removed = new Set<Node>();
  let rewritten = 0;
  for (const sum of [...g.nodes]) {
    if (!isOp(sum, 'Sum') && !isOp(sum, 'Add')) continue;
    const out = sum.outputs[0]!;
    const s = shape(out);
    if (!s || s.length < 2 || sum.inputs.some((v) => !v || !shape(v) || !shapesEqual(shape(v)!, s))) continue;
    const columns = s[s.length - 1]!;
    const terms: GemmTerm[] = [];
    const rest: string[] = [];
    for (const v of sum.inputs) {
      const t = gemmTerm(v, sum, columns);
      if (t) terms.push(t);
      else rest.push(v);
    }
    if (terms.length === 0 || (terms.length === 1 && rest.length === 0)) continue;
    // Rank 2: the Gemms write the sum's shape; above it, rows [-1, n] in and the sum's shape out.
    const rows = s.length === 2 ? undefined : b.constant('rows', DataType.INT64, [2], BigInt64Array.of(-1n, BigInt(columns)));
    const asRows = (v: string) => (rows ? b.op('Reshape', [v, rows]) : v);
    // The accumulator starts as the other operands' sum, or as the first product.
    let acc: string;
    let chained = terms;
    if (rest.length > 0) acc = asRows(rest.length === 1 ? rest[0]! : b.op('Sum', rest));
    else {
      const first = terms[0]!;
      acc = first.gemm.outputs[0]!;
      if (first.reshape) removed.add(first.reshape);
      chained = terms.slice(1);
    }
    chained.forEach(({ gemm, reshape }, i) => {
      const last = i === chained.length - 1;
      const next = last && !rows ? out : b.fresh('Gemm_acc');
      gemm.inputs = [gemm.inputs[0]!, gemm.inputs[1]!, acc];
      gemm.outputs = [next];
      gemm.attributes = [...gemm.attributes.filter((a) => a.name !== 'beta'), ...makeAttrs({ beta: float(1) })];
      if (reshape) removed.add(reshape);
      acc = next;
    });
    // Above rank 2 every product came through a Reshape (a Gemm's output is 2-D); its target shape is the sum's.
    if (rows) b.op('Reshape', [acc, terms.find((t) => t.reshape)!.reshape!.inputs[1]!], undefined, { outputs: [out] });
    removed.add(sum);
    rewritten++;
  }
  if (rewritten > 0) {
    g.nodes = g.nodes.filter((n) => !removed.has(n));
    toposort(g);
  }
  return rewritten;
}
