/**
 * GraphBuilder: writes new nodes into a Graph tersely. `b.op('MatMul', [x, w])` appends a
 * node and returns its output's name; names are made unique against everything in the graph.
 * New nodes are appended; call toposort() when the order matters.
 */
import { makeAttrs, type Attrs } from './attributes.ts';
import type { Graph, Node } from './graph.ts';
import { makeTensor, scalarTensor, type NumericArray } from '../onnx/tensor.ts';
import { DataType } from '../onnx/dtype.ts';
import { copyMessage, type TensorProto } from '../onnx/proto.ts';

export interface OpOptions {
  domain?: string;
  /** Node name; default: derived from the op type and the builder's prefix. */
  name?: string;
  /** Output names to use instead of fresh ones. */
  outputs?: string[];
}

export class GraphBuilder {
  private readonly used: Set<string>;
  private readonly counters = new Map<string, number>();

  constructor(
    readonly graph: Graph,
    /** Prefix of every name this builder makes, e.g. 'lor2c/m3/'. */
    readonly prefix = '',
  ) {
    this.used = graph.definedNames();
    for (const n of graph.nodes) if (n.name) this.used.add(n.name);
  }

  /** A name not yet used in the graph, from a readable hint. */
  fresh(hint: string): string {
    const base = this.prefix + hint;
    let k = this.counters.get(base) ?? 0;
    let name = k === 0 ? base : `${base}_${k}`;
    while (this.used.has(name)) name = `${base}_${++k}`;
    this.counters.set(base, k + 1);
    this.used.add(name);
    return name;
  }

  /** Claims a specific name (an output the caller must control); throws if taken. */
  claim(name: string): string {
    if (this.used.has(name)) throw new Error(`value name '${name}' is already used in the graph`);
    this.used.add(name);
    return name;
  }

  /** Appends one node with one output; returns the output name. */
  op(opType: string, inputs: string[], attrs?: Attrs, opts: OpOptions = {}): string {
    return this.opN(opType, inputs, 1, attrs, opts)[0]!;
  }

  /** Appends one node with `count` outputs; returns their names. */
  opN(opType: string, inputs: string[], count: number, attrs?: Attrs, opts: OpOptions = {}): string[] {
    const outputs = opts.outputs ?? Array.from({ length: count }, (_, i) => this.fresh(count === 1 ? opType : `${opType}_out${i}`));
    const node: Node = {
      name: opts.name ?? this.fresh(`${opType}_node`),
      opType,
      domain: opts.domain ?? '',
      inputs,
      outputs,
      attributes: makeAttrs(attrs),
    };
    this.graph.nodes.push(node);
    return outputs;
  }

  /** Adds an initializer under a fresh name derived from `hint`; returns its name. */
  initializer(hint: string, tensor: TensorProto): string {
    const name = this.fresh(hint);
    this.graph.initializers.set(name, copyMessage(tensor, { name }));
    return name;
  }

  /** A constant tensor as an initializer. */
  constant(hint: string, dtype: DataType, dims: number[], data: NumericArray): string {
    return this.initializer(hint, makeTensor(hint, dtype, dims, data));
  }

  scalar(value: number, dtype: DataType.FLOAT | DataType.DOUBLE | DataType.INT64 | DataType.INT32 = DataType.FLOAT): string {
    return this.initializer(`const_${String(value).replace(/[^0-9a-zA-Z]/g, '_')}`, scalarTensor('', dtype, value));
  }

  /** A 1-D int64 constant (shapes, axes, starts/ends). */
  ints(values: number[]): string {
    return this.constant(`ints_${values.join('_').replace(/-/g, 'm').slice(0, 40)}`, DataType.INT64, [values.length], BigInt64Array.from(values.map(BigInt)));
  }
}
