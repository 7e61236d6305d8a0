/**
 * Dropout with a mask computed inside the graph from (step, element index, salt), so a run
 * is reproducible and a resumed run draws the same masks as an uninterrupted one: ORT's own
 * Dropout seeds one generator per node per SESSION, so a new session (a resumed run, a
 * recompile after Merge/Inject) would draw different masks and break bit-identical resume.
 *
 * The uniform numbers come from a counter-based hash built of multiplications by odd
 * constants and products with the value's own high bits for non-linearity (ONNX has no XOR
 * before opset 18), in two stages:
 * - each row of the tensor read as [rows, d] (d its last dim) gets a 32-bit key: the top half
 *   of a uint64 hash of (step, row, salt), computed on the [rows, 1] vector only;
 * - each element (row r, column c) hashes key_r + c * M in uint32 arithmetic. Over the whole
 *   tensor this is half the bytes of uint64 and twice as fast on ORT's CPU provider.
 * High bits are taken with an unsigned integer Div by a power of two rather than BitShift,
 * which has no CUDA kernel: every op here runs on ORT's CPU and CUDA providers from opset 11
 * (Range). For `target cpu` those Divs become shifts afterwards
 * (compiler/passes/shifts-on-cpu.ts: the same bits, without a division per element).
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
/** The element stage's odd multipliers (uint32). */
const COLUMN = 0x9e3779b1;
const MIX1_32 = 0x85ebca6b;
const MIX2_32 = 0xc2b2ae35;

/** The 32-bit key of one row at `step` with `salt`. */
function rowKey(step: bigint, row: bigint, salt: number): number {
  const mulHigh = (v: bigint, bits: bigint) => (v * ((v >> bits) + 1n)) & U64;
  const counter = (step * GOLDEN + ((BigInt(salt) * SALT) & U64)) & U64;
  let h = ((row + counter) * MIX1) & U64;
  h = (mulHigh(h, 29n) * MIX2) & U64;
  h = (mulHigh(h, 32n) * MIX1) & U64;
  return Number(h >> 32n);
}

/**
 * The 24-bit uniform integer the graph draws for the element at `row`, `column` of a tensor
 * read as [rows, d], at `step` with `salt` (keep when >= p * 2^24).
 */
export function hashedUniform24(step: bigint, row: bigint, column: number, salt: number): number {
  const mulHigh = (v: number, bits: number) => Math.imul(v, (v >>> bits) + 1) >>> 0;
  let h = (rowKey(step, row, salt) + Math.imul(column, COLUMN)) >>> 0;
  h = Math.imul(mulHigh(h, 16), MIX1_32) >>> 0;
  h = Math.imul(mulHigh(h, 15), MIX2_32) >>> 0;
  return h >>> 8;
}

/** Where the dropout ratio comes from: a number known at compile time, or a float scalar value of the graph. */
export type DropoutRatio = number | string;

/**
 * The keep mask (bool, shaped like `like`) for dropout ratio `p`: element (r, c) of `like`
 * read as [rows, d] is kept when hashedUniform24(step, r, c, salt) is at or above p * 2^24.
 * `step` is an int64 scalar value in the graph. A ratio known at compile time is compared in
 * uint32: top24 < t for an integer top24 is h < ceil(t) * 2^8, so the shift, the Cast to float
 * and the Not go, and the same elements are kept.
 */
