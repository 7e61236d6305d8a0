/**
 * What one contrib op's lowering works with: the node, an Emitter that writes ordinary ai.onnx
 * ops in the form the model's opset requires, and the two things every lowering needs beyond
 * that: binding a result to the node's own output name (so the rest of the graph reads it
 * unchanged) and refusing a variant it cannot reproduce exactly, by name.
 */
import { describeNode, normalizeDomain, type Node } from '../../graph/index.ts';
import type { Emitter } from '../../graph/emitter.ts';
import { UserError } from '../../../contract/errors.ts';

/** Re-export advice every refusal ends with. */
export const REEXPORT_HINT = "re-export the model without onnxruntime's transformer optimizer (or Optimum's optimization), which writes these fused ops; lor2c reads the plain ONNX export";

export class LoweringContext {
  constructor(
    readonly e: Emitter,
    readonly node: Node,
    /** Values read by nodes outside this one: an optional output nobody reads need not be built. */
    private readonly read: ReadonlySet<string>,
    /** Where this lowering's nodes start in the graph's node list. */
    private readonly start: number,
    /** Re-runs shape inference over the nodes written so far, for a value it did not know. */
    private readonly learn: (value: string) => void,
  ) {}

  private readonly renamed = new Map<string, string>();

  /** Input `i`, or undefined when omitted. */
  input(i: number): string | undefined {
    const v = this.node.inputs[i];
    return v ? v : undefined;
  }

  /** Input `i`, which the op's spec requires. */
  required(i: number, what: string): string {
    const v = this.input(i);
    if (!v) this.refuse(`its required input ${i} (${what}) is missing`);
    return v;
  }

  /** Whether output `i` is named and read by the graph (or is a graph output). */
  wants(i: number): boolean {
    const v = this.node.outputs[i];
    return !!v && this.read.has(v);
  }

  /** A scalar constant of the node's element type (that of its first input). */
  scalar(value: number): string {
    return this.e.constLike(value, this.node.inputs[0]!);
  }

  /** The static dims of a value, as far as inference knows them. */
  dims(v: string): (number | string)[] | undefined {
    if (!this.e.shape(v)) this.learn(v);
    return this.e.shape(v) as (number | string)[] | undefined;
  }

  /**
   * Makes `value` the node's output `i` (only when that output is named): the node this
   * lowering wrote it with is renamed (and so are its readers here), so no Identity is left on
   * a residual stream or a projection's path. A value bound twice is copied by an Identity.
   */
  bind(i: number, value: string): void {
    const name = this.node.outputs[i];
    if (!name) return;
    const earlier = this.renamed.get(value);
    const mine = this.e.graph.nodes.slice(this.start);
    const producer = mine.find((n) => n.outputs.includes(value));
    if (earlier !== undefined || !producer) {
      this.e.b.op('Identity', [earlier ?? value], undefined, { outputs: [name] });
      return;
    }
    producer.outputs[producer.outputs.indexOf(value)] = name;
    for (const n of mine) n.inputs = n.inputs.map((v) => (v === value ? name : v));
    this.renamed.set(value, name);
  }

  /** Stops with what this lowering cannot reproduce exactly, naming the node and the op. */
  refuse(what: string, hint = REEXPORT_HINT): never {
    throw new UserError(`${normalizeDomain(this.node.domain) || 'ai.onnx'} ${describeNode(this.node)}: ${what}, which lor2c cannot rewrite into plain ONNX ops exactly`, hint);
  }
}

export type Lowering = (c: LoweringContext) => void;
