/**
 * Rows a model selects at its end, selected before the work instead of after it.
 *
 * A sequence classifier reads one position of the last hidden state (BERT's pooler takes
 * `h[:, 0]`, a Gather with a constant index on the sequence axis), yet the layers below it
 * compute every position. The ops between the last token-mixing op (attention) and that
 * Gather treat each row on their own: the output projection, the residual Adds, the
 * normalizations, the whole FFN, a LoR2C path. Moving the Gather up through them makes them
 * compute the selected rows only, and the backward pass of those ops shrinks alike (it would
 * otherwise carry a gradient that is zero in every row but the selected ones through dense
 * products). On a 12-block BERT classifier that is most of the last block's work, forward and
 * backward.
 *
 * A Gather moves up through its input's producer P when every reader of that value is the
 * same selection (same axis, same constant indices), and P is row-local along the axis: each
 * output row reads only the same row of the inputs that carry the axis (`ROW_RULES`). The
 * Gather then selects from those inputs instead; an input that broadcasts along the axis (a
 * bias, a size-1 axis) is left alone. Where the Gather cannot move further (a value with
 * other readers, attention's scores, a Reshape) it stays. A scalar index, which drops the
 * axis, becomes a one-element index followed by a Squeeze, so the moved Gather keeps the rank
 * and every broadcast above it lines up as before.
 *
 * Exact: each op computes the same rows from the same values, so the selected rows are the
 * ones the unmoved graph selects (spec/compiler/passes/select-rows-early.test.ts runs both).
 */
import { attrInt, makeAttrs } from '../graph/attributes.ts';
import { GraphBuilder } from '../graph/builder.ts';
import { constantNumbers, constantTensor, type ConstantScope } from '../graph/constants.ts';
import { isOp, nodeReads, opKey, type Graph, type Model, type Node } from '../graph/graph.ts';
import { layerNormAttributes, listOperandNumbers, reduceAttributes, softmaxAxis, transposePerm } from '../ops/attributes.ts';
import { DataType } from '../onnx/dtype.ts';
import { dimEquals, type Dim } from '../shapes/dim.ts';
import { inferShapes } from '../shapes/infer.ts';
import type { ValueType } from '../shapes/types.ts';
import { toposort } from './toposort.ts';

/** Which input, along which of its axes, a moved selection reads. */
interface Selected {
  slot: number;
  axis: number;
}

interface RowQuestion {
  node: Node;
  /** The output being selected from. */
  output: string;
  /** The selected axis of the node's output, non-negative. */
  axis: number;
  /** Rank of the node's output. */
  rank: number;
  opset: number;
  shape(value: string): readonly Dim[] | undefined;
  numbers(value: string): number[] | undefined;
}

/** The inputs to select from so the node computes only the selected rows, or undefined when its rows are not independent along the axis. */
type RowRule = (q: RowQuestion) => Selected[] | undefined;

/**
 * Every input carrying the axis is selected at its own aligned axis (numpy broadcasting aligns
 * from the right); one that broadcasts there (size 1, or too low a rank) is read whole. An
 * input whose size there cannot be shown to be 1 or the output's stops the move.
 */
const pointwise: RowRule = (q) => {
  const out = q.shape(q.output)?.[q.axis];
  if (out === undefined) return undefined;
  const selected: Selected[] = [];
  for (let slot = 0; slot < q.node.inputs.length; slot++) {
    const v = q.node.inputs[slot]!;
    if (v === '') continue;
    const s = q.shape(v);
    if (!s) return undefined;
    const aligned = q.axis - (q.rank - s.length);
    if (aligned < 0 || s[aligned] === 1) continue;
    if (dimEquals(s[aligned]!, out) !== true) return undefined;
    selected.push({ slot, axis: aligned });
  }
  return selected;
};

/** Pointwise, when the op's own reduction runs over axes after the selected one. */
const normalizesFrom = (first: (q: RowQuestion) => number): RowRule => (q) => {
  const axis = first(q);
  return q.axis < (axis < 0 ? axis + q.rank : axis) ? pointwise(q) : undefined;
};

