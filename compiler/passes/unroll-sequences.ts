/**
 * Sequences and the Loops that build them, rewritten into plain tensor ops.
 *
 * torch.onnx.export writes `repeat_interleave` along a dim it cannot size, and `unbind` /
 * `chunk` / `split` over such dims, as SplitToSequence, a Loop whose body takes SequenceAt(i)
 * and SequenceInserts a result, and ConcatFromSequence. Differentiating through sequence values
 * and loop bodies is not needed when lor2c's own inference knows the counts (it usually does:
 * the weights fix the head count that torch's tracer saw as a computed number): the Loop is
 * then unrolled (one copy of its body per iteration, the iteration number a constant) and
 * every sequence becomes the list of tensors it holds, so SplitToSequence is a Split,
 * SequenceAt a name, ConcatFromSequence a Concat. The result computes the same values with
 * ops that have gradient rules.
 *
 * All or nothing: when anything is not known statically (a trip count, split sizes, a
 * position, a loop condition that is not constant true, a sequence read by an op this pass
 * does not rewrite, a body with nested subgraphs), the graph is left exactly as it was and
 * the reason is returned, so autodiff's error about the op still names it.
 */
import { attrInt, attrTensor } from '../graph/attributes.ts';
import { GraphBuilder } from '../graph/builder.ts';
import { graphFromProto } from '../graph/convert.ts';
import { describeNode, hasSubgraphs, isDefaultDomain, nodeReads, type Graph, type Model, type Node } from '../graph/graph.ts';
import { DataType } from '../onnx/dtype.ts';
import { tensorNumbers } from '../onnx/tensor.ts';
import { inferGraphValues } from '../shapes/infer.ts';
import type { Inferred } from '../shapes/rule.ts';
import { topologicalOrder } from './toposort.ts';

const SEQUENCE_OPS = new Set(['SequenceEmpty', 'SequenceConstruct', 'SplitToSequence', 'SequenceAt', 'SequenceInsert', 'SequenceErase', 'SequenceLength', 'ConcatFromSequence']);

/** The most loop iterations unrolled (a head count or a chunk count, not a sequence length). */
export const MAX_UNROLLED_ITERATIONS = 256;

export interface UnrollResult {
  /** Whether the graph changed. */
  rewritten: boolean;
  /** Why a graph with sequence ops was left as it was. */
  reason?: string;
}

class Refused extends Error {}


function usesSequences(n: Node): boolean {
  return isDefaultDomain(n) && SEQUENCE_OPS.has(n.opType);
}

/** Renames in one scope: a loop body copy's own names, falling back to the enclosing scope. */
class Scope {
  private readonly names = new Map<string, string>();
  constructor(private readonly parent?: Scope) {}
  set(from: string, to: string): void {
    this.names.set(from, to);
  }
  get(v: string): string {
    if (v === '') return v;
    return this.names.get(v) ?? this.parent?.get(v) ?? v;
  }
  get isBody(): boolean {
    return this.parent !== undefined;
  }
}

export function unrollSequences(model: Model): UnrollResult {
  const graph = model.graph;
  const involved = graph.nodes.some((n) => usesSequences(n) || (isDefaultDomain(n) && n.opType === 'Loop' && loopUsesSequences(n)));
  if (!involved) return { rewritten: false };
  const original = graph.nodes;
  const initializers = new Set(graph.initializers.keys());
  try {
    new Unroller(graph, inferGraphValues(graph, model.opsets), model.opsets.get('') ?? 1).run(topologicalOrder(original));
    return { rewritten: true };
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
    graph.nodes = original;
    for (const name of [...graph.initializers.keys()]) if (!initializers.has(name)) graph.initializers.delete(name);
    return { rewritten: false, reason: e.message };
  }
}

function loopUsesSequences(n: Node): boolean {
  const body = n.attributes.find((a) => a.name === 'body')?.g;
  return body !== undefined && body.node.some((b) => isDefaultDomain(b) && SEQUENCE_OPS.has(b.opType));
}

class Unroller {
  private readonly b: GraphBuilder;
  /** Sequence value -> the tensors it holds, in order. */
  private readonly seqs = new Map<string, string[]>();
  /** Integer contents known statically: inference results, constants, iteration numbers. */
  private readonly known = new Map<string, number[]>();
  private readonly producers = new Map<string, Node>();

