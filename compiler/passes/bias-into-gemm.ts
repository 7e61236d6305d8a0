/**
 * A linear layer's bias added by its product: MatMul(x, W) + b becomes one Gemm with b as C.
 *
 *   z = Add(MatMul(x, W), b)          x [..., k], W [k, n], b [n]
 *     -> z = Reshape(Gemm(Reshape(x, [-1, k]), W, b), shape(z))
 *
 * Gemm broadcasts b into its output and accumulates the product onto it, so the bias costs no
 * pass of its own; the separate Add reads and writes the whole [rows, n] output once more (on
 * a BERT-base-sized step, about 70 of them). onnxruntime's MatMulAddFusion does the same, but
 * only where every dim of x is static: a graph with a symbolic batch or sequence keeps the Add.
 * The Reshapes are views and the target shape is built from the fed inputs' sizes (the
 * Emitter's shapeWithoutReading), never from Shape(z), which would read the value being made.
 *
 * Run on a finished forward (or on the train graph after autodiff): nothing here is
 * differentiated. Rewritten where the MatMul's product has the Add as its only reader, W is 2-D
 * with static dims, b is exactly [n], x has rank >= 2 and static last dim k, and all are
 * float32 (the CPU provider's Gemm). The sum is the same up to float rounding: the bias enters
 * the accumulation first instead of last.
 */
import { isOp, soleReaderIn, type Graph, type Node } from '../graph/graph.ts';
import type { Emitter } from '../graph/emitter.ts';
import { DataType } from '../onnx/dtype.ts';
import { toposort } from './toposort.ts';

/** The linear layer an Add completes: its product's operands and the bias. */
interface Linear {
  matmul: Node;
  x: string;
  w: string;
  bias: string;
  /** x's last dim and W's columns. */
  k: number;
  n: number;
}

/** Rewrites in place through e (whose shapes describe e.graph); returns how many biases the Gemms now add. */
export function biasIntoGemm(e: Emitter): number {
  const g: Graph = e.graph;
  // Passes with builders of their own may have named values since e was made.
  e.b.noteNamesInGraph();
  const producers = g.producers();
  const soleReader = soleReaderIn(g.consumers(), new Set(g.outputNames()));
  const isFloat = (v: string) => e.dtype(v) === DataType.FLOAT;

  /** The linear layer whose product is operand `product` of `add` and whose bias is `bias`. */
  const linearOf = (add: Node, product: string, bias: string): Linear | undefined => {
    const matmul = producers.get(product);
    if (!isOp(matmul, 'MatMul') || soleReader(product) !== add) return undefined;
    const [x, w] = matmul.inputs as [string, string];
    const ws = e.shape(w);
    const xs = e.shape(x);
    const bs = e.shape(bias);
    if (ws?.length !== 2 || typeof ws[0] !== 'number' || typeof ws[1] !== 'number') return undefined;
    const [k, n] = ws as [number, number];
    if (!xs || xs.length < 2 || xs[xs.length - 1] !== k) return undefined;
    if (bs?.length !== 1 || bs[0] !== n) return undefined;
    if (![x, w, bias].every(isFloat)) return undefined;
    return { matmul, x, w, bias, k, n };
  };

  const removed = new Set<Node>();
  let rewritten = 0;
  for (const add of [...g.nodes]) {
    if (!isOp(add, 'Add') || add.inputs.length !== 2) continue;
    const [a, c] = add.inputs as [string, string];
    const linear = linearOf(add, a, c) ?? linearOf(add, c, a);
    if (!linear || removed.has(linear.matmul)) continue;
    const z = add.outputs[0]!;
    // Named after the layer, so a profile still counts the nodes as its forward.
    const layer = e.b.withPrefix(`${linear.matmul.name || add.name || 'linear'}/`);
    if (e.rank(linear.x) === 2) {
      layer.op('Gemm', [linear.x, linear.w, linear.bias], undefined, { outputs: [z] });
    } else {
      const target = e.shapeWithoutReading(z);
      if (!target) continue;
      const rows = layer.op('Reshape', [linear.x, e.ints([-1, linear.k])]);
      const product = layer.op('Gemm', [rows, linear.w, linear.bias]);
      layer.op('Reshape', [product, target], undefined, { outputs: [z] });
    }
    removed.add(add);
    removed.add(linear.matmul);
    rewritten++;
  }
  if (rewritten > 0) {
    g.nodes = g.nodes.filter((n) => !removed.has(n));
    toposort(g);
  }
  return rewritten;
}
