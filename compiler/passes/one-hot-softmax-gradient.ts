/**
 * The cross-entropy gradient through a log-softmax in three passes over the logits, not six.
 *
 * A loss that picks one log-probability per row (the label's: GatherElements of LogSoftmax)
 * gets, from the two ops' gradient rules, the gradient
 *
 *   Z = ScatterElements(zeros, labels, u)     u: the picked values' gradient, one per row
 *   dx = Z - exp(y) * ReduceSum(Z, axis)      y: the log-softmax output
 *
 * which writes a tensor of zeros as large as the logits, scatters into it, sums it, multiplies
 * and subtracts: for a language model's [batch, seq, vocab] logits the largest element-wise
 * work of the step. With one entry per row the sum is that entry, u, and
 *
 *   dx = ScatterElements(exp(y) * -u, labels, u, reduction add)
 *
 * is the same number at every position (-(exp(y) u), and u - exp(y) u at the label), up to the
 * sign of a zero: three passes (exp, multiply, scatter). The identity holds for any factor in
 * place of exp(y). Rewritten only where the pattern is exactly that: the zeros a
 * ConstantOfShape of 0, one index per row along the scatter axis (the indices' shape is the
 * data's with that axis 1), the sum over that axis keeping it, the factor shaped as Z, and no
 * other reader of Z, the sum or the product.
 */
import { attrInt, attrString, getAttr, makeAttrs } from '../graph/attributes.ts';
import { GraphBuilder } from '../graph/builder.ts';
import { constantNumbers, type ConstantScope } from '../graph/constants.ts';
import { isOp, soleReaderIn, type Graph, type Node } from '../graph/graph.ts';
import { tensorNumbers } from '../onnx/tensor.ts';
import { listOperandNumbers, reduceAttributes } from '../ops/attributes.ts';
import { dimEquals, shapesEqual, type Dim } from '../shapes/dim.ts';
import type { ValueType } from '../shapes/types.ts';
import { toposort } from './toposort.ts';

/** Rewrites g in place with the shapes inference gave; returns how many gradients were rewritten. */
export function fuseOneHotSoftmaxGradients(g: Graph, opset: number, shapes: ReadonlyMap<string, ValueType>): number {
  const producers = g.producers();
  const readers = g.consumers();
  const outputs = new Set(g.outputNames());
  const scope: ConstantScope = { graph: g, producer: (v) => producers.get(v) };
  const soleReader = soleReaderIn(readers, outputs);
  const shape = (v: string): readonly Dim[] | undefined => shapes.get(v)?.shape;
  const b = new GraphBuilder(g, 'grad/');
  let rewritten = 0;
  for (const sum of g.nodes) {
    if (!isOp(sum, 'ReduceSum')) continue;
    const scatter = producers.get(sum.inputs[0]!);
    if (!isOp(scatter, 'ScatterElements') || attrString(scatter, 'reduction', 'none') !== 'add') continue;
    const [zeros, labels, u] = scatter.inputs as [string, string, string];
    const z = scatter.outputs[0]!;
    const zShape = shape(z), lShape = shape(labels);
    if (!zShape || !lShape || lShape.length !== zShape.length || !isZeros(producers.get(zeros))) continue;
    const axis = normalize(attrInt(scatter, 'axis', 0), zShape.length);
    // One index per row: the indices' shape is the data's with the scatter axis 1.
    if (!lShape.every((d, i) => (i === axis ? d === 1 : dimEquals(d, zShape[i]!) === true))) continue;
    const r = reduceAttributes(sum, opset);
    const axes = listOperandNumbers(r.axes, (v) => constantNumbers(scope, v));
    if (!r.keepdims || axes?.length !== 1 || normalize(axes[0]!, zShape.length) !== axis) continue;
    // Z read by the sum and the subtraction only; the sum by the product only; the product by the subtraction only.
    const zReaders = readers.get(z) ?? [];
    const mul = soleReader(sum.outputs[0]!);
    if (!isOp(mul, 'Mul') || outputs.has(z) || zReaders.length !== 2) continue;
    const sub = soleReader(mul.outputs[0]!);
    if (!isOp(sub, 'Sub') || sub.inputs[0] !== z || sub.inputs[1] !== mul.outputs[0] || !zReaders.includes(sub)) continue;
    // The factor (exp(y) here; the identity holds for any) shaped as Z, so the new scatter's data is.
    const factor = mul.inputs[0] === sum.outputs[0] ? mul.inputs[1]! : mul.inputs[0]!;
    // exp(y), emitted by the log-softmax's gradient rule, has y's shape where its own is not recorded.
    const fromExp = producers.get(factor);
    const fShape = shape(factor) ?? (isOp(fromExp, 'Exp') ? shape(fromExp.inputs[0]!) : undefined);
    if (!fShape || !shapesEqual(fShape, zShape)) continue;
    // dx = ScatterElements(factor * -u, labels, u, add), written by the Sub's node under its output's name.
    const spread = b.op('Mul', [factor, b.op('Neg', [u])]);
    sub.opType = 'ScatterElements';
    sub.name = b.fresh('ScatterElements_node');
    sub.inputs = [spread, labels, u];
    sub.attributes = makeAttrs({ axis, reduction: 'add' });
    rewritten++;
  }
  if (rewritten > 0) toposort(g);
  return rewritten;
}

function normalize(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** A ConstantOfShape whose fill is 0 (its default fill is a float 0). */
function isZeros(n: Node | undefined): boolean {
  if (!isOp(n, 'ConstantOfShape')) return false;
  const value = getAttr(n, 'value')?.t;
  return value === undefined || tensorNumbers(value).every((v) => v === 0);
}