export function hashedKeepMask(b: GraphBuilder, like: string, p: DropoutRatio, step: string, salt: number): string {
  const u64 = (v: bigint) => b.constant('dropout_k', DataType.UINT64, [], BigUint64Array.of(v));
  const u32 = (v: number) => b.constant('dropout_k32', DataType.UINT32, [], Uint32Array.of(v));
  const i64 = (v: bigint) => b.constant('dropout_i', DataType.INT64, [], BigInt64Array.of(v));
  const cast = (v: string, to: DataType) => b.op('Cast', [v], { to });
  const high64 = (v: string, bits: bigint) => b.op('Div', [v, u64(1n << bits)]);
  const mulHigh64 = (v: string, bits: bigint) => b.op('Mul', [v, b.op('Add', [high64(v, bits), u64(1n)])]);
  const high32 = (v: string, bits: number) => b.op('Div', [v, u32(2 ** bits)]);
  const mulHigh32 = (v: string, bits: number) => b.op('Mul', [v, b.op('Add', [high32(v, bits), u32(1)])]);

  // Rows and columns of `like` read as [rows, d]: d is its last dim (1 for a scalar), and an
  // empty tensor's rows are 0 (the Where keeps the Div off a zero).
  const ints = (hint: string, values: bigint[]) => b.constant(hint, DataType.INT64, [values.length], BigInt64Array.from(values));
  const shape = b.op('Shape', [like]);
  const shapeOrOne = b.op('Concat', [ints('dropout_1', [1n]), shape], { axis: 0 });
  const lastEntry = b.op('Slice', [shapeOrOne, ints('dropout_m1', [-1n]), ints('dropout_end', [BigInt(Number.MAX_SAFE_INTEGER)])]);
  const lastDim = b.op('Reshape', [lastEntry, ints('dropout_scalar', [])]);
  const divisor = b.op('Where', [b.op('Equal', [lastDim, i64(0n)]), i64(1n), lastDim]);
  const rowCount = b.op('Div', [b.op('Size', [like]), divisor]);
  const rowIndex = b.op('Reshape', [cast(b.op('Range', [i64(0n), rowCount, i64(1n)]), DataType.UINT64), ints('dropout_column', [-1n, 1n])]);
  const columnIndex = cast(b.op('Range', [i64(0n), lastDim, i64(1n)]), DataType.UINT32);

  // The rows' keys: rowKey on the [rows, 1] vector.
  const counter = b.op('Add', [b.op('Mul', [cast(step, DataType.UINT64), u64(GOLDEN)]), u64((BigInt(salt) * SALT) & U64)]);
  let row = b.op('Mul', [b.op('Add', [rowIndex, counter]), u64(MIX1)]);
  row = b.op('Mul', [mulHigh64(row, 29n), u64(MIX2)]);
  row = b.op('Mul', [mulHigh64(row, 32n), u64(MIX1)]);
  const key = cast(high64(row, 32n), DataType.UINT32);

  // The elements, in uint32 over the whole tensor.
  let h = b.op('Add', [key, b.op('Mul', [columnIndex, u32(COLUMN)])]);
  h = b.op('Mul', [mulHigh32(h, 16), u32(MIX1_32)]);
  h = b.op('Mul', [mulHigh32(h, 15), u32(MIX2_32)]);
  let keep: string;
  if (typeof p === 'number' && p > 0) {
    // Kept when top24 >= ceil(t), t the float32 threshold the reference compares with:
    // h >= ceil(t) * 2^8, i.e. h > ceil(t) * 2^8 - 1 (at most 2^32 - 1, as t <= 2^24).
    const keepFrom = Math.ceil(Math.fround(p * 2 ** 24)) * 2 ** 8;
    keep = keepFrom === 0 ? b.op('Not', [b.op('Less', [h, u32(0)])]) : b.op('Greater', [h, u32(keepFrom - 1)]);
  } else {
    const threshold = typeof p === 'number'
      ? b.constant('dropout_threshold', DataType.FLOAT, [], Float32Array.of(p * 2 ** 24))
      : b.op('Mul', [b.op('Cast', [p], { to: DataType.FLOAT }), b.constant('dropout_2p24', DataType.FLOAT, [], Float32Array.of(2 ** 24))]);
    keep = b.op('Not', [b.op('Less', [cast(high32(h, 8), DataType.FLOAT), threshold])]);
  }
  return b.op('Reshape', [keep, shape]);
}
