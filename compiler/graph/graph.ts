/**
 * The in-memory IR. A Graph is an ordered list of Nodes over string-named values; weights
 * are initializers (TensorProto). Leaf data (tensors, types, attributes, subgraph bodies) stay
 * ONNX protobuf messages, and every IR object remembers the message it came from (`origin`)
 * so fields the IR does not model are written back untouched: conversion is lossless.
 */
import type { AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from '../onnx/proto.ts';

export interface Node {
  name: string;
  opType: string;
  /** '' and 'ai.onnx' both mean the default domain. */
  domain: string;
  /** Value names; '' marks an omitted optional input or output. */
  inputs: string[];
  outputs: string[];
  attributes: AttributeProto[];
  /** The NodeProto this node was read from: doc_string, metadata, overload, device configs, unknown fields. */
  origin?: NodeProto;
}

export class Graph {
  name = '';
  nodes: Node[] = [];
  inputs: ValueInfoProto[] = [];
  outputs: ValueInfoProto[] = [];
  /** Weights by name, in file order. */
  initializers = new Map<string, TensorProto>();
  /** Known types of intermediate values (GraphProto.value_info), by name. */
  valueInfo = new Map<string, ValueInfoProto>();
  /** The GraphProto this was read from (sparse initializers, doc_string, annotations, metadata, unknown fields). */
  origin?: GraphProto;

  inputNames(): string[] {
    return this.inputs.map((v) => v.name);
  }

  outputNames(): string[] {
    return this.outputs.map((v) => v.name);
  }

  /** Graph inputs that are not initializers: what a caller must feed. */
  feedInputs(): ValueInfoProto[] {
    return this.inputs.filter((v) => !this.initializers.has(v.name));
  }

  /** The node that produces each value. */
  producers(): Map<string, Node> {
    const map = new Map<string, Node>();
    for (const n of this.nodes) for (const o of n.outputs) if (o) map.set(o, n);
    return map;
  }

  /** The nodes that read each value (implicit subgraph reads included). */
  consumers(): Map<string, Node[]> {
    const map = new Map<string, Node[]>();
    for (const n of this.nodes) {
      for (const i of nodeReads(n)) {
        let list = map.get(i);
        if (!list) map.set(i, (list = []));
        if (!list.includes(n)) list.push(n);
      }
    }
    return map;
  }

  /** Every value name already used: inputs, initializers, node outputs. */
  definedNames(): Set<string> {
    const names = new Set<string>([...this.inputNames(), ...this.initializers.keys()]);
    for (const n of this.nodes) for (const o of n.outputs) if (o) names.add(o);
    return names;
  }
}

export class Model {
  /** ai.onnx is keyed as ''. */
  opsets = new Map<string, number>();
  constructor(
    public graph: Graph,
    /** ir_version, producer, metadata, functions, training info and unknown fields of the source model. */
    public origin?: ModelProto,
  ) {}

  opset(domain = ''): number | undefined {
    return this.opsets.get(normalizeDomain(domain));
  }
}

/**
 * The reader of a value that exactly one node reads and that is no graph output (a pass may
 * then rewrite the value for that node alone), from the graph's consumers and output names.
 * A node reading the value twice counts once.
 */
export function soleReaderIn(readers: ReadonlyMap<string, readonly Node[]>, outputs: ReadonlySet<string>): (v: string) => Node | undefined {
  return (v) => {
    const r = readers.get(v) ?? [];
    return r.length === 1 && !outputs.has(v) ? r[0] : undefined;
  };
}

export function normalizeDomain(domain: string): string {
  return domain === 'ai.onnx' ? '' : domain;
}

/** Whether the node (a Node, a NodeProto of a subgraph body, or a summary with its domain) is in the default (ai.onnx) domain. */
export function isDefaultDomain(n: { domain: string }): boolean {
  return n.domain === '' || n.domain === 'ai.onnx';
}

/** Whether the node is the default domain's op `opType`. */
export function isOp(n: Node | undefined, opType: string): n is Node {
  return n !== undefined && n.opType === opType && isDefaultDomain(n);
}

/** The key the op rule tables use: 'MatMul' for ai.onnx, 'com.microsoft:Gelu' for another domain. */
export function opKey(domain: string, opType: string): string {
  return domain === '' || domain === 'ai.onnx' ? opType : `${domain}:${opType}`;
}

/** Names a subgraph body reads from the enclosing scope (recursively through nested bodies). */
export function subgraphOuterReads(g: GraphProto): Set<string> {
  const defined = new Set<string>([...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name)]);
  for (const s of g.sparseInitializer) if (s.values) defined.add(s.values.name);
  const reads = new Set<string>();
  for (const n of g.node) {
    const inner: string[] = [...n.input];
    for (const a of n.attribute) {
      for (const sub of a.g ? [a.g, ...a.graphs] : a.graphs) inner.push(...subgraphOuterReads(sub));
    }
    for (const i of inner) if (i && !defined.has(i)) reads.add(i);
    for (const o of n.output) if (o) defined.add(o);
  }
  return reads;
}

/** Every value a node reads: its inputs plus the outer values its subgraph bodies use. */
export function nodeReads(n: Node): string[] {
  const reads = n.inputs.filter((i) => i !== '');
  for (const a of n.attributes) {
    for (const sub of a.g ? [a.g, ...a.graphs] : a.graphs) for (const r of subgraphOuterReads(sub)) if (!reads.includes(r)) reads.push(r);
  }
  return reads;
}

export function hasSubgraphs(n: Node): boolean {
  return n.attributes.some((a) => a.g !== undefined || a.graphs.length > 0);
}

/** A node as messages name it: its op and its name (or first output). */
export function describeNode(n: Node): string {
  return `${n.opType} '${n.name || n.outputs[0]}'`;
}
