/**
 * GradContext: what a gradient rule sees. Short helpers so a rule reads like its math:
 * `g.x(i)` forward input i, `g.y(i)` forward output i, `g.dy(i)` the gradient flowing into
 * output i, `g.needs(i)` whether input i wants a gradient, `g.sumTo(grad, i)` to undo
 * broadcasting, `g.c(0.5)` a constant of the forward type, and arithmetic emitters.
 *
 * Rules reach the graph only through this class (the Emitter behind it is private), and never
 * change the forward node: an optional output a rule reads is declared in its `saves`, and the
 * differentiator adds it to the forward node before the rule runs.
 */
import type { Attrs } from '../graph/attributes.ts';
import { attrFloat, attrInt, attrInts, attrString } from '../graph/attributes.ts';
import type { Node } from '../graph/graph.ts';
import { describeNode } from '../graph/graph.ts';
import { UserError } from '../../contract/errors.ts';
import type { Dim } from '../shapes/dim.ts';
import { sumToShape } from './broadcast.ts';
import type { Emitter } from '../graph/emitter.ts';
import type { TensorProto } from '../onnx/proto.ts';
import type { DataType } from '../onnx/dtype.ts';
import type { NumericArray } from '../onnx/tensor.ts';
import type { ListOperandValue } from '../ops/attributes.ts';

export class GradContext {
  constructor(
    private readonly e: Emitter,
    readonly node: Node,
    private readonly outputGrads: readonly (string | undefined)[],
    private readonly wanted: readonly boolean[],
  ) {}

  get opset(): number {
    return this.e.opset;
  }

  // ---- the forward node ---------------------------------------------------------------------

  x(i = 0): string {
    return this.node.inputs[i] ?? '';
  }

  /** Whether optional input i is present. */
  has(i: number): boolean {
    return (this.node.inputs[i] ?? '') !== '';
  }

  /** Forward output i. An optional output the forward node omits is there only when the rule's `saves` names it. */
  y(i = 0): string {
    const name = this.node.outputs[i];
    if (!name) throw new Error(`internal error: the gradient rule of ${describeNode(this.node)} reads output ${i}, which the node omits and the rule's 'saves' does not name`);
    return name;
  }

  /** The gradient flowing into output i. Single-output rules are only called when it exists. */
  dy(i = 0): string {
    const g = this.outputGrads[i];
    if (!g) throw new Error(`internal error: no gradient for output ${i} of ${describeNode(this.node)}`);
    return g;
  }

  hasDy(i: number): boolean {
    return this.outputGrads[i] !== undefined;
  }

  /** The gradient into output i, or zeros shaped like that output when nothing flows into it. */
  dyOrZeros(i: number): string {
    return this.outputGrads[i] ?? this.e.zerosLike(this.y(i));
  }

  needs(i: number): boolean {
    return this.wanted[i] === true;
  }

  int(name: string, fallback: number): number {
    return attrInt(this.node, name, fallback);
  }
  float(name: string, fallback: number): number {
    return attrFloat(this.node, name, fallback);
  }
  ints(name: string): number[] | undefined {
    return attrInts(this.node, name);
  }
  string(name: string, fallback: string): string {
    return attrString(this.node, name, fallback);
  }

  // ---- what is known about values ---------------------------------------------------------------

  shape(v: string): Dim[] | undefined {
    return this.e.shape(v);
  }
  dtype(v: string): number | undefined {
    return this.e.dtype(v);
  }
  rank(v: string): number | undefined {
    return this.e.rank(v);
  }
  /** A constant input's integer contents (axes, shapes, starts), when it is a constant. */
  constInts(v: string | undefined): number[] | undefined {
    return this.e.constInts(v);
  }
  /** A list operand's numbers (ops/attributes.ts): the attribute's, or a constant input's; undefined when absent or computed at run time. */
  operandInts(operand: ListOperandValue): number[] | undefined {
    if (operand.kind === 'attribute') return operand.values;
    return operand.kind === 'input' ? this.e.constInts(operand.value) : undefined;
  }
  /** A constant tensor (initializer or Constant node) behind v, when it is one. */
  constTensor(v: string): TensorProto | undefined {
    return this.e.constTensor(v);
  }

