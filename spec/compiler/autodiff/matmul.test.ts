/** The MatMul rule's shapes: a batched product's gradient is summed statically where the shapes tell. */
import test from 'ava';
import { Graph, GraphBuilder } from '../../../compiler/graph/index.ts';
import { DataType, makeTensor } from '../../../compiler/onnx/index.ts';
import { differentiate } from '../../../compiler/autodiff/index.ts';
import { valueInfoFromType } from '../../../compiler/shapes/types.ts';

/** Attention's shape of products over symbolic dims: scores [b, s, s] = h h^T, then scores @ h. */
function attentionLike(): { g: Graph; before: number } {
  const g = new Graph();
  const b = new GraphBuilder(g);
  g.inputs.push(valueInfoFromType('x', { dtype: DataType.FLOAT, shape: ['batch', 'seq', 4] }));
  g.initializers.set('W', makeTensor('W', DataType.FLOAT, [4, 4], new Float32Array(16).fill(0.1)));
  const h = b.op('MatMul', ['x', 'W']);
  const scores = b.op('MatMul', [h, b.op('Transpose', [h], { perm: [0, 2, 1] })]);
  b.op('ReduceSum', [b.op('MatMul', [scores, h])], { keepdims: 0 }, { outputs: ['loss'] });
  return { g, before: g.nodes.length };
}

test('the product of two [batch, seq, *] activations sums nothing back: no reduction over axes computed in the graph', (t) => {
  const { g, before } = attentionLike();
  differentiate(g, { loss: 'loss', wrt: ['W'], opset: 18 });
  const backward = g.nodes.slice(before).map((n) => n.opType);
  // The gradient of scores is [batch, seq, seq] like scores itself; the forward output is
  // [batch, seq, 4], and reading its shape instead used to hide that behind NonZero axes.
  t.false(backward.includes('NonZero'));
  t.false(backward.includes('ReduceSum'));
});
