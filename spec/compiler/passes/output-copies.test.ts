/** removeOutputCopies: outputs written by their producers, readers renamed, the cases it must leave alone kept. */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { Graph, GraphBuilder, Model, modelToProto, validateGraph } from '../../../compiler/graph/index.ts';
import { removeOutputCopies } from '../../../compiler/passes/index.ts';
import { DataType, encodeModel, makeValueInfo } from '../../../compiler/onnx/index.ts';
import '../../support/ort.ts';

async function run(g: Graph, x: Float32Array): Promise<Record<string, number[]>> {
  const m = new Model(g);
  m.opsets.set('', 17);
  const session = await ort.InferenceSession.create(encodeModel(modelToProto(m)));
  const out = await session.run({ x: new ort.Tensor('float32', x, [2]) });
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...(v.data as Float32Array)]]));
}

test('an output copy of a computed value goes, its producer writes the output and later readers read it', async (t) => {
  const g = new Graph();
  g.inputs = [makeValueInfo('x', DataType.FLOAT, [2])];
  const b = new GraphBuilder(g);
  const m = b.op('Mul', ['x', 'x']); // read by the output copy and by Add
  b.op('Identity', [m], undefined, { outputs: ['m.next'] });
  const s = b.op('Add', [m, 'x']);
  b.op('Identity', [s], undefined, { outputs: ['s.next'] });
  b.op('Identity', ['x'], undefined, { outputs: ['x.copy'] }); // a graph input: kept
  const twice = b.op('Neg', ['x']);
  b.op('Identity', [twice], undefined, { outputs: ['a'] }); // one value, two outputs: kept
  b.op('Identity', [twice], undefined, { outputs: ['b'] });
  g.outputs = ['m.next', 's.next', 'x.copy', 'a', 'b'].map((n) => makeValueInfo(n, DataType.FLOAT, [2]));
  const before = await run(g, Float32Array.of(2, 3));
  t.is(removeOutputCopies(g), 2);
  t.deepEqual(validateGraph(g), []);
  t.deepEqual(g.nodes.filter((n) => n.opType === 'Identity').map((n) => n.outputs[0]), ['x.copy', 'a', 'b']);
  t.deepEqual(g.nodes.find((n) => n.opType === 'Add')!.inputs, ['m.next', 'x']);
  const after = await run(g, Float32Array.of(2, 3));
  t.deepEqual(after, before);
  t.deepEqual(after['s.next'], [6, 12]);
});

test('a value that is itself a graph output keeps its copy', (t) => {
  const g = new Graph();
  g.inputs = [makeValueInfo('x', DataType.FLOAT, [2])];
  const b = new GraphBuilder(g);
  const y = b.op('Relu', ['x']);
  b.op('Identity', [y], undefined, { outputs: ['y.next'] });
  g.outputs = [y, 'y.next'].map((n) => makeValueInfo(n, DataType.FLOAT, [2]));
  t.is(removeOutputCopies(g), 0);
  t.is(g.nodes.length, 2);
});
