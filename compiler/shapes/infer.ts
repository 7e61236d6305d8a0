/**
 * The inference driver: walks a graph in topological order, seeds it with the declared input
 * types and the initializers, and applies each node's rule. Unknown ops, and rules that find
 * their inputs contradictory (ShapeContradiction), give unknown outputs; declared value_info
 * fills in what inference could not find. A rule that fails any other way has a bug: that is
 * reported as an internal error naming the op and the node, never turned into "unknown".
 */
import type { GraphProto } from '../onnx/proto.ts';
import { smallTensorNumbers } from '../graph/constants.ts';
import { graphFromProto } from '../graph/convert.ts';
import { describeNode, normalizeDomain, type Graph, type Model, type Node } from '../graph/graph.ts';
import { isUserError } from '../../contract/errors.ts';
import { topologicalOrder } from '../passes/toposort.ts';
import { isConcrete, type Dim } from './dim.ts';
import { product } from './helpers.ts';
import { ShapeContradiction, type Inferred, type Rule, type RuleContext } from './rule.ts';
import { ruleFor } from './registry.ts';
import { UNKNOWN, valueTypeFromInfo, valueTypeOfTensor, type ValueType } from './types.ts';

export interface InferOptions {
  /** Use the graph's declared value_info / output types where inference finds nothing better (default true). */
  useDeclared?: boolean;
  /** Where rules come from (default: the registry); lets a caller stand in its own. */
  rules?: (domain: string, opType: string) => Rule | undefined;
}

/** Types of every value of the model's main graph: inputs, initializers, node outputs. */
export function inferShapes(model: Model, options?: InferOptions): Map<string, ValueType> {
  return inferGraphShapes(model.graph, model.opsets, undefined, options);
}

export function inferGraphShapes(graph: Graph, opsets: Map<string, number>, known?: Map<string, ValueType | Inferred>, options?: InferOptions): Map<string, ValueType> {
  const values = inferGraphValues(graph, opsets, known, options);
  const out = new Map<string, ValueType>();
  for (const [name, v] of values) out.set(name, v.shape ? { dtype: v.dtype, shape: v.shape } : { dtype: v.dtype });
  return out;
}

/** Like inferGraphShapes, plus the contents of small integer tensors where known (shape computations). */
export function inferGraphValues(graph: Graph, opsets: Map<string, number>, known?: Map<string, ValueType | Inferred>, options: InferOptions = {}, fresh = freshNames(graph)): Map<string, Inferred> {
  const useDeclared = options.useDeclared ?? true;
  const env = new Map<string, Inferred>();
  if (known) for (const [k, v] of known) env.set(k, v);
  // A caller's knowledge of an input (its real dims, or its contents) beats the declaration.
  for (const v of graph.inputs) if (!known?.has(v.name)) env.set(v.name, valueTypeFromInfo(v) ?? UNKNOWN);
  for (const [name, t] of graph.initializers) env.set(name, initializerInfo(t));

  const declared = new Map<string, ValueType>();
  if (useDeclared) {
    for (const v of [...graph.valueInfo.values(), ...graph.outputs]) {
      const t = valueTypeFromInfo(v);
      if (t) declared.set(v.name, t);
    }
  }

  let order: Node[];
  try {
    order = topologicalOrder(graph.nodes);
  } catch (e) {
    if (!isUserError(e)) throw e;
    order = graph.nodes; // a cycle: a malformed model, inferred in file order as far as it goes
  }
  for (const node of order) {
    const outs = applyRule(node, env, opsets, fresh, options);
    node.outputs.forEach((name, i) => {
      if (!name) return;
      let t: Inferred = outs[i] ?? UNKNOWN;
      const d = declared.get(name);
      if (d) t = mergeDeclared(t, d);
      env.set(name, t);
    });
  }
  return env;
}

function initializerInfo(t: GraphProto['initializer'][number]): Inferred {
  const type = valueTypeOfTensor(t);
  // Initializers read from files were checked on reading (onnx/check-tensor.ts); deferred ones stay on disk.
  const value = smallTensorNumbers(t);
  return value ? { ...type, value } : type;
}

/** Inference's own result wins; the declaration fills in unknown rank, dtype and generated symbols. */
function mergeDeclared(t: Inferred, d: ValueType): Inferred {
  const dtype = t.dtype || d.dtype;
  if (!t.shape) return { dtype, shape: d.shape };
  if (!d.shape || d.shape.length !== t.shape.length) return { ...t, dtype };
  const shape = t.shape.map((dim, i) => {
    const other = d.shape![i]!;
    if (typeof dim === 'string' && (dim.startsWith('unk__') || dim.startsWith('?') || dim.startsWith('max(')) && !String(other).startsWith('?')) return other;
    return dim;
  });
  return { ...t, dtype, shape };
}