  /** Raised where the rule needs a form the graph's opset lacks. */
  requireOpset(version: number, what: string): void {
    this.e.requireOpset(version, what);
  }

  /** A rule that cannot handle this node's configuration: a user-facing compile error. */
  unsupported(why: string): never {
    throw new UserError(`cannot differentiate ${describeNode(this.node)}: ${why}`, 'freeze the parameters upstream of this node, or rewrite this part of the model');
  }

  // ---- emitting ---------------------------------------------------------------------------------

  op(opType: string, inputs: string[], attrs?: Attrs, domain = ''): string {
    return this.e.op(opType, inputs, attrs, domain);
  }

  /** A scalar constant with the element type of `like` (default: forward input 0). */
  c(value: number, like = this.x(0)): string {
    return this.e.constLike(value, like);
  }

  /** A 1-D int64 constant (axes, shapes, starts). */
  int64s(values: readonly number[]): string { return this.e.ints(values); }
  /** A scalar int64 constant. */
  int64(value: number): string { return this.e.int(value); }
  /** A constant tensor of any type and shape. */
  tensor(hint: string, dtype: DataType, dims: number[], data: NumericArray): string {
    return this.e.b.constant(hint, dtype, dims, data);
  }

  // The opset-dependent forms (axes as attribute or input) are the Emitter's.
  reduceSum(x: string, axes: readonly number[] | string | undefined, keepdims: boolean): string { return this.e.reduceSum(x, axes, keepdims); }
  reduceMean(x: string, axes: readonly number[], keepdims: boolean): string { return this.e.reduceMean(x, axes, keepdims); }
  unsqueeze(x: string, axes: readonly number[]): string { return this.e.unsqueeze(x, axes); }
  squeeze(x: string, axes: readonly number[]): string { return this.e.squeeze(x, axes); }
  split(x: string, sizes: readonly number[] | string, axis: number, count: number): string[] { return this.e.split(x, sizes, axis, count); }
  /** Shape(v), emitted once per value. */
  shapeOf(v: string): string { return this.e.shapeOf(v); }
  /** v's shape as an int64 constant when static, else Shape(v). */
  shapeTensor(v: string): string { return this.e.shapeTensor(v); }
  /** Size of dimension `axis` of v as a 1-element int64 tensor. */
  dimOf(v: string, axis: number): string { return this.e.dimOf(v, axis); }
  /** v reshaped to the exact shape of `like`. */
  reshapeLike(v: string, like: string): string { return this.e.reshapeLike(v, like); }
  zerosLike(v: string): string { return this.e.zerosLike(v); }

  add(a: string, b: string): string { return this.op('Add', [a, b]); }
  sub(a: string, b: string): string { return this.op('Sub', [a, b]); }
  mul(a: string, b: string): string { return this.op('Mul', [a, b]); }
  div(a: string, b: string): string { return this.op('Div', [a, b]); }
  neg(a: string): string { return this.op('Neg', [a]); }

  /** Sums `grad` (shaped like the value `shapedLike`, default output 0, or of that shape) back to the shape of input i. */
  sumTo(grad: string, i: number, shapedLike: string | readonly Dim[] = this.y(0)): string {
    return sumToShape(this.e, grad, shapedLike, this.x(i));
  }

  /** v converted to the element type of `like` (nothing emitted when they already agree). */
  castLike(v: string, like: string): string {
    const from = this.e.dtype(v);
    const to = this.e.dtype(like);
    if (from !== undefined && from === to) return v;
    if (to !== undefined) return this.op('Cast', [v], { to });
    return this.op('CastLike', [v, like]);
  }

  /** Records that `v` has the type and shape of `like`; returns v. */
  like(v: string, like: string): string {
    return this.e.sameTypeAs(v, like);
  }
}
