/**
 * Reverse-mode differentiation of a Graph. Appends the backward nodes to the graph and
 * returns, for each requested tensor, the name of the value holding dLoss/dTensor.
 *
 * Only what is needed is emitted: a node is differentiated when one of its outputs both
 * depends (through differentiable input slots) on a requested tensor and feeds the loss; a
 * rule is asked only for the inputs that depend on a requested tensor. Forward values are
 * read, never recomputed. A node on such a path without a rule is a UserError naming the
 * op, the node, and a path from the parameter to the loss.
 */
import type { Graph, Node } from '../graph/graph.ts';
import { hasSubgraphs, nodeReads } from '../graph/graph.ts';
import { describeNode } from '../graph/graph.ts';
import { toposort } from '../passes/toposort.ts';
import { isFloatType } from '../onnx/dtype.ts';
import { UserError } from '../../contract/errors.ts';
import type { ValueType } from '../shapes/types.ts';
import { inferGraphShapes } from '../shapes/infer.ts';
import { GradContext } from './context.ts';
import { Emitter } from '../graph/emitter.ts';
import { gradientRuleFor } from './registry.ts';
import { differentiableInputs } from '../ops/traits.ts';

/** Gradients use Expand (opset 8), Where and ConstantOfShape (opset 9). */
export const MIN_OPSET = 9;

export interface DifferentiateOptions {
  /** The scalar value to differentiate (any shape works: its gradient seed is all ones). */
  loss: string;
  /** Tensors to differentiate with respect to: trainable initializers or graph inputs. */
  wrt: readonly string[];
  /** The graph's ai.onnx opset: decides the form of emitted nodes. */
  opset: number;
  /**
   * Static types (compiler/shapes): fewer nodes where shapes are known; gradients are correct
   * without them (broadcast reductions then happen in-graph, which needs opset 13). Default:
   * inferred here; pass an empty map to use only what the graph declares.
   */
  shapes?: Map<string, ValueType>;
  /** Other domains' opsets, for shape inference (default com.microsoft 1). */
  opsets?: Map<string, number>;
  /**
   * Fed inputs whose symbolic dims take one size each at run time (the trainer's batch inputs):
   * the backward reads those sizes off these inputs' shapes instead of off forward values, so
   * no forward value is kept alive for its shape alone (Emitter.readSizesFrom).
   */
  sizesFrom?: readonly string[];
  /** A value holding dOutput/dLoss to start from instead of ones (e.g. a loss scale). */
  seed?: string;
  /** Prefix of every emitted name (default 'grad/'). */
  prefix?: string;
}

export interface DifferentiateResult {
  /** wrt tensor -> value holding its gradient (zeros for a tensor the loss does not depend on). */
  gradients: Map<string, string>;
  /** wrt tensors the loss does not depend on (their gradient is zeros). */
  unreached: string[];
  /** Number of nodes appended. */
  nodesAdded: number;
  /** The emitter used (its type knowledge covers the new values): callers may keep emitting. */
  emitter: Emitter;
}

/**
 * Phase by phase: check the request; find the values that vary with a wrt tensor and those
 * the loss depends on; seed the loss; walk the forward nodes backwards, asking each rule on the
 * path for its inputs' gradients; sum what reaches each wrt tensor.
 */
