/**
 * fuseActivations: the written-out GELU and SiLU forms become one com.microsoft node each,
 * computing what ORT computes for the written-out graph after its own fusions; patterns whose
 * intermediates are read elsewhere, whose constants differ, or that are not float32 stay.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { Graph, GraphBuilder, Model, modelToProto, validateGraph } from '../../../compiler/graph/index.ts';
import { fuseActivations } from '../../../compiler/passes/fuse-activations.ts';
import { DataType, encodeModel, makeValueInfo } from '../../../compiler/onnx/index.ts';
import '../../support/ort.ts';

const N = 64;
const X = Float32Array.from({ length: N }, (_, i) => (i / N) * 12 - 6);

function model(build: (b: GraphBuilder, c: (v: number) => string) => string[], dtype = DataType.FLOAT): Model {
  const g = new Graph();
  g.inputs = [makeValueInfo('x', dtype, [N])];
  const b = new GraphBuilder(g);
  const c = (v: number) => b.constant('k', dtype, [], dtype === DataType.DOUBLE ? Float64Array.of(v) : Float32Array.of(v));
  g.outputs = build(b, c).map((o) => makeValueInfo(o, dtype, [N]));
  const m = new Model(g);
  m.opsets.set('', 17);
  return m;
}

const fuse = fuseActivations;

async function run(m: Model): Promise<Record<string, number[]>> {
  const session = await ort.InferenceSession.create(encodeModel(modelToProto(m)), { graphOptimizationLevel: 'all' });
  const out = await session.run({ x: new ort.Tensor('float32', X, [N]) });
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...(v.data as Float32Array)]]));
}

const opTypes = (m: Model) => m.graph.nodes.map((n) => (n.domain ? `${n.domain}:${n.opType}` : n.opType));

test('torch\'s GELU forms, both Mul orders and x * (1 / sqrt 2), and SiLU in either operand order become one node each', async (t) => {
  const m = model((b, c) => [
    b.op('Mul', [b.op('Mul', ['x', b.op('Add', [b.op('Erf', [b.op('Div', ['x', c(Math.SQRT2)])]), c(1)])]), c(0.5)]),
    b.op('Mul', [b.op('Mul', ['x', c(0.5)]), b.op('Add', [c(1), b.op('Erf', [b.op('Mul', ['x', c(Math.SQRT1_2)])])])]),
    b.op('Mul', ['x', b.op('Sigmoid', ['x'])]),
    b.op('Mul', [b.op('Sigmoid', ['x']), 'x']),
    b.op('Mul', ['x', b.op('Sigmoid', [b.op('Mul', ['x', c(1.702)])])]),
  ]);
  const before = await run(m);
  t.deepEqual(fuse(m), { gelu: 2, quickGelu: 3 });
  t.deepEqual(validateGraph(m.graph), []);
  t.deepEqual(opTypes(m).filter((o) => o !== 'Constant'), ['com.microsoft:Gelu', 'com.microsoft:Gelu', 'com.microsoft:QuickGelu', 'com.microsoft:QuickGelu', 'com.microsoft:QuickGelu']);
  t.is(m.opsets.get('com.microsoft'), 1);
  t.deepEqual(m.graph.nodes.filter((n) => n.opType === 'QuickGelu').map((n) => n.attributes[0]!.f), [1, 1, Math.fround(1.702)]);
  // ORT fuses the written-out forms itself where nothing else reads the intermediates: the same kernels.
  t.deepEqual(await run(m), before);
});

test('a pattern stays written out when an intermediate has another reader, a constant differs, or it is not float32', (t) => {
  const shared = model((b, c) => {
    const erf = b.op('Erf', [b.op('Div', ['x', c(Math.SQRT2)])]);
    const sig = b.op('Sigmoid', ['x']);
    return [b.op('Mul', [b.op('Mul', ['x', b.op('Add', [erf, c(1)])]), c(0.5)]), erf, b.op('Mul', ['x', sig]), sig];
  });
  t.deepEqual(fuse(shared), { gelu: 0, quickGelu: 0 });
  const otherConstants = model((b, c) => [
    b.op('Mul', [b.op('Mul', ['x', b.op('Add', [b.op('Erf', [b.op('Div', ['x', c(1.5)])]), c(1)])]), c(0.5)]),
    b.op('Mul', [b.op('Mul', ['x', b.op('Add', [b.op('Erf', [b.op('Div', ['x', c(Math.SQRT2)])]), c(2)])]), c(0.5)]),
    b.op('Mul', [b.op('Mul', ['x', b.op('Add', [b.op('Erf', [b.op('Div', ['x', c(Math.SQRT2)])]), c(1)])]), c(0.25)]),
    b.op('Mul', [b.op('Neg', ['x']), b.op('Sigmoid', ['x'])]),
  ]);
  t.deepEqual(fuse(otherConstants), { gelu: 0, quickGelu: 0 });
  t.false(otherConstants.opsets.has('com.microsoft'));
  const double = model((b, c) => [
    b.op('Mul', [b.op('Mul', ['x', b.op('Add', [b.op('Erf', [b.op('Div', ['x', c(Math.SQRT2)])]), c(1)])]), c(0.5)]),
    b.op('Mul', ['x', b.op('Sigmoid', ['x'])]),
  ], DataType.DOUBLE);
  t.deepEqual(fuse(double), { gelu: 0, quickGelu: 0 });
});