const softmax: RowRule = (q) => {
  const a = softmaxAxis(q.node, q.opset);
  const axis = a < 0 ? a + q.rank : a;
  // From opset 13 the op normalizes one axis; before it, the flattened [axis, rank) block.
  const independent = q.opset >= 13 ? q.axis !== axis : q.axis < axis;
  return independent ? [{ slot: 0, axis: q.axis }] : undefined;
};

/** A row of A times B: the selected axis is A's row axis or a batch axis both broadcast over. */
const matmul: RowRule = (q) => {
  const a = q.shape(q.node.inputs[0]!), b = q.shape(q.node.inputs[1]!);
  if (!a || !b || a.length < 2 || b.length < 2 || q.axis === q.rank - 1) return undefined;
  if (q.axis === q.rank - 2) return [{ slot: 0, axis: a.length - 2 }];
  // A batch axis: as a pointwise op over the batch dims (the matrix dims sit below the axis).
  return pointwise(q);
};

const gemm: RowRule = (q) => {
  if (q.axis !== 0) return undefined;
  const selected: Selected[] = [{ slot: 0, axis: attrInt(q.node, 'transA', 0) ? 1 : 0 }];
  const c = q.node.inputs[2];
  const cShape = c ? q.shape(c) : undefined;
  if (c && !cShape) return undefined;
  if (cShape && cShape.length === 2 && cShape[0] !== 1) {
    const out = q.shape(q.output)?.[0];
    if (out === undefined || dimEquals(cShape[0]!, out) !== true) return undefined;
    selected.push({ slot: 2, axis: 0 });
  }
  return selected;
};

const transpose: RowRule = (q) => {
  const perm = transposePerm(q.node, q.rank);
  return perm ? [{ slot: 0, axis: perm[q.axis]! }] : undefined;
};

const concat: RowRule = (q) => {
  const a = attrInt(q.node, 'axis', 0);
  if ((a < 0 ? a + q.rank : a) === q.axis) return undefined;
  return q.node.inputs.map((_, slot) => ({ slot, axis: q.axis }));
};

/** A reduction that keeps its axes and does not reduce the selected one. */
const reduce: RowRule = (q) => {
  const r = reduceAttributes(q.node, q.opset);
  if (!r.keepdims) return undefined;
  const axes = listOperandNumbers(r.axes, q.numbers);
  if (!axes || axes.length === 0) return undefined; // absent or empty: every axis (or none, a copy: not worth a rule)
  return axes.some((a) => (a < 0 ? a + q.rank : a) === q.axis) ? undefined : [{ slot: 0, axis: q.axis }];
};

const POINTWISE_OPS = [
  // unary
  'Relu', 'LeakyRelu', 'Elu', 'Selu', 'Celu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Softplus', 'Softsign', 'Tanh', 'Erf',
  'Sqrt', 'Exp', 'Log', 'Reciprocal', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh',
  'Mish', 'ThresholdedRelu', 'Shrink', 'Gelu', 'Swish', 'Round', 'Neg', 'Abs', 'Floor', 'Ceil', 'Sign', 'Not', 'IsNaN', 'IsInf',
  'BitwiseNot', 'Cast', 'Identity', 'Clip',
  // broadcasting
  'Add', 'Sub', 'Mul', 'Div', 'Mod', 'Pow', 'PRelu', 'BitShift', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor', 'Equal', 'Less',
  'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Where', 'Min', 'Max', 'Sum', 'Mean',
  // the fused activations (compiler/passes/fuse-activations.ts and ORT's own)
  'com.microsoft:Gelu', 'com.microsoft:QuickGelu', 'com.microsoft:FastGelu', 'com.microsoft:BiasGelu',
];

const REDUCE_OPS = ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare'];

const normalization = normalizesFrom((q) => layerNormAttributes(q.node).axis);

/** Keys as in the other rule tables: op type for ai.onnx, 'domain:OpType' otherwise. */
export const ROW_RULES: Readonly<Record<string, RowRule>> = {
  ...Object.fromEntries(POINTWISE_OPS.map((op) => [op, pointwise])),
  ...Object.fromEntries(REDUCE_OPS.map((op) => [op, reduce])),
  LayerNormalization: normalization,
  RMSNormalization: normalization,
  'com.microsoft:SimplifiedLayerNormalization': normalization,
  Softmax: softmax,
  LogSoftmax: softmax,
  MatMul: matmul,
  Gemm: gemm,
  Transpose: transpose,
  Concat: concat,
};