export function differentiate(graph: Graph, opts: DifferentiateOptions): DifferentiateResult {
  if (opts.opset < MIN_OPSET) throw new UserError(`autodiff needs ai.onnx opset ${MIN_OPSET} or later (Expand, Where, ConstantOfShape); the model imports opset ${opts.opset}`, 'convert the model to a newer opset (onnx.version_converter) first');
  toposort(graph);
  const forward = [...graph.nodes];
  const before = graph.nodes.length;
  const e = new Emitter(graph, opts.opset, new Map(opts.shapes ?? inferForRules(graph, opts)), opts.prefix ?? 'grad/');
  if (opts.sizesFrom) e.readSizesFrom(opts.sizesFrom);
  const defined = graph.definedNames();
  for (const w of opts.wrt) if (!defined.has(w)) throw new UserError(`cannot differentiate with respect to '${w}': the graph has no such value`);
  if (!defined.has(opts.loss)) throw new UserError(`the loss '${opts.loss}' is not a value of the graph`);

  const isFloat = (v: string) => {
    const t = e.dtype(v);
    return t === undefined || isFloatType(t);
  };
  const path: GradientPath = { varied: variedValues(forward, opts.wrt, isFloat), feedsLoss: valuesFeeding(forward, opts.loss) };
  if (!isFloat(opts.loss)) throw new UserError(`the loss '${opts.loss}' is not a floating-point value`);
  const sums = new GradientSums(e);
  sums.add(opts.loss, opts.seed ?? onesLike(e, opts.loss));
  propagate(e, forward, path, sums, opts);
  return { ...gradientsOf(e, opts.wrt, sums), nodesAdded: graph.nodes.length - before, emitter: e };
}

/** Which values lie between a wrt tensor and the loss. */
interface GradientPath {
  /** Values that depend differentiably on a wrt tensor. */
  varied: Set<string>;
  /** Values the loss depends on. */
  feedsLoss: Set<string>;
}

function onPath(path: GradientPath, v: string): boolean {
  return path.varied.has(v) && path.feedsLoss.has(v);
}

/** Values that depend differentiably on a wrt tensor (through differentiable slots). An integer or boolean value never does. */
function variedValues(forward: readonly Node[], wrt: readonly string[], isFloat: (v: string) => boolean): Set<string> {
  const varied = new Set(wrt);
  for (const node of forward) {
    const entry = gradientRuleFor(node.domain, node.opType);
    if (entry === 'nondifferentiable') continue;
    const reads = hasSubgraphs(node) ? nodeReads(node) : differentiableInputs(node).map((i) => node.inputs[i] ?? '');
    if (!reads.some((r) => r && varied.has(r))) continue;
    for (const o of node.outputs) if (o && isFloat(o)) varied.add(o);
  }
  return varied;
}

/** Values the loss depends on. */
function valuesFeeding(forward: readonly Node[], loss: string): Set<string> {
  const feedsLoss = new Set([loss]);
  for (let i = forward.length - 1; i >= 0; i--) {
    const node = forward[i]!;
    if (node.outputs.some((o) => o && feedsLoss.has(o))) for (const r of nodeReads(node)) feedsLoss.add(r);
  }
  return feedsLoss;
}

/** The gradient contributions reaching each value, summed once when the value's total is read. */
class GradientSums {
  private readonly contributions = new Map<string, string[]>();
  constructor(private readonly e: Emitter) {}

  add(v: string, g: string): void {
    let list = this.contributions.get(v);
    if (!list) this.contributions.set(v, (list = []));
    list.push(g);
  }

  total(v: string): string | undefined {
    const list = this.contributions.get(v);
    if (!list || list.length === 0) return undefined;
    const g = list.length === 1 ? list[0]! : this.e.op('Sum', list);
    this.contributions.set(v, [g]);
    return this.e.sameTypeAs(g, v);
  }
}

/** The backward walk: every node on the path, last first, gives its rule's gradients for the inputs that want one. */
function propagate(e: Emitter, forward: readonly Node[], path: GradientPath, sums: GradientSums, opts: DifferentiateOptions): void {
  for (let i = forward.length - 1; i >= 0; i--) {
    const node = forward[i]!;
    if (!node.outputs.some((o) => o && onPath(path, o))) continue;
    const entry = gradientRuleFor(node.domain, node.opType);
    if (entry === 'nondifferentiable') continue;
    if (!entry || hasSubgraphs(node)) throw missingRule(node, forward, path.varied, path.feedsLoss, opts, entry === undefined);
    const outputGrads = node.outputs.map((o) => (o && onPath(path, o) ? sums.total(o) : undefined));
    if (outputGrads.every((g) => g === undefined)) continue;
    const slots = new Set(differentiableInputs(node));
    const wanted = node.inputs.map((x, k) => x !== '' && slots.has(k) && path.varied.has(x));
    if (!wanted.some(Boolean)) continue;
    const ctx = new GradContext(e, node, outputGrads, wanted);
    if (entry.saves) saveOutputs(e, node, entry.saves(ctx));
    const grads = entry.grad(ctx);
    node.inputs.forEach((x, k) => {
      const g = grads[k];
      if (wanted[k] && g) sums.add(x, g);
    });
  }
}

