/**
 * A read-only, indexed view of a graph for block discovery: nodes in topological order,
 * producers and consumers by value, which values are constant (initializers, Constant
 * nodes and anything computed from constants alone), and where a weight comes from.
 * Discovery never edits the model, so PaddleOCR-style Constant-node weights are recognised
 * as they are (the caller lifts them before training).
 */
import { constantNumbers, nodeReads, type ConstantScope, type Graph, type Model, type Node } from '../graph/index.ts';
import { topologicalOrder } from '../passes/toposort.ts';
import { isNondeterministic } from '../ops/traits.ts';
import { listOperand, swapsLastTwoAxes } from '../ops/attributes.ts';

/** The stored tensor a projection multiplies by, and how it reaches the node. */
export interface WeightSource {
  /** Initializer name, or the output of the Constant node holding it. */
  name: string;
  dims: number[];
  inConstantNode: boolean;
  /** An odd number of last-two-axes Transposes between the stored tensor and its use. */
  transposed: boolean;
}

/** Ops that pass a weight through unchanged in value (up to layout and dtype). */
const WEIGHT_PASSTHROUGH = new Set(['Transpose', 'Cast', 'Identity', 'DequantizeLinear']);

export class GraphView {
  readonly graph: Graph;
  /** Nodes in topological order. */
  readonly nodes: Node[];
  readonly position = new Map<Node, number>();
  readonly producer = new Map<string, Node>();
  readonly consumers = new Map<string, Node[]>();
  readonly constants = new Set<string>();
  readonly graphOutputs: Set<string>;
  readonly graphInputs: Set<string>;
  readonly opset: number;
  /** A value's rank where shape inference knows it (discovery works without). */
  readonly rankOf: (value: string) => number | undefined;

  constructor(model: Model, rankOf: (value: string) => number | undefined = () => undefined) {
    this.rankOf = rankOf;
    this.graph = model.graph;
    this.opset = model.opset() ?? 0;
    this.nodes = topologicalOrder(model.graph.nodes);
    this.graphOutputs = new Set(model.graph.outputNames());
    this.graphInputs = new Set(model.graph.feedInputs().map((v) => v.name));
    for (const name of model.graph.initializers.keys()) if (!this.graphInputs.has(name)) this.constants.add(name);
    this.nodes.forEach((n, i) => {
      this.position.set(n, i);
      for (const o of n.outputs) if (o) this.producer.set(o, n);
      const reads = nodeReads(n);
      for (const r of reads) {
        let list = this.consumers.get(r);
        if (!list) this.consumers.set(r, (list = []));
        if (!list.includes(n)) list.push(n);
      }
      // A random draw (or a Dropout that may be in training mode) of constants is not a constant.
      const constant = n.opType === 'Constant' || (reads.length > 0 && !isNondeterministic(n) && reads.every((r) => this.constants.has(r)));
      if (constant) for (const o of n.outputs) if (o) this.constants.add(o);
    });
  }

  isConst(value: string): boolean {
    return value === '' || this.constants.has(value);
  }

  /** Position of the value's producer in topological order; -1 for graph inputs and initializers. */
  positionOf(value: string): number {
    const p = this.producer.get(value);
    return p ? this.position.get(p)! : -1;
  }

  consumersOf(value: string): Node[] {
    return this.consumers.get(value) ?? [];
  }

  /** The node's name, or '#<position>' when the exporter left it empty. */
  nameOf(n: Node): string {
    return n.name || `#${this.position.get(n)}`;
  }

  /** The inputs of `n` that are not constants. */
  dynamicInputs(n: Node): string[] {
    return n.inputs.filter((i) => i !== '' && !this.isConst(i));
  }

  /** The numbers of a small constant (split sizes, indices, axes), read as everywhere else (graph/constants.ts). */
  constantNumbers(value: string): number[] | undefined {
    return constantNumbers(this.constantScope, value);
  }

  /**
   * A list operand of `n` (axes, split sizes, slice bounds) as numbers, from its attribute or its
   * constant input as the model's opset has it (ops/attributes.ts); undefined when absent or not constant.
   */
  operandNumbers(n: Node, name: string): number[] | undefined {
    const operand = listOperand(n, this.opset, name);
    if (operand.kind === 'attribute') return operand.values;
    return operand.kind === 'input' ? this.constantNumbers(operand.value) : undefined;
  }

  private get constantScope(): ConstantScope {
    return { graph: this.graph, producer: (v) => this.producer.get(v) };
  }

  /** Dims of a constant tensor held in an initializer or a Constant node. */
  storedDims(value: string): { dims: number[]; inConstantNode: boolean } | undefined {
    const init = this.graph.initializers.get(value);
    if (init) return { dims: init.dims.map(Number), inConstantNode: false };
    const p = this.producer.get(value);
    if (p?.opType !== 'Constant') return undefined;
    const a = p.attributes[0];
    if (a?.name === 'value' && a.t) return { dims: a.t.dims.map(Number), inConstantNode: true };
    if (a?.name === 'value_floats' || a?.name === 'value_ints') return { dims: [a.name === 'value_floats' ? a.floats.length : a.ints.length], inConstantNode: true };
    if (a?.name === 'value_float' || a?.name === 'value_int') return { dims: [], inConstantNode: true };
    return undefined;
  }

  /** Traces a constant operand back to the stored tensor through Transpose / Cast / Identity / DequantizeLinear. */
  weightSource(value: string): WeightSource | undefined {
    if (!this.isConst(value)) return undefined;
    let v = value;
    let transposed = false;
    for (let hops = 0; hops < 8; hops++) {
      const stored = this.storedDims(v);
      if (stored) return { name: v, ...stored, transposed };
      const p = this.producer.get(v);
      if (!p || !WEIGHT_PASSTHROUGH.has(p.opType)) return undefined;
      if (p.opType === 'Transpose') {
        // A 2-D transpose (no perm = reversed axes) swaps in and out.
        if (swapsLastTwoAxes(p, undefined)) transposed = !transposed;
      }
      v = p.inputs[0]!;
    }
    return undefined;
  }

  /**
   * Whether `n` multiplies by a stored weight: a MatMul/Gemm/Conv-family node one of whose
   * operands is a constant tensor of rank >= 2 (which a residual branch must contain).
   */
  isWeighted(n: Node): boolean {
    if (!WEIGHTED_OPS.has(n.opType)) return false;
    const dataInputs = n.opType === 'Conv' || n.opType === 'ConvTranspose' ? [n.inputs[1]] : n.inputs.slice(0, 2);
    return dataInputs.some((i) => i !== undefined && i !== '' && (this.weightSource(i)?.dims.length ?? 0) >= 2);
  }
}

export const WEIGHTED_OPS = new Set(['MatMul', 'Gemm', 'FusedMatMul', 'Conv', 'ConvTranspose', 'Einsum', 'MatMulInteger', 'MatMulNBits', 'FusedConv']);
