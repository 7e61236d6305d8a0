/**
 * Dropout with a mask computed inside the graph from (step, element index, salt), so a run
 * is reproducible and a resumed run draws the same masks as an uninterrupted one: ORT's own
 * Dropout seeds one generator per node per SESSION, so a new session (a resumed run, a
 * recompile after Merge/Inject) would draw different masks and break bit-identical resume.
 *
 * The uniform numbers come from a counter-based hash in uint64 arithmetic (multiplications by
 * odd constants, and products with the value's own high bits for non-linearity; ONNX has no
 * XOR before opset 18). High bits are taken with an unsigned integer Div by a power of two
 * rather than BitShift, which has no CUDA kernel: every op here runs on ORT's CPU and CUDA
 * providers from opset 11 (Range). For `target cpu` those Divs become shifts afterwards
 * (compiler/passes/shifts-on-cpu.ts: the same bits, without a 64-bit division per element).
 * The top 24 bits give u in [0, 1); an element is kept when u >= p. `hashedUniform24` is the
 * same function in TypeScript, for tests and tools.
 */
import { DataType } from '../onnx/dtype.ts';
import type { GraphBuilder } from '../graph/builder.ts';

const GOLDEN = 0x9e3779b97f4a7c15n;
const MIX1 = 0xbf58476d1ce4e5b9n;
const MIX2 = 0x94d049bb133111ebn;
const SALT = 0x632be59bd9b4e019n;
const U64 = (1n << 64n) - 1n;

/** The 24-bit uniform integer the graph draws for element `index` at `step` with `salt` (keep when >= p * 2^24). */
export function hashedUniform24(step: bigint, index: bigint, salt: number): number {
  const mulHigh = (v: bigint, bits: bigint) => (v * ((v >> bits) + 1n)) & U64;
  const counter = (step * GOLDEN + ((BigInt(salt) * SALT) & U64)) & U64;
  let h = ((index + counter) * MIX1) & U64;
  h = (mulHigh(h, 29n) * MIX2) & U64;
  h = (mulHigh(h, 32n) * MIX1) & U64;
  return Number(h >> 40n);
}

/** Where the dropout ratio comes from: a number known at compile time, or a float scalar value of the graph. */
export type DropoutRatio = number | string;

/**
 * The keep mask (bool, shaped like `like`) for dropout ratio `p`: element i is kept when the
 * hash of (step, i, salt) is at or above p * 2^24. `step` is an int64 scalar value in the graph.
 */
export function hashedKeepMask(b: GraphBuilder, like: string, p: DropoutRatio, step: string, salt: number): string {
  const u64 = (v: bigint) => b.constant('dropout_k', DataType.UINT64, [], BigUint64Array.of(v));
  const high = (v: string, bits: bigint) => b.op('Div', [v, u64(1n << bits)]);
  const mulHigh = (v: string, bits: bigint) => b.op('Mul', [v, b.op('Add', [high(v, bits), u64(1n)])]);

  const zero = b.constant('dropout_zero', DataType.INT64, [], BigInt64Array.of(0n));
  const one = b.constant('dropout_one', DataType.INT64, [], BigInt64Array.of(1n));
  const index = b.op('Cast', [b.op('Range', [zero, b.op('Size', [like]), one])], { to: DataType.UINT64 });
  const counter = b.op('Add', [b.op('Mul', [b.op('Cast', [step], { to: DataType.UINT64 }), u64(GOLDEN)]), u64((BigInt(salt) * SALT) & U64)]);
  let h = b.op('Mul', [b.op('Add', [index, counter]), u64(MIX1)]);
  h = b.op('Mul', [mulHigh(h, 29n), u64(MIX2)]);
  h = b.op('Mul', [mulHigh(h, 32n), u64(MIX1)]);
  const top24 = b.op('Cast', [high(h, 40n)], { to: DataType.FLOAT });
  const threshold = typeof p === 'number'
    ? b.constant('dropout_threshold', DataType.FLOAT, [], Float32Array.of(p * 2 ** 24))
    : b.op('Mul', [b.op('Cast', [p], { to: DataType.FLOAT }), b.constant('dropout_2p24', DataType.FLOAT, [], Float32Array.of(2 ** 24))]);
  return b.op('Reshape', [b.op('Not', [b.op('Less', [top24, threshold])]), b.op('Shape', [like])]);
}