/** A Gather with a constant index of rank 0 or 1. */
interface Selection {
  node: Node;
  axis: number;
  indices: number[];
  scalar: boolean;
}

const sameIndices = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Moves row selections up in place; returns how many ops now compute only the selected rows. */
export function selectRowsEarly(model: Model): number {
  return new RowMover(model).run();
}

class RowMover {
  private readonly model: Model;
  private readonly graph: Graph;
  private readonly opset: number;
  private shapesInferred: Map<string, ValueType> | undefined;
  private readonly producers: Map<string, Node>;
  private readonly readers = new Map<string, Set<Node>>();
  private readonly outputs: Set<string>;
  private readonly removed = new Set<Node>();
  private readonly b: GraphBuilder;
  private readonly scope: ConstantScope;
  private moved = 0;

  constructor(model: Model) {
    this.graph = model.graph;
    this.opset = model.opsets.get('') ?? 1;
    this.model = model;
    this.producers = this.graph.producers();
    for (const n of this.graph.nodes) for (const v of nodeReads(n)) this.readersOf(v).add(n);
    this.outputs = new Set(this.graph.outputNames());
    this.b = new GraphBuilder(this.graph, 'rows/');
    this.scope = { graph: this.graph, producer: (v) => this.producers.get(v) };
  }

  run(): number {
    const work = this.graph.nodes.filter((n) => isOp(n, 'Gather') && constantTensor(this.scope, n.inputs[1] ?? '') !== undefined);
    while (work.length > 0) {
      const node = work.pop()!;
      if (this.removed.has(node)) continue;
      const next = this.moveUp(node);
      if (next) work.push(...next);
    }
    if (this.moved === 0) return 0;
    this.graph.nodes = this.graph.nodes.filter((n) => !this.removed.has(n));
    toposort(this.graph);
    return this.moved;
  }

  /** Inferred on first use: a graph without a constant-index Gather never pays for it. */
  private get shapes(): Map<string, ValueType> {
    return (this.shapesInferred ??= inferShapes(this.model));
  }

  private readersOf(v: string): Set<Node> {
    let s = this.readers.get(v);
    if (!s) this.readers.set(v, (s = new Set()));
    return s;
  }

  private shape(v: string): readonly Dim[] | undefined {
    return this.shapes.get(v)?.shape;
  }

  private selection(n: Node): Selection | undefined {
    if (!isOp(n, 'Gather') || this.removed.has(n)) return undefined;
    const [data, idx] = n.inputs;
    const rank = data ? this.shape(data)?.length : undefined;
    const t = idx ? constantTensor(this.scope, idx) : undefined;
    if (rank === undefined || !t || t.dims.length > 1) return undefined;
    const indices = constantNumbers(this.scope, idx);
    if (!indices || indices.length === 0) return undefined;
    const a = attrInt(n, 'axis', 0);
    const axis = a < 0 ? a + rank : a;
    if (axis < 0 || axis >= rank) return undefined;
    return { node: n, axis, indices, scalar: t.dims.length === 0 };
  }

