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
 *
 * The graph computes hashedUniform24's bits in fewer passes over the tensor:
 * - The first round's (i + counter) * MIX1 is taken apart along the last axis. With
 *   i = r * d + c (row r, column c, d the last dim), it is (r * d + counter) * MIX1 + c * MIX1
 *   in uint64's arithmetic mod 2^64: one broadcast Add of a [rows, 1] and a [d] vector, each
 *   a few small ops. There is no index tensor, no Cast of one, and no multiply over the tensor.
 * - A ratio known at compile time is compared in uint64: top24 < t for an integer top24 is
 *   h < ceil(t) * 2^40. So the shift, the Cast to float and the Not go, and the same elements
 *   are kept.
 */
export function hashedKeepMask(b: GraphBuilder, like: string, p: DropoutRatio, step: string, salt: number): string {
  const u64 = (v: bigint) => b.constant('dropout_k', DataType.UINT64, [], BigUint64Array.of(v));
  const i64 = (v: bigint) => b.constant('dropout_i', DataType.INT64, [], BigInt64Array.of(v));
  const asU64 = (v: string) => b.op('Cast', [v], { to: DataType.UINT64 });
  const high = (v: string, bits: bigint) => b.op('Div', [v, u64(1n << bits)]);
  const mulHigh = (v: string, bits: bigint) => b.op('Mul', [v, b.op('Add', [high(v, bits), u64(1n)])]);

  // Rows and columns of `like` read as [rows, d]: d is its last dim (1 for a scalar), and an
  // empty tensor's rows are 0 (the Where keeps the Div off a zero).
  const ints = (hint: string, values: bigint[]) => b.constant(hint, DataType.INT64, [values.length], BigInt64Array.from(values));
  const shape = b.op('Shape', [like]);
  const shapeOrOne = b.op('Concat', [ints('dropout_1', [1n]), shape], { axis: 0 });
  const lastEntry = b.op('Slice', [shapeOrOne, ints('dropout_m1', [-1n]), ints('dropout_end', [BigInt(Number.MAX_SAFE_INTEGER)])]);
  const lastDim = b.op('Reshape', [lastEntry, ints('dropout_scalar', [])]);
  const divisor = b.op('Where', [b.op('Equal', [lastDim, i64(0n)]), i64(1n), lastDim]);
  const rowCount = b.op('Div', [b.op('Size', [like]), divisor]);
  const rowIndex = b.op('Reshape', [asU64(b.op('Range', [i64(0n), rowCount, i64(1n)])), ints('dropout_column', [-1n, 1n])]);
  const columnIndex = asU64(b.op('Range', [i64(0n), lastDim, i64(1n)]));

  const counter = b.op('Add', [b.op('Mul', [asU64(step), u64(GOLDEN)]), u64((BigInt(salt) * SALT) & U64)]);
  const rowPart = b.op('Mul', [b.op('Add', [b.op('Mul', [rowIndex, asU64(lastDim)]), counter]), u64(MIX1)]);
  let h = b.op('Add', [rowPart, b.op('Mul', [columnIndex, u64(MIX1)])]);
  h = b.op('Mul', [mulHigh(h, 29n), u64(MIX2)]);
  h = b.op('Mul', [mulHigh(h, 32n), u64(MIX1)]);
  let keep: string;
  if (typeof p === 'number' && p > 0) {
    // Kept when top24 >= ceil(t), t the float32 threshold the reference compares with:
    // h >= ceil(t) * 2^40, i.e. h > ceil(t) * 2^40 - 1 (at most 2^64 - 1, as t <= 2^24).
    const keepFrom = BigInt(Math.ceil(Math.fround(p * 2 ** 24))) << 40n;
    keep = keepFrom === 0n ? b.op('Not', [b.op('Less', [h, u64(0n)])]) : b.op('Greater', [h, u64(keepFrom - 1n)]);
  } else {
    const threshold = typeof p === 'number'
      ? b.constant('dropout_threshold', DataType.FLOAT, [], Float32Array.of(p * 2 ** 24))
      : b.op('Mul', [b.op('Cast', [p], { to: DataType.FLOAT }), b.constant('dropout_2p24', DataType.FLOAT, [], Float32Array.of(2 ** 24))]);
    keep = b.op('Not', [b.op('Less', [b.op('Cast', [high(h, 40n)], { to: DataType.FLOAT }), threshold])]);
  }
  return b.op('Reshape', [keep, shape]);
}
