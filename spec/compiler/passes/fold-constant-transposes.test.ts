/** Transposes of constants computed once: same outputs in ORT, shared results, overridable inputs left alone. */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { Graph, GraphBuilder, Model, modelToProto } from '../../../compiler/graph/index.ts';
import { foldConstantTransposes } from '../../../compiler/passes/index.ts';
import { DataType, encodeModel, makeTensor, makeValueInfo, tensorArray, tensorDims } from '../../../compiler/onnx/index.ts';
import '../../support/ort.ts';

async function run(g: Graph, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const m = new Model(g);
  m.opsets.set('', 17);
  const session = await ort.InferenceSession.create(encodeModel(modelToProto(m)));
  const out = await session.run(feeds);
  await session.release();
  return out[g.outputNames()[0]!]!.data as Float32Array;
}

/** out = Transpose(C, perm 2,0,1) + Transpose(C, same) (+ Transpose(T) of an overridable initializer T). */
function graph(): Graph {
  const g = new Graph();
  const b = new GraphBuilder(g);
  g.inputs.push(makeValueInfo('x', DataType.FLOAT, [4, 2, 3]), makeValueInfo('T', DataType.FLOAT, [3, 4]));
  g.initializers.set('C', makeTensor('C', DataType.FLOAT, [2, 3, 4], Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3)));
  g.initializers.set('T', makeTensor('T', DataType.FLOAT, [3, 4], Float32Array.from({ length: 12 }, (_, i) => i)));
  const twice = b.op('Add', [b.op('Transpose', ['C'], { perm: [2, 0, 1] }), b.op('Transpose', ['C'], { perm: [2, 0, 1] })]);
  const overridable = b.op('Transpose', ['T']);
  b.op('Add', [b.op('Add', [twice, 'x']), b.op('Unsqueeze', [overridable, b.ints([1])])], undefined, { outputs: ['out'] });
  g.outputs.push(makeValueInfo('out', DataType.FLOAT, [4, 2, 3]));
  return g;
}

test('a Transpose of an initializer becomes the transposed initializer; outputs unchanged in onnxruntime', async (t) => {
  const x = new ort.Tensor('float32', Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)), [4, 2, 3]);
  const before = await run(graph(), { x });
  const g = graph();
  t.is(foldConstantTransposes(g), 2, 'both Transposes of C; not the one of T, which a caller may override');
  t.deepEqual(g.nodes.filter((n) => n.opType === 'Transpose').map((n) => n.inputs[0]), ['T']);
  const folded = [...g.initializers.values()].filter((i) => i.name !== 'C' && i.name !== 'T' && !i.name.startsWith('ints'));
  t.is(folded.length, 1, 'one constant for the two identical Transposes');
  t.deepEqual(tensorDims(folded[0]!), [4, 2, 3]);
  // C[i, j, k] = (12 i + 4 j + k) / 2 - 3 lands at [k, i, j].
  t.is(tensorArray(folded[0]!)[1 * 6 + 1 * 3 + 2], (12 * 1 + 4 * 2 + 1) * 0.5 - 3);
  t.deepEqual(await run(g, { x }), before);
});

test('int64 constants keep their bits; a Transpose that is a graph output is left', (t) => {
  const g = new Graph();
  const b = new GraphBuilder(g);
  const big = BigInt64Array.of(1n, 2n ** 62n, -3n, 4n, 5n, -(2n ** 60n));
  g.initializers.set('I', makeTensor('I', DataType.INT64, [2, 3], big));
  const t1 = b.op('Transpose', ['I']);
  b.op('Identity', [t1], undefined, { outputs: ['y'] });
  b.op('Transpose', ['I'], { perm: [1, 0] }, { outputs: ['direct'] });
  g.outputs.push(makeValueInfo('y', DataType.INT64, [3, 2]), makeValueInfo('direct', DataType.INT64, [3, 2]));
  t.is(foldConstantTransposes(g), 1);
  t.deepEqual([...(tensorArray(g.initializers.get(t1)!) as BigInt64Array)], [1n, 4n, 2n ** 62n, 5n, -3n, -(2n ** 60n)]);
  t.deepEqual(g.nodes.filter((n) => n.opType === 'Transpose').map((n) => n.outputs[0]), ['direct']);
});