  /** Moves the Gather above its input's producer; returns the Gathers it placed, or undefined when it stays. */
  private moveUp(gather: Node): Node[] | undefined {
    const sel = this.selection(gather);
    if (!sel) return undefined;
    const x = gather.inputs[0]!;
    const p = this.producers.get(x);
    const shape = this.shape(x);
    if (!p || !shape || this.outputs.has(x)) return undefined;
    // Nothing to save when the axis is no longer than the selection.
    const size = shape[sel.axis]!;
    if (typeof size === 'number' && size <= sel.indices.length) return undefined;
    const same = [...this.readersOf(x)];
    if (!same.every((r) => this.sameSelection(this.selection(r), sel))) return undefined;
    // Another Gather's output is renamed to this one's: not when it is a graph output or read inside a subgraph.
    if (same.some((r) => r !== gather && !this.renameable(r.outputs[0]!))) return undefined;
    // The producer's other outputs (a normalization's statistics) must be unread.
    const out = p.outputs.indexOf(x);
    if (p.outputs.some((o, i) => i !== out && o !== '' && (this.readersOf(o).size > 0 || this.outputs.has(o)))) return undefined;
    const rule = ROW_RULES[opKey(p.domain, p.opType)];
    const plan = rule?.({ node: p, output: x, axis: sel.axis, rank: shape.length, opset: this.opset, shape: (v) => this.shape(v), numbers: (v) => constantNumbers(this.scope, v) });
    if (!plan) return undefined;

    // Equal selections become one; a scalar index becomes [i] and a Squeeze after the move.
    for (const r of same) if (r !== gather) this.replaceValue(r.outputs[0]!, gather.outputs[0]!);
    for (const r of same) if (r !== gather) this.remove(r);
    const keep = sel.scalar ? this.asOneElement(sel) : gather;
    const indices = keep.inputs[1]!;
    const placed = plan.map(({ slot, axis }) => {
      const input = p.inputs[slot]!;
      const g = this.gatherOf(input, indices, axis);
      this.readersOf(input).delete(p);
      p.inputs[slot] = g.outputs[0]!;
      this.readersOf(g.outputs[0]!).add(p);
      return g;
    });
    // P now writes the selected rows, under the name the Gather gave them.
    const selected = keep.outputs[0]!;
    this.remove(keep);
    p.outputs[out] = selected;
    this.producers.set(selected, p);
    this.producers.delete(x);
    this.readers.delete(x);
    this.moved++;
    return placed;
  }

  private sameSelection(a: Selection | undefined, b: Selection): boolean {
    return a !== undefined && a.axis === b.axis && a.scalar === b.scalar && sameIndices(a.indices, b.indices);
  }

  /** Gather(x, scalar i) as Squeeze(Gather(x, [i])): the returned one-element Gather keeps the rank. */
  private asOneElement(sel: Selection): Node {
    const n = sel.node;
    const x = n.inputs[0]!;
    const one = this.b.constant('index', DataType.INT64, [1], BigInt64Array.of(BigInt(sel.indices[0]!)));
    const g = this.gatherOf(x, one, sel.axis, true);
    // The original node becomes the Squeeze, keeping its output name for its readers.
    this.readersOf(x).delete(n);
    this.readersOf(n.inputs[1]!).delete(n);
    n.opType = 'Squeeze';
    n.attributes = [];
    if (this.opset >= 13) n.inputs = [g.outputs[0]!, this.b.constant('axes', DataType.INT64, [1], BigInt64Array.of(BigInt(sel.axis)))];
    else {
      n.inputs = [g.outputs[0]!];
      n.attributes = makeAttrs({ axes: [sel.axis] });
    }
    this.readersOf(g.outputs[0]!).add(n);
    return g;
  }

  /** A Gather of `input` at `axis` by `indices`, reusing one `input` already has. */
  private gatherOf(input: string, indices: string, axis: number, fresh = false): Node {
    const wanted = constantNumbers(this.scope, indices)!;
    if (!fresh) {
      for (const r of this.readersOf(input)) {
        const s = this.selection(r);
        if (s && !s.scalar && s.axis === axis && sameIndices(s.indices, wanted)) return r;
      }
    }
    const out = this.b.op('Gather', [input, indices], { axis });
    const node = this.graph.nodes[this.graph.nodes.length - 1]!;
    this.producers.set(out, node);
    this.readersOf(input).add(node);
    this.readersOf(indices).add(node);
    const type = this.shapes.get(input);
    if (type?.shape) this.shapes.set(out, { dtype: type.dtype, shape: type.shape.map((d, i) => (i === axis ? wanted.length : d)) });
    return node;
  }

  private renameable(v: string): boolean {
    return !this.outputs.has(v) && [...this.readersOf(v)].every((r) => r.inputs.includes(v));
  }

  private replaceValue(from: string, to: string): void {
    for (const r of this.readersOf(from)) {
      r.inputs = r.inputs.map((v) => (v === from ? to : v));
      this.readersOf(to).add(r);
    }
    this.readers.delete(from);
  }

  private remove(n: Node): void {
    this.removed.add(n);
    for (const v of nodeReads(n)) this.readers.get(v)?.delete(n);
  }
}