  constructor(
    private readonly graph: Graph,
    private readonly values: Map<string, Inferred>,
    private readonly opset: number,
  ) {
    this.b = new GraphBuilder(graph, 'unrolled/');
    for (const n of graph.nodes) for (const o of n.outputs) if (o) this.producers.set(o, n);
  }

  run(nodes: Node[]): void {
    this.graph.nodes = [];
    const outer = new Scope();
    this.process(nodes, outer);
    for (const o of this.graph.outputNames()) if (this.seqs.has(o)) throw new Refused(`graph output '${o}' is a sequence`);
  }

  private ints(v: string): number[] | undefined {
    if (!v) return undefined;
    const local = this.known.get(v);
    if (local) return local;
    const inferred = this.values.get(v)?.value;
    if (inferred && inferred.every((d) => typeof d === 'number')) return inferred as number[];
    const init = this.graph.initializers.get(v);
    if (init && !this.graph.inputs.some((i) => i.name === v) && init.dataType !== DataType.FLOAT && init.dataType !== DataType.DOUBLE) return tensorNumbers(init);
    return undefined;
  }

  private need(v: string, what: string, at: Node): number[] {
    const x = this.ints(v);
    if (!x) throw new Refused(`${what} of ${describeNode(at)} is not known before run time`);
    return x;
  }

  private seq(v: string, at: Node): string[] {
    const s = this.seqs.get(v);
    if (!s) throw new Refused(`the sequence read by ${describeNode(at)} is not built by ops this rewrite knows`);
    return s;
  }

  /** Makes `name` (an output of the node being rewritten) mean tensor `to`. */
  private alias(scope: Scope, name: string, to: string): void {
    if (!name) return;
    if (scope.isBody) scope.set(name, to);
    else this.b.op('Identity', [to], undefined, { outputs: [name] });
    const k = this.ints(to);
    if (k) this.known.set(scope.isBody ? to : name, k);
  }

  private output(scope: Scope, name: string): string {
    if (!name || !scope.isBody) return name;
    const fresh = this.b.fresh(name.replace(/^\/+/, ''));
    scope.set(name, fresh);
    return fresh;
  }

  private process(nodes: readonly Node[], scope: Scope): void {
    for (const n of nodes) {
      const inputs = n.inputs.map((i) => scope.get(i));
      if (isDefaultDomain(n) && SEQUENCE_OPS.has(n.opType)) this.sequenceOp(n, inputs, scope);
      else if (isDefaultDomain(n) && n.opType === 'Loop' && (loopUsesSequences(n) || inputs.slice(2).some((i) => this.seqs.has(i)))) this.unrollLoop(n, inputs, scope);
      else this.plain(n, inputs, scope);
    }
  }

  private plain(n: Node, inputs: string[], scope: Scope): void {
    if (inputs.some((i) => this.seqs.has(i))) throw new Refused(`${describeNode(n)} reads a sequence`);
    if (hasSubgraphs(n)) {
      const implicit = nodeReads(n).filter((r) => !n.inputs.includes(r));
      if (implicit.some((r) => scope.get(r) !== r || this.seqs.has(r))) throw new Refused(`${describeNode(n)} has a subgraph reading rewritten values`);
    }
    const outputs = n.outputs.map((o) => this.output(scope, o));
    const copy: Node = scope.isBody ? { ...n, name: n.name ? this.b.fresh(n.name) : '', inputs, outputs, origin: undefined } : { ...n, inputs, outputs };
    this.graph.nodes.push(copy);
    // Integer facts a body needs (a Cast of the constant condition, a Constant position).
    if (isDefaultDomain(n) && n.opType === 'Constant') {
      const t = attrTensor(n, 'value');
      if (t && t.dataType !== DataType.FLOAT && t.dataType !== DataType.DOUBLE) this.known.set(outputs[0]!, tensorNumbers(t));
    } else if (isDefaultDomain(n) && (n.opType === 'Cast' || n.opType === 'Identity')) {
      const k = this.ints(inputs[0]!);
      if (k && (n.opType === 'Identity' || [DataType.INT64, DataType.INT32, DataType.BOOL].includes(attrInt(n, 'to', 0)))) this.known.set(outputs[0]!, n.opType === 'Cast' && attrInt(n, 'to', 0) === DataType.BOOL ? k.map((x) => (x ? 1 : 0)) : k.map(Math.trunc));
    }
  }

