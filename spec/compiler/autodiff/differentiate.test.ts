/** The differentiation driver: what is differentiated, what is not, and the error for an op without a rule. */
import test from 'ava';
import { Graph, GraphBuilder } from '../../../compiler/graph/index.ts';
import { DataType, makeTensor } from '../../../compiler/onnx/index.ts';
import { differentiate, buildGradientRegistry } from '../../../compiler/autodiff/index.ts';
import { isUserError } from '../../../contract/errors.ts';
import { valueInfoFromType } from '../../../compiler/shapes/types.ts';

/** x -> MatMul(W1) -> Relu -> Mul(w2) -> ReduceSum = loss; W1 trainable, w2 frozen. */
function small(middleOp = 'Relu'): Graph {
  const g = new Graph();
  const b = new GraphBuilder(g);
  g.inputs.push(valueInfoFromType('x', { dtype: DataType.FLOAT, shape: ['n', 3] }));
  g.initializers.set('W1', makeTensor('W1', DataType.FLOAT, [3, 4], new Float32Array(12).fill(0.1)));
  g.initializers.set('w2', makeTensor('w2', DataType.FLOAT, [4], new Float32Array(4).fill(0.5)));
  const h = b.op('MatMul', ['x', 'W1'], undefined, { name: 'proj' });
  const a = b.op(middleOp, [h], undefined, { name: 'act' });
  b.op('ReduceSum', [b.op('Mul', [a, 'w2'], undefined, { name: 'scale' })], { keepdims: 0 }, { outputs: ['loss'], name: 'sum' });
  return g;
}

test('only the requested tensors get gradients; frozen weights get none', (t) => {
  const g = small();
  const before = g.nodes.length;
  const r = differentiate(g, { loss: 'loss', wrt: ['W1'], opset: 18 });
  t.deepEqual([...r.gradients.keys()], ['W1']);
  t.deepEqual(r.unreached, []);
  // Nothing computes d/dw2: no backward node multiplies the activation by dy for the frozen scale.
  const backward = g.nodes.slice(before);
  t.false(backward.some((n) => n.inputs.includes('act') && n.opType === 'Mul'), 'no gradient formed for the frozen w2');
  // Forward values are read, not recomputed: no new MatMul of x with W1.
  t.false(backward.some((n) => n.opType === 'MatMul' && n.inputs.includes('W1') && n.inputs.includes('x')));
});

test('a tensor the loss does not depend on gets zeros and is reported', (t) => {
  const g = small();
  g.initializers.set('unused', makeTensor('unused', DataType.FLOAT, [2], new Float32Array(2)));
  const r = differentiate(g, { loss: 'loss', wrt: ['W1', 'unused'], opset: 18 });
  t.deepEqual(r.unreached, ['unused']);
});

test('an op without a rule on the path is a UserError naming the op, the node and the path', (t) => {
  const g = small('Hardmax');
  const e = t.throws(() => differentiate(g, { loss: 'loss', wrt: ['W1'], opset: 18 }));
  t.true(isUserError(e));
  t.regex(e!.message, /no gradient rule for op Hardmax \(node 'act'\)/);
  t.regex(e!.message, /'W1' -> MatMul 'proj' -> \[Hardmax 'act'\] -> Mul 'scale' -> ReduceSum 'sum' -> loss 'loss'/);
});

test('an op without a rule off the path is fine', (t) => {
  const g = small();
  const b = new GraphBuilder(g);
  b.op('Hardmax', ['x'], undefined, { name: 'side' });
  t.notThrows(() => differentiate(g, { loss: 'loss', wrt: ['W1'], opset: 18 }));
});

test('paths through non-differentiable ops carry no gradient (Shape of a parameter)', (t) => {
  const g = new Graph();
  const b = new GraphBuilder(g);
  g.initializers.set('W', makeTensor('W', DataType.FLOAT, [2, 3], new Float32Array(6).fill(1)));
  g.inputs.push(valueInfoFromType('x', { dtype: DataType.FLOAT, shape: [6] }));
  const shaped = b.op('Reshape', ['x', b.op('Shape', ['W'])]);
  b.op('ReduceSum', [b.op('Mul', [shaped, 'W'])], { keepdims: 0 }, { outputs: ['loss'] });
  const r = differentiate(g, { loss: 'loss', wrt: ['W'], opset: 18 });
  t.deepEqual(r.unreached, []);
});

test('the registry rejects a rule defined twice', (t) => {
  const rule = { grad: () => [] };
  const e = t.throws(() => buildGradientRegistry({ a: { Foo: rule }, b: { Foo: rule } }));
  t.regex(e!.message, /'Foo' is defined twice \(in a and b\)/);
});

test('models below opset 9 are refused clearly', (t) => {
  const e = t.throws(() => differentiate(small(), { loss: 'loss', wrt: ['W1'], opset: 7 }));
  t.true(isUserError(e));
});
