/** The parameter-count rules of compiler/inspect-parameters.ts, one tensor kind per case, in every float width. */
import test from 'ava';
import { countParameters } from '../../compiler/inspect-parameters.ts';
import { Graph, GraphBuilder } from '../../compiler/graph/index.ts';
import { DataType, makeTensor } from '../../compiler/onnx/index.ts';

/** Float values in a dtype's storage (float16 / bfloat16 as their bit patterns). */
function encode(dtype: DataType, values: number[]): Float32Array | Float64Array | Uint16Array {
  if (dtype === DataType.FLOAT) return Float32Array.from(values);
  if (dtype === DataType.DOUBLE) return Float64Array.from(values);
  const f32 = new Float32Array(values);
  const u32 = new Uint32Array(f32.buffer);
  if (dtype === DataType.BFLOAT16) return Uint16Array.from(u32, (b) => (b + 0x8000) >>> 16);
  return Uint16Array.from(values, toHalf);
}

function toHalf(x: number): number {
  if (x === 0) return 0;
  if (!Number.isFinite(x) || Math.abs(x) >= 65520) return x < 0 ? 0xfc00 : 0x7c00;
  const sign = x < 0 ? 0x8000 : 0;
  const a = Math.abs(x);
  const e = Math.max(-14, Math.floor(Math.log2(a)));
  const m = Math.round((a / 2 ** e - (e === -14 && a < 2 ** -14 ? 0 : 1)) * 1024);
  return sign | (a < 2 ** -14 ? 0 : (e + 15) << 10) | m;
}

let seed = 1;
const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 0.1 - 0.05;
const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
const invFreq = range(4, (i) => 10000 ** (-(2 * i) / 8));
const cos = range(16 * 8, (k) => Math.cos(Math.floor(k / 8) * invFreq[k % 4]!));
const sinusoidPe = range(16 * 8, (k) => (k % 2 ? Math.cos : Math.sin)(Math.floor(k / 8) * invFreq[(k % 8) >> 1]!));
const mask = range(8 * 8, (k) => ((k % 8) > Math.floor(k / 8) ? -1e9 : 0));

interface Case { name: string; dims: number[]; values: number[]; kind?: string; of?: string; dtypes?: DataType[] }
const weight = range(6 * 4, random);
const CASES: Case[] = [
  { name: 'w', dims: [6, 4], values: weight },
  { name: 'onnx::MatMul_1', dims: [4, 6], values: range(24, (k) => weight[(k % 6) * 4 + Math.floor(k / 6)]!), kind: 'copy', of: 'w' },
  { name: 'ones_a', dims: [4], values: [1, 1, 1, 1] },
  { name: 'ones_b', dims: [4], values: [1, 1, 1, 1] },
  { name: 'cos_cached', dims: [16, 8], values: cos, kind: 'sinusoids' },
  { name: 'pe', dims: [1, 16, 8], values: sinusoidPe, kind: 'sinusoids' },
  { name: 'inv_freq', dims: [1, 4], values: invFreq, kind: 'frequencies' },
  { name: 'causal', dims: [1, 1, 8, 8], values: mask, kind: 'mask', dtypes: [DataType.FLOAT, DataType.DOUBLE] },
  { name: 'masked_bias', dims: [], values: [-1e4], kind: 'mask' },
  { name: 'pos_embed', dims: [16, 8], values: range(128, random) },
  { name: 'zeros', dims: [16, 8], values: range(128, () => 0) },
];

for (const dtype of [DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16]) {
  test(`float tensors sorted into parameters, copies and buffers (${DataType[dtype]})`, (t) => {
    const g = new Graph();
    const cases = CASES.filter((c) => !c.dtypes || c.dtypes.includes(dtype));
    for (const c of cases) g.initializers.set(c.name, makeTensor(c.name, dtype, c.dims, encode(dtype, c.values)));
    const r = countParameters(g, 'pytorch');
    t.deepEqual(
      Object.fromEntries(r.excluded.map((e) => [e.name, e.of ? `${e.kind} of ${e.of}` : e.kind])),
      Object.fromEntries(cases.filter((c) => c.kind).map((c) => [c.name, c.of ? `${c.kind} of ${c.of}` : c.kind!])),
    );
    const size = (c: Case) => c.values.length;
    t.is(r.parameters, cases.filter((c) => !c.kind).reduce((s, c) => s + size(c), 0));
    t.is(r.floatElements, cases.reduce((s, c) => s + size(c), 0));
    t.is(r.buffers, cases.filter((c) => c.kind && c.kind !== 'copy').reduce((s, c) => s + size(c), 0));
  });
}

test('Constant-node weights count unless torch made the model; BatchNormalization statistics are buffers', (t) => {
  const g = new Graph();
  const b = new GraphBuilder(g);
  const w = b.op('Constant', [], { value: makeTensor('', DataType.FLOAT, [3, 3], Float32Array.from(range(9, random))) });
  const scale = b.constant('scale', DataType.FLOAT, [3], Float32Array.from(range(3, random)));
  const bias = b.constant('bias', DataType.FLOAT, [3], Float32Array.from(range(3, random)));
  const mean = b.constant('mean', DataType.FLOAT, [3], Float32Array.from(range(3, random)));
  const variance = b.constant('var', DataType.FLOAT, [3], Float32Array.from([1, 2, 3]));
  b.op('BatchNormalization', [b.op('Conv', ['x', w]), scale, bias, mean, variance]);
  t.like(countParameters(g, 'paddle2onnx'), { parameters: 9 + 6, parametersInConstantNodes: 9, buffers: 6 });
  t.like(countParameters(g, 'pytorch'), { parameters: 6, parametersInConstantNodes: 0, buffers: 6 });
});
