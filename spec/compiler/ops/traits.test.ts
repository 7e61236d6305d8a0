/** The op traits table: its facts agree with the rules that read them. */
import test from 'ava';
import { Graph, GraphBuilder } from '../../../compiler/graph/index.ts';
import { DataType, makeTensor } from '../../../compiler/onnx/index.ts';
import { differentiate, GRADIENT_RULES } from '../../../compiler/autodiff/index.ts';
import { OP_TRAITS } from '../../../compiler/ops/traits.ts';
import { valueInfoFromType } from '../../../compiler/shapes/types.ts';

test('an op that names its differentiable inputs has a gradient rule, and carries a gradient', (t) => {
  const named = Object.entries(OP_TRAITS).filter(([, traits]) => traits.differentiableInputs);
  t.true(named.length >= 20);
  for (const [op, traits] of named) {
    const rule = GRADIENT_RULES.get(op);
    t.truthy(rule, `${op} names differentiable inputs but has no gradient rule`);
    t.not(rule, 'nondifferentiable', op);
    t.false(traits.nondifferentiable === true, op);
  }
});

/** loss = sum(Pad(x, pads[, W])): W, when read, is the pad value (input 2). */
function padded(readsW: boolean): Graph {
  const g = new Graph();
  const b = new GraphBuilder(g);
  g.inputs.push(valueInfoFromType('x', { dtype: DataType.FLOAT, shape: [4] }));
  g.initializers.set('W', makeTensor('W', DataType.FLOAT, [], new Float32Array([0.5])));
  const pads = b.constant('pads', DataType.INT64, [2], new BigInt64Array([1n, 1n]));
  b.op('ReduceSum', [b.op('Pad', readsW ? ['x', pads, 'W'] : ['x', pads])], { keepdims: 0 }, { outputs: ['loss'] });
  return g;
}

test('a parameter that reaches only an input the traits call non-differentiable is not differentiated', (t) => {
  // Pad's traits give a gradient through input 0 only: its rule is never asked for the pad value.
  const read = differentiate(padded(true), { loss: 'loss', wrt: ['W'], opset: 18 });
  const unread = differentiate(padded(false), { loss: 'loss', wrt: ['W'], opset: 18 });
  t.deepEqual(read.unreached, ['W']);
  t.is(read.nodesAdded, unread.nodesAdded, 'only the zeros of W are emitted, as when W is not read at all');
});