/** Each wrt tensor's summed gradient; zeros for one the loss does not depend on. */
function gradientsOf(e: Emitter, wrt: readonly string[], sums: GradientSums): Pick<DifferentiateResult, 'gradients' | 'unreached'> {
  const gradients = new Map<string, string>();
  const unreached: string[] = [];
  for (const w of wrt) {
    let g = sums.total(w);
    if (!g) {
      unreached.push(w);
      g = e.zerosLike(w);
    }
    gradients.set(w, g);
  }
  return { gradients, unreached };
}

/** Adds the optional outputs a rule reads to the forward node where it omits them (computed once, by the forward kernel). */
function saveOutputs(e: Emitter, node: Node, slots: readonly number[]): void {
  for (const i of slots) {
    if (node.outputs[i]) continue;
    while (node.outputs.length <= i) node.outputs.push('');
    node.outputs[i] = e.b.fresh(`${node.name || node.opType}_out${i}`);
  }
}

/** Shapes let rules emit smaller gradients; where one is unknown, every rule still emits a correct one. */
function inferForRules(graph: Graph, opts: DifferentiateOptions): Map<string, ValueType> {
  const opsets = new Map([['com.microsoft', 1], ...(opts.opsets ?? []), ['', opts.opset]]);
  return inferGraphShapes(graph, opsets);
}

function onesLike(e: Emitter, v: string): string {
  const s = e.shape(v);
  if (s && s.length === 0) return e.constLike(1, v);
  return e.sameTypeAs(e.op('Expand', [e.constLike(1, v), e.shapeOf(v)]), v);
}

/** The error for a node on a parameter-to-loss path that has no gradient rule. */
function missingRule(node: Node, forward: readonly Node[], varied: Set<string>, feedsLoss: Set<string>, opts: DifferentiateOptions, noRule: boolean): UserError {
  const producer = new Map<string, Node>();
  for (const n of forward) for (const o of n.outputs) if (o) producer.set(o, n);
  // Walk back from the node to a wrt tensor through varied values.
  const back: string[] = [];
  let cur: Node | undefined = node;
  let source = '';
  const seen = new Set<Node>();
  while (cur && !seen.has(cur)) {
    seen.add(cur);
    const input: string | undefined = nodeReads(cur).find((r) => varied.has(r));
    if (!input) break;
    if (opts.wrt.includes(input)) {
      source = input;
      break;
    }
    cur = producer.get(input);
    if (cur) back.unshift(describeNode(cur));
  }
  // Walk forward from the node to the loss through values the loss depends on.
  const consumers = new Map<string, Node[]>();
  for (const n of forward) for (const r of nodeReads(n)) (consumers.get(r) ?? consumers.set(r, []).get(r)!).push(n);
  const ahead: string[] = [];
  let value = node.outputs.find((o) => o && feedsLoss.has(o) && varied.has(o));
  const visited = new Set<string>();
  while (value && value !== opts.loss && !visited.has(value)) {
    visited.add(value);
    const next: Node | undefined = (consumers.get(value) ?? []).find((n) => n.outputs.some((o) => o && feedsLoss.has(o)));
    if (!next) break;
    ahead.push(describeNode(next));
    value = next.outputs.find((o) => o && feedsLoss.has(o));
  }
  const path = [`'${source || '?'}'`, ...back, `[${describeNode(node)}]`, ...ahead, `loss '${opts.loss}'`].join(' -> ');
  const what = noRule
    ? `no gradient rule for op ${node.domain ? `${node.domain}.` : ''}${node.opType}`
    : `op ${node.opType} has a subgraph, which autodiff does not differentiate`;
  return new UserError(`${what} (node '${node.name || node.outputs[0]}'), which lies between a trainable tensor and the loss: ${path}`, 'freeze the parameters upstream of this node, or replace the op with supported ones');
}
