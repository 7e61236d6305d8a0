/**
 * The Slice gradient on what torch.onnx.export writes WITHOUT constant folding, as in LLaMA's
 * rotate_half (`x[..., half:]` with `half = x.shape[-1] // 2`): the axes are Unsqueeze(Constant),
 * not a Constant, and the start is computed from Shape at run time. The axes must be read as
 * constant numbers through the Unsqueeze (Emitter.constInts), and the run-time pads must be
 * valid at opset 11, where Min and Max have no int64 kernels.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { differentiate } from '../../../compiler/autodiff/index.ts';
import { Emitter, Graph, GraphBuilder, Model, modelToProto } from '../../../compiler/graph/index.ts';
import { DataType, encodeModel, makeTensor } from '../../../compiler/onnx/index.ts';
import { valueInfoFromType } from '../../../compiler/shapes/types.ts';

/** loss = sum(Slice(X, half, INT_MAX, axes = Unsqueeze(1)) * w), half = Shape(X)[1] / 2 computed in-graph. */
function unfoldedSlice(opset: number): { graph: Graph; w: Float32Array } {
  const g = new Graph();
  const b = new GraphBuilder(g);
  const x = Float32Array.from({ length: 2 * 6 }, (_, i) => i / 7 - 0.5);
  const w = Float32Array.from({ length: 2 * 3 }, (_, i) => 1 + i);
  g.initializers.set('X', makeTensor('X', DataType.FLOAT, [2, 6], x));
  g.inputs.push(valueInfoFromType('w', { dtype: DataType.FLOAT, shape: [2, 3] }));
  const scalar = (v: number) => b.constant(`s${v}`, DataType.INT64, [], BigInt64Array.of(BigInt(v)));
  const unsqueeze = (v: string) => (opset >= 13 ? b.op('Unsqueeze', [v, b.ints([0])]) : b.op('Unsqueeze', [v], { axes: [0] }));
  const half = b.op('Div', [b.op('Gather', [b.op('Shape', ['X']), scalar(1)], { axis: 0 }), scalar(2)]);
  const sliced = b.op('Slice', ['X', unsqueeze(half), unsqueeze(scalar(2 ** 31 - 1)), unsqueeze(scalar(1)), unsqueeze(scalar(1))]);
  b.op('ReduceSum', [b.op('Mul', [sliced, 'w'])], { keepdims: 0 }, { outputs: ['loss'] });
  return { graph: g, w };
}

test('constInts reads constants through Unsqueeze, Reshape, Cast and Concat, and nothing computed at run time', (t) => {
  const g = new Graph();
  const b = new GraphBuilder(g);
  g.inputs.push(valueInfoFromType('n', { dtype: DataType.INT64, shape: [] }));
  const three = b.constant('three', DataType.INT64, [], BigInt64Array.of(3n));
  const axes = b.op('Unsqueeze', [three, b.ints([0])]);
  const joined = b.op('Concat', [axes, b.op('Cast', [b.ints([5, -1])], { to: DataType.INT64 })], { axis: 0 });
  const reshaped = b.op('Reshape', [joined, b.ints([3])]);
  const runtime = b.op('Unsqueeze', ['n', b.ints([0])]);
  const mixed = b.op('Concat', [axes, runtime], { axis: 0 });
  const toFloat = b.op('Cast', [axes], { to: DataType.FLOAT });
  const e = new Emitter(g, 17);
  t.deepEqual(e.constInts(axes), [3]);
  t.deepEqual(e.constInts(joined), [3, 5, -1]);
  t.deepEqual(e.constInts(reshaped), [3, 5, -1]);
  t.is(e.constInts(runtime), undefined);
  t.is(e.constInts(mixed), undefined);
  t.is(e.constInts(toFloat), undefined, 'a cast to float is not an integer list');
});

for (const opset of [11, 14, 17]) {
  test(`the gradient of an unfolded torch Slice (axes Unsqueeze(Constant), start from Shape) runs and is right at opset ${opset}`, async (t) => {
    const { graph, w } = unfoldedSlice(opset);
    const r = differentiate(graph, { loss: 'loss', wrt: ['X'], opset });
    graph.outputs = [valueInfoFromType(r.gradients.get('X')!, { dtype: DataType.FLOAT })];
    const model = new Model(graph);
    model.opsets.set('', opset);
    const proto = modelToProto(model);
    proto.irVersion = 7n;
    const session = await ort.InferenceSession.create(encodeModel(proto));
    const out = await session.run({ w: new ort.Tensor('float32', w, [2, 3]) });
    const grad = Array.from(out[graph.outputs[0]!.name]!.data as Float32Array);
    // d loss / d X: w in the sliced columns 3..5, zero in 0..2.
    t.deepEqual(grad, [0, 0, 0, 1, 2, 3, 0, 0, 0, 4, 5, 6]);
  });
}