  private sequenceOp(n: Node, inputs: string[], scope: Scope): void {
    const out = n.outputs[0] ?? '';
    const seqOut = (list: string[]) => {
      const name = scope.isBody ? this.output(scope, out) : out;
      this.seqs.set(name, list);
    };
    switch (n.opType) {
      case 'SequenceEmpty': return seqOut([]);
      case 'SequenceConstruct': return seqOut([...inputs]);
      case 'SequenceInsert': {
        const list = [...this.seq(inputs[0]!, n)];
        let pos = inputs[2] ? this.need(inputs[2], 'the position', n)[0]! : list.length;
        if (pos < 0) pos += list.length;
        if (pos < 0 || pos > list.length) throw new Refused(`position out of range in ${describeNode(n)}`);
        list.splice(pos, 0, inputs[1]!);
        return seqOut(list);
      }
      case 'SequenceErase': {
        const list = [...this.seq(inputs[0]!, n)];
        let pos = inputs[1] ? this.need(inputs[1], 'the position', n)[0]! : -1;
        if (pos < 0) pos += list.length;
        if (pos < 0 || pos >= list.length) throw new Refused(`position out of range in ${describeNode(n)}`);
        list.splice(pos, 1);
        return seqOut(list);
      }
      case 'SequenceAt': {
        const list = this.seq(inputs[0]!, n);
        let pos = this.need(inputs[1]!, 'the position', n)[0]!;
        if (pos < 0) pos += list.length;
        if (pos < 0 || pos >= list.length) throw new Refused(`position out of range in ${describeNode(n)}`);
        return this.alias(scope, out, list[pos]!);
      }
      case 'SequenceLength': {
        const length = this.seq(inputs[0]!, n).length;
        const made = this.b.constant('sequence_length', DataType.INT64, [], BigInt64Array.of(BigInt(length)));
        this.known.set(made, [length]);
        return this.alias(scope, out, made);
      }
      case 'SplitToSequence': return seqOut(this.splitToSequence(n, inputs));
      case 'ConcatFromSequence': {
        const list = this.seq(inputs[0]!, n);
        if (list.length === 0) throw new Refused(`${describeNode(n)} concatenates an empty sequence`);
        const axis = attrInt(n, 'axis', 0);
        const parts = attrInt(n, 'new_axis', 0) === 1 ? list.map((t) => this.unsqueeze(t, axis)) : list;
        const name = this.output(scope, out);
        this.b.op('Concat', parts, { axis }, { outputs: [name] });
        return;
      }
    }
  }

  private splitToSequence(n: Node, inputs: string[]): string[] {
    const x = inputs[0]!;
    const axis = attrInt(n, 'axis', 0);
    const shape = this.values.get(n.inputs[0]!)?.shape;
    const dimAt = () => {
      const d = shape?.[axis < 0 ? axis + shape.length : axis];
      if (typeof d !== 'number') throw new Refused(`the size of axis ${axis} split by ${describeNode(n)} is not known before run time`);
      return d;
    };
    let sizes: number[];
    let squeeze = false;
    if (inputs[1]) {
      const split = this.need(inputs[1], 'the split sizes', n);
      const scalar = (this.values.get(n.inputs[1]!)?.shape?.length ?? 1) === 0;
      if (scalar) {
        const d = dimAt();
        const chunk = split[0]!;
        if (chunk <= 0) throw new Refused(`non-positive split in ${describeNode(n)}`);
        sizes = Array.from({ length: Math.ceil(d / chunk) }, (_, i) => Math.min(chunk, d - i * chunk));
      } else sizes = split;
    } else {
      sizes = new Array<number>(dimAt()).fill(1);
      squeeze = attrInt(n, 'keepdims', 1) === 0;
    }
    if (sizes.length === 0 || sizes.length > MAX_UNROLLED_ITERATIONS) throw new Refused(`${describeNode(n)} makes ${sizes.length} pieces`);
    const pieces = sizes.length === 1 ? [this.b.op('Identity', [x])] : this.split(x, sizes, axis);
    return squeeze ? pieces.map((p) => this.squeeze(p, axis)) : pieces;
  }

