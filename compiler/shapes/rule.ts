/**
 * What a shape rule sees and returns. A rule gets the node, the opset of its domain and what
 * is known of its inputs, and returns one entry per output (undefined = unknown). A rule
 * throws ShapeContradiction on inputs that contradict each other or the op (a malformed
 * graph): the driver turns that into unknown outputs, so a malformed graph degrades inference
 * and never crashes it. Anything else a rule throws is a bug in the rule, reported as one.
 *
 * Besides types, small integer tensors carry their VALUES (flattened, row-major), elements
 * being Dims: 'batch' inside a value means "this element equals the batch size". That is how
 * Shape -> Gather -> Concat -> Reshape chains still give exact or symbolic shapes.
 */
import type { GraphProto } from '../onnx/proto.ts';
import type { Node } from '../graph/graph.ts';
import type { Dim, ValueType } from './types.ts';

export interface Inferred extends ValueType {
  /** The tensor's contents, flattened, when known; only set together with a concrete shape. */
  value?: Dim[];
}

export interface RuleContext {
  readonly node: Node;
  /** The opset version of the node's domain (for ai.onnx: the model's ai.onnx opset). */
  readonly opset: number;
  /** Whether input i is given (not omitted with '' and not past the end). */
  present(i: number): boolean;
  /** What is known of input i (undefined when omitted or unknown). */
  input(i: number): Inferred | undefined;
  readonly inputCount: number;
  /** Input i's dtype, 0 when unknown. */
  dtype(i: number): number;
  shape(i: number): Dim[] | undefined;
  rank(i: number): number | undefined;
  value(i: number): Dim[] | undefined;
  /** Input i's value when every element is a concrete number. */
  numbers(i: number): number[] | undefined;
  /** A symbol no other dim uses, for sizes that depend on data ('NonZero_out_0__1'). */
  fresh(hint?: string): string;
  /** Output types of a subgraph body given its input types (undefined entries: unknown). */
  inferBody(body: GraphProto, inputTypes: (ValueType | undefined)[]): (ValueType | undefined)[];
}

export type Rule = (ctx: RuleContext) => (Inferred | undefined)[];

/** op type -> rule; an op of another domain is keyed 'domain:OpType' ('com.microsoft:Gelu'). */
export type RuleTable = Readonly<Record<string, Rule>>;

/** Inputs that contradict each other or the op's definition: the node's outputs are unknown, not wrong. */
export class ShapeContradiction extends Error {
  override readonly name = 'ShapeContradiction';
}
