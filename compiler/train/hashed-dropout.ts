/**
 * Dropout with a mask computed inside the graph from (step, element index, salt), so a run
 * is reproducible and a resumed run draws the same masks as an uninterrupted one: ORT's own
 * Dropout reseeds per session, which would break bit-identical resume.
 *
 * The uniform numbers come from a counter-based hash in uint64 arithmetic (multiplications by
 * odd constants, and products with the value's own high bits for non-linearity; ONNX has no
 * XOR before opset 18). The top 24 bits give u in [0, 1); an element is kept when u >= p.
 */
import { DataType } from '../onnx/dtype.ts';
import type { GraphBuilder } from '../graph/builder.ts';

const GOLDEN = 0x9e3779b97f4a7c15n;
const MIX1 = 0xbf58476d1ce4e5b9n;
const MIX2 = 0x94d049bb133111ebn;

/** x * mask / (1 - p); `step` is an int64 scalar value in the graph, `salt` tells sites apart. */
export function dropout(b: GraphBuilder, x: string, p: number, step: string, salt: number): string {
  if (p <= 0) return x;
  const u64 = (v: bigint) => b.constant('dropout_k', DataType.UINT64, [], BigUint64Array.of(v));
  const shiftRight = (v: string, bits: bigint) => b.op('BitShift', [v, u64(bits)], { direction: 'RIGHT' });
  const mulHigh = (v: string, bits: bigint) => b.op('Mul', [v, b.op('Add', [shiftRight(v, bits), u64(1n)])]);

  const zero = b.constant('dropout_zero', DataType.INT64, [], BigInt64Array.of(0n));
  const one = b.constant('dropout_one', DataType.INT64, [], BigInt64Array.of(1n));
  const index = b.op('Cast', [b.op('Range', [zero, b.op('Size', [x]), one])], { to: DataType.UINT64 });
  const counter = b.op('Add', [b.op('Mul', [b.op('Cast', [step], { to: DataType.UINT64 }), u64(GOLDEN)]), u64(BigInt(salt) * 0x632be59bd9b4e019n & 0xffffffffffffffffn)]);
  let h = b.op('Mul', [b.op('Add', [index, counter]), u64(MIX1)]);
  h = b.op('Mul', [mulHigh(h, 29n), u64(MIX2)]);
  h = b.op('Mul', [mulHigh(h, 32n), u64(MIX1)]);
  const top24 = b.op('Cast', [shiftRight(h, 40n)], { to: DataType.FLOAT });
  const threshold = b.constant('dropout_p', DataType.FLOAT, [], Float32Array.of(p * 2 ** 24));
  const keep = b.op('Cast', [b.op('Not', [b.op('Less', [top24, threshold])])], { to: DataType.FLOAT });
  const scaled = b.op('Mul', [keep, b.constant('dropout_scale', DataType.FLOAT, [], Float32Array.of(1 / (1 - p)))]);
  const mask = b.op('Reshape', [scaled, b.op('Shape', [x])]);
  return b.op('Mul', [x, mask]); // float32 activations (precision fp32)
}