  private split(x: string, sizes: number[], axis: number): string[] {
    if (this.opset >= 13) return this.b.opN('Split', [x, this.b.ints(sizes)], sizes.length, { axis });
    return this.b.opN('Split', [x], sizes.length, { axis, split: sizes });
  }

  private unsqueeze(x: string, axis: number): string {
    return this.opset >= 13 ? this.b.op('Unsqueeze', [x, this.b.ints([axis])]) : this.b.op('Unsqueeze', [x], { axes: [axis] });
  }

  private squeeze(x: string, axis: number): string {
    return this.opset >= 13 ? this.b.op('Squeeze', [x, this.b.ints([axis])]) : this.b.op('Squeeze', [x], { axes: [axis] });
  }

  private unrollLoop(n: Node, inputs: string[], scope: Scope): void {
    const bodyProto = n.attributes.find((a) => a.name === 'body')?.g;
    if (!bodyProto) throw new Refused(`${describeNode(n)} has no body`);
    const body = graphFromProto(bodyProto);
    if (body.nodes.some(hasSubgraphs)) throw new Refused(`the body of ${describeNode(n)} has nested subgraphs`);
    if (!inputs[0]) throw new Refused(`${describeNode(n)} has no trip count`);
    const trips = this.need(inputs[0], 'the trip count', n)[0]!;
    if (trips < 0 || trips > MAX_UNROLLED_ITERATIONS) throw new Refused(`${describeNode(n)} runs ${trips} times`);
    if (inputs[1] && this.ints(inputs[1])?.[0] !== 1) throw new Refused(`the initial condition of ${describeNode(n)} is not a constant true`);
    let carried = inputs.slice(2);
    const scanCount = body.outputs.length - 1 - carried.length;
    if (scanCount < 0) throw new Refused(`${describeNode(n)} has more carried inputs than body outputs`);
    const scans: string[][] = Array.from({ length: scanCount }, () => []);
    const iterShape = body.inputs[0]?.type?.value.case === 'tensorType' ? body.inputs[0].type.value.value.shape?.dim.length ?? 0 : 0;
    const trueCond = this.b.constant('loop_condition', DataType.BOOL, [], Uint8Array.of(1));
    this.known.set(trueCond, [1]);
    for (let it = 0; it < trips; it++) {
      const inner = new Scope(scope);
      const iteration = this.b.constant(`loop_iteration_${it}`, DataType.INT64, iterShape === 1 ? [1] : [], BigInt64Array.of(BigInt(it)));
      this.known.set(iteration, [it]);
      if (body.inputs[0]) inner.set(body.inputs[0].name, iteration);
      if (body.inputs[1]) inner.set(body.inputs[1].name, trueCond);
      body.inputs.slice(2).forEach((v, j) => inner.set(v.name, carried[j]!));
      for (const [name, t] of body.initializers) inner.set(name, this.b.initializer(name, t));
      this.process(topologicalOrder(body.nodes), inner);
      const cond = inner.get(body.outputs[0]!.name);
      if (this.ints(cond)?.[0] !== 1) throw new Refused(`the condition computed by the body of ${describeNode(n)} is not a constant true`);
      carried = body.outputs.slice(1, 1 + carried.length).map((v) => inner.get(v.name));
      body.outputs.slice(1 + carried.length).forEach((v, k) => scans[k]!.push(inner.get(v.name)));
    }
    carried.forEach((v, j) => {
      const out = n.outputs[j];
      if (!out) return;
      const list = this.seqs.get(v);
      if (list) this.seqs.set(scope.isBody ? this.output(scope, out) : out, list);
      else this.alias(scope, out, v);
    });
    scans.forEach((list, k) => {
      const out = n.outputs[carried.length + k];
      if (!out) return;
      if (list.length === 0) throw new Refused(`${describeNode(n)} stacks no scan outputs`);
      if (list.some((t) => this.seqs.has(t))) throw new Refused(`${describeNode(n)} stacks sequences`);
      this.b.op('Concat', list.map((t) => this.unsqueeze(t, 0)), { axis: 0 }, { outputs: [this.output(scope, out)] });
    });
  }
}
