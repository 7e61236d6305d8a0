/** The IR's passes, checked on small graphs and, where it matters, by running them in ORT. */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { Graph, GraphBuilder, Model, modelToProto, validateGraph } from '../../../compiler/graph/index.ts';
import { eliminateCommonSubexpressions, eliminateDeadCode, liftConstants, toposort, topologicalOrder } from '../../../compiler/passes/index.ts';
import { DataType, encodeModel, makeTensor, makeValueInfo } from '../../../compiler/onnx/index.ts';
import { isUserError } from '../../../contract/errors.ts';
import '../../support/ort.ts';

function graphWithInput(): { g: Graph; b: GraphBuilder } {
  const g = new Graph();
  g.inputs = [makeValueInfo('x', DataType.FLOAT, ['batch', 4])];
  return { g, b: new GraphBuilder(g) };
}

async function run(g: Graph, x: Float32Array, rows: number): Promise<Float32Array> {
  const m = new Model(g);
  m.opsets.set('', 17);
  const session = await ort.InferenceSession.create(encodeModel(modelToProto(m)));
  const out = await session.run({ x: new ort.Tensor('float32', x, [rows, 4]) });
  return out[g.outputNames()[0]!]!.data as Float32Array;
}

test('builder names are unique and readable', (t) => {
  const { g, b } = graphWithInput();
  const a = b.op('Relu', ['x']);
  const c = b.op('Relu', [a]);
  t.not(a, c);
  t.is(a, 'Relu');
  t.is(c, 'Relu_1');
  const pb = new GraphBuilder(g, 'lor2c/m0/');
  t.is(pb.op('Neg', [c]), 'lor2c/m0/Neg');
  t.deepEqual(validateGraph(g), []);
});

test('toposort keeps order where it can and puts producers first', (t) => {
  const { g, b } = graphWithInput();
  const y = b.op('Relu', ['x']);
  const z = b.op('Neg', [y]);
  g.nodes.reverse(); // Neg before Relu: invalid order
  toposort(g);
  t.deepEqual(g.nodes.map((n) => n.opType), ['Relu', 'Neg']);
  t.deepEqual(g.nodes.map((n) => n.outputs[0]), [y, z]);
});

test('a cycle is reported with the nodes on it', (t) => {
  const { g, b } = graphWithInput();
  b.op('Add', ['x', 'q'], {}, { outputs: ['p'], name: 'first' });
  b.op('Relu', ['p'], {}, { outputs: ['q'], name: 'second' });
  const e = t.throws(() => toposort(g));
  t.true(isUserError(e));
  t.regex(e!.message, /cycle: .*'first'.*'second'/);
  t.true(validateGraph(g).some((p) => /cycle/.test(p.message)));
});

test('validator finds undefined reads, double definitions and missing outputs', (t) => {
  const { g, b } = graphWithInput();
  b.op('Relu', ['nowhere'], {}, { outputs: ['r'] });
  b.op('Neg', ['x'], {}, { outputs: ['r'] });
  g.outputs = [makeValueInfo('missing', DataType.FLOAT, [])];
  const messages = validateGraph(g).map((p) => p.message).join('\n');
  t.regex(messages, /reads 'nowhere', which nothing defines/);
  t.regex(messages, /value 'r' is defined twice/);
  t.regex(messages, /graph output 'missing' is never produced/);
});

test('dead-code elimination drops unused nodes and initializers, and keeps results', async (t) => {
  const { g, b } = graphWithInput();
  const w = b.constant('w', DataType.FLOAT, [4, 4], Float32Array.from({ length: 16 }, (_, i) => i / 10));
  const unused = b.constant('unused', DataType.FLOAT, [4], new Float32Array(4));
  const y = b.op('MatMul', ['x', w]);
  b.op('Add', [y, unused]); // dead
  g.outputs = [makeValueInfo(y, DataType.FLOAT, ['batch', 4])];
  const x = Float32Array.from({ length: 8 }, (_, i) => i - 3);
  const before = await run(g, x, 2);
  t.deepEqual(eliminateDeadCode(g), { nodes: 1, initializers: 1 });
  t.false(g.initializers.has(unused));
  t.deepEqual(await run(g, x, 2), before);
});

test('common-subexpression elimination merges identical nodes, not random ones', async (t) => {
  const { g, b } = graphWithInput();
  const a1 = b.op('Softmax', ['x'], { axis: -1 });
  const a2 = b.op('Softmax', ['x'], { axis: -1 });
  const a3 = b.op('Softmax', ['x'], { axis: 0 }); // different attribute: kept
  const s = b.op('Sum', [a1, a2, a3]);
  const r1 = b.op('RandomUniformLike', ['x']);
  const r2 = b.op('RandomUniformLike', ['x']);
  const out = b.op('Sub', [r1, r2]);
  const total = b.op('Add', [s, b.op('Mul', [out, b.scalar(0)])]);
  g.outputs = [makeValueInfo(total, DataType.FLOAT, ['batch', 4])];
  const x = Float32Array.from({ length: 8 }, (_, i) => i * 0.25);
  const before = await run(g, x, 2);
  t.is(eliminateCommonSubexpressions(g), 1);
  t.is(g.nodes.filter((n) => n.opType === 'Softmax').length, 2);
  t.is(g.nodes.filter((n) => n.opType === 'RandomUniformLike').length, 2);
  t.deepEqual(await run(g, x, 2), before);
});

test('Constant nodes are lifted to initializers with the same values', async (t) => {
  const { g, b } = graphWithInput();
  const w = b.op('Constant', [], { value: makeTensor('', DataType.FLOAT, [4, 4], Float32Array.from({ length: 16 }, (_, i) => i)) });
  const k = b.op('Constant', [], { value_floats: [1, 2, 3, 4] });
  const y = b.op('Add', [b.op('MatMul', ['x', w]), k]);
  g.outputs = [makeValueInfo(y, DataType.FLOAT, ['batch', 4])];
  const x = Float32Array.from({ length: 4 }, (_, i) => i + 1);
  const before = await run(g, x, 1);
  t.is(liftConstants(g), 2);
  t.true(g.initializers.has(w));
  t.false(g.nodes.some((n) => n.opType === 'Constant'));
  t.deepEqual(await run(g, x, 1), before);
});

test('topological order of a wide random DAG respects every edge', (t) => {
  const { g, b } = graphWithInput();
  const values = ['x'];
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 300; i++) values.push(b.op('Add', [values[Math.floor(rand() * values.length)]!, values[Math.floor(rand() * values.length)]!]));
  const shuffled = [...g.nodes].sort(() => rand() - 0.5);
  const order = topologicalOrder(shuffled);
  const at = new Map(order.flatMap((n, i) => n.outputs.map((o) => [o, i] as const)));
  t.true(order.every((n, i) => n.inputs.every((inp) => inp === 'x' || at.get(inp)! < i)));
});
