/**
 * shiftsOnCpu: an unsigned Div by a constant power of two becomes BitShift and computes the
 * same numbers, across the whole uint64 range; signed, float, non-power-of-two and broadcast
 * divisors stay Divs; the hashed dropout masks are the same bits after the rewrite.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { Graph, GraphBuilder, Model, modelToProto } from '../../../compiler/graph/index.ts';
import { DataType, encodeModel, makeValueInfo } from '../../../compiler/onnx/index.ts';
import { Emitter } from '../../../compiler/graph/emitter.ts';
import { shiftsOnCpu } from '../../../compiler/passes/shifts-on-cpu.ts';
import { inferDtypes } from '../../../compiler/graph/dtypes.ts';
import { enableTrainingDropout } from '../../../compiler/train/index.ts';
import '../../support/ort.ts';

async function run(m: Model, feeds: Record<string, ort.Tensor>): Promise<Record<string, unknown[]>> {
  const proto = modelToProto(m);
  proto.irVersion = 10n;
  const session = await ort.InferenceSession.create(encodeModel(proto), { graphOptimizationLevel: 'disabled' });
  const out = await session.run(feeds);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Array.from(v.data as ArrayLike<unknown>)]));
}

const N = 6;
const U64 = BigUint64Array.of(0n, 1n, 12345678901234567n, (1n << 63n) + 5n, (1n << 64n) - 1n, 0x9e3779b97f4a7c15n);

test('unsigned Divs by 2^k become shifts with the same results; other Divs stay', async (t) => {
  const g = new Graph();
  g.inputs = [makeValueInfo('u', DataType.UINT64, [N]), makeValueInfo('w', DataType.UINT32, [N]), makeValueInfo('i', DataType.INT64, [N]), makeValueInfo('f', DataType.FLOAT, [N])];
  const b = new GraphBuilder(g);
  const u64 = (v: bigint, dims: number[] = []) => b.constant('k', DataType.UINT64, dims, BigUint64Array.of(v));
  const outputs = [
    ...[0n, 1n, 29n, 32n, 40n, 63n].map((k) => b.op('Div', ['u', u64(1n << k)])),
    b.op('Div', ['w', b.constant('k', DataType.UINT32, [], Uint32Array.of(1 << 16))]),
    b.op('Div', ['u', u64(3n)]),
    b.op('Div', ['u', u64(1n << 8n, [1])]),
    b.op('Div', ['i', b.constant('k', DataType.INT64, [], BigInt64Array.of(8n))]),
    b.op('Div', ['f', b.constant('k', DataType.FLOAT, [], Float32Array.of(4))]),
  ];
  const types = [...Array(6).fill(DataType.UINT64), DataType.UINT32, DataType.UINT64, DataType.UINT64, DataType.INT64, DataType.FLOAT];
  g.outputs = outputs.map((o, k) => makeValueInfo(o, types[k]!, undefined));
  const m = new Model(g);
  m.opsets.set('', 17);
  const feeds = {
    u: new ort.Tensor('uint64', U64, [N]),
    w: new ort.Tensor('uint32', Uint32Array.of(0, 1, 65535, 65536, 0xffffffff, 0x9e3779b9), [N]),
    i: new ort.Tensor('int64', BigInt64Array.of(-9n, -8n, -1n, 0n, 7n, 9223372036854775807n), [N]),
    f: new ort.Tensor('float32', Float32Array.of(-3, 0.5, 1, 2, 5, 1e30), [N]),
  };
  const before = await run(m, feeds);
  t.is(shiftsOnCpu(g), 7);
  t.deepEqual(g.nodes.map((n) => n.opType), [...Array(7).fill('BitShift'), 'Div', 'Div', 'Div', 'Div']);
  t.deepEqual(await run(m, feeds), before);
});

test('the hashed dropout masks are the same bits with shifts', async (t) => {
  const n = 1 << 16;
  const g = new Graph();
  g.inputs = [makeValueInfo('x', DataType.FLOAT, [n])];
  const b = new GraphBuilder(g);
  b.opN('Dropout', ['x', b.constant('ratio', DataType.FLOAT, [], Float32Array.of(0.1)), b.constant('on', DataType.BOOL, [], Uint8Array.of(1))], 2, undefined, { name: 'd', outputs: ['y', 'mask'] });
  g.outputs = [makeValueInfo('y', DataType.FLOAT, [n]), makeValueInfo('mask', DataType.BOOL, [n])];
  const m = new Model(g);
  m.opsets.set('', 17);
  t.is(enableTrainingDropout(g, new Emitter(g, 17, new Map(), 'dropout/'), 7, 'step'), 1);
  g.inputs.push(makeValueInfo('step', DataType.INT64, []));
  const feeds = { x: new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => Math.sin(i)), [n]), step: new ort.Tensor('int64', BigInt64Array.of(12n), []) };
  const before = await run(m, feeds);
  const unread = () => [...g.initializers.keys()].filter((k) => g.consumers().get(k) === undefined).sort();
  const unreadBefore = unread();
  // The hash's high-bit Divs: three over the rows' keys (uint64), two over the elements (uint32);
  // the one Div left counts the rows (int64, by a value of the graph).
  t.is(shiftsOnCpu(g), 5);
  const dtypes = inferDtypes(g, new Map());
  t.deepEqual(g.nodes.filter((node) => node.opType === 'Div').map((node) => dtypes.get(node.inputs[0]!)), [DataType.INT64]);
  t.deepEqual(unread(), unreadBefore, 'no divisor is left unread');
  t.deepEqual(await run(m, feeds), before);
});