function freshNames(graph: Graph): (hint?: string) => string {
  // Nested bodies share their parent's generator, so a symbol is fresh across the whole model.
  let n = 0;
  const taken = new Set<string>();
  for (const v of graph.inputs) for (const d of valueTypeFromInfo(v)?.shape ?? []) if (typeof d === 'string') taken.add(d);
  return (hint = '') => {
    let name: string;
    do name = `unk__${hint ? `${hint}_` : ''}${n++}`;
    while (taken.has(name));
    taken.add(name);
    return name;
  };
}

function applyRule(node: Node, env: Map<string, Inferred>, opsets: Map<string, number>, fresh: (hint?: string) => string, options: InferOptions): (Inferred | undefined)[] {
  const domain = normalizeDomain(node.domain);
  const rule = (options.rules ?? ruleFor)(domain, node.opType);
  if (!rule) return [];
  const opset = opsets.get(domain) ?? (domain === '' ? 21 : 1);
  const input = (i: number): Inferred | undefined => {
    const name = node.inputs[i];
    if (!name) return undefined;
    const t = env.get(name);
    return t && (t.dtype !== 0 || t.shape) ? t : undefined;
  };
  const ctx: RuleContext = {
    node,
    opset,
    inputCount: node.inputs.length,
    present: (i) => !!node.inputs[i],
    input,
    dtype: (i) => input(i)?.dtype ?? 0,
    shape: (i) => input(i)?.shape,
    rank: (i) => input(i)?.shape?.length,
    value: (i) => {
      const t = input(i);
      return t?.value && isConcrete(t.shape) ? t.value : undefined;
    },
    numbers: (i) => {
      const v = input(i)?.value;
      return v && v.every((x): x is number => typeof x === 'number') ? v : undefined;
    },
    fresh,
    inferBody: (body, inputTypes) => inferBody(body, inputTypes, env, opsets, options, fresh),
  };
  let outs: (Inferred | undefined)[];
  try {
    outs = rule(ctx);
  } catch (e) {
    if (e instanceof ShapeContradiction) return [];
    if (isUserError(e)) throw e;
    throw new Error(`internal error: the shape rule of ${domain ? `${domain}:` : ''}${node.opType} failed on ${describeNode(node)}: ${(e as Error).message}`, { cause: e });
  }
  return outs.map((o) => (o ? sanitize(o) : o));
}

/** Guards the invariants rules rely on: dims are non-negative integers or symbols; values match shapes. */
function sanitize(o: Inferred): Inferred | undefined {
  if (o.shape && !o.shape.every((d) => typeof d === 'string' || (Number.isInteger(d) && d >= 0))) return { dtype: o.dtype };
  if (o.value && !(isConcrete(o.shape) && product(o.shape) === o.value.length)) return { dtype: o.dtype, shape: o.shape };
  return o;
}

function inferBody(body: GraphProto, inputTypes: (ValueType | undefined)[], outer: Map<string, Inferred>, opsets: Map<string, number>, options: InferOptions, fresh: (hint?: string) => string): (ValueType | undefined)[] {
  const graph = graphFromProto(body);
  // Body inputs with a type from the caller replace the (often shapeless) declarations.
  const overrides = new Map<string, Inferred>(outer);
  const inner = inferGraphValues(withInputTypes(graph, inputTypes, overrides), opsets, overrides, options, fresh);
  return graph.outputs.map((o) => {
    const t = inner.get(o.name);
    return t && (t.dtype || t.shape) ? { dtype: t.dtype, shape: t.shape } : undefined;
  });
}

function withInputTypes(graph: Graph, inputTypes: (ValueType | undefined)[], env: Map<string, Inferred>): Graph {
  const keep = graph.inputs.filter((v, i) => {
    const t = inputTypes[i];
    if (!t) return true;
    const declared = valueTypeFromInfo(v);
    env.set(v.name, declared?.shape && !t.shape ? { dtype: t.dtype || declared.dtype, shape: declared.shape } : t);
    return false;
  });
  const g = Object.assign(Object.create(Object.getPrototypeOf(graph)) as Graph, graph);
  g.inputs = keep;
  return g;
}

export type { Dim };
