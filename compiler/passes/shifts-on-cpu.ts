/**
 * An unsigned integer Div by a constant power of two, as BitShift, for ORT's CPU provider.
 *
 * The hashed dropout masks (compiler/train/hashed-dropout.ts) take the high bits of uint64
 * hashes with Div, because ORT's CUDA provider has no BitShift kernel. On the CPU that Div is
 * a 64-bit division per element: in a BERT-base-sized LoR2C step its three Divs per dropout
 * site took 40% of the masks' time. `x / 2^k` and `x >> k` are the same number for every
 * unsigned x, so for `target cpu` the train graph shifts instead. Signed integers are left
 * alone (Div rounds a negative quotient toward zero, a shift toward minus infinity), and so
 * is every divisor that is not one constant power of two.
 */
import { GraphBuilder } from '../graph/builder.ts';
import { constantNumbers, constantTensor, type ConstantScope } from '../graph/constants.ts';
import { makeAttrs } from '../graph/attributes.ts';
import { inferDtypes } from '../graph/dtypes.ts';
import { isOp, type Graph } from '../graph/graph.ts';
import { DataType } from '../onnx/dtype.ts';

/** The unsigned types ORT's CPU BitShift takes, with the array type of their constants. */
const SHIFTABLE: ReadonlyMap<number, (k: number) => Uint8Array | Uint32Array | BigUint64Array> = new Map<number, (k: number) => Uint8Array | Uint32Array | BigUint64Array>([
  [DataType.UINT8, (k) => Uint8Array.of(k)],
  [DataType.UINT32, (k) => Uint32Array.of(k)],
  [DataType.UINT64, (k) => BigUint64Array.of(BigInt(k))],
]);

/** Rewrites g in place; returns how many Divs became shifts. */
export function shiftsOnCpu(g: Graph): number {
  const dtypes = inferDtypes(g);
  const producers = g.producers();
  const scope: ConstantScope = { graph: g, producer: (v) => producers.get(v) };
  const b = new GraphBuilder(g, 'shift/');
  const replaced = new Set<string>();
  let rewritten = 0;
  for (const n of g.nodes) {
    if (!isOp(n, 'Div')) continue;
    const [x, divisor] = n.inputs;
    const dtype = x ? dtypes.get(x) : undefined;
    const constantOf = dtype === undefined ? undefined : SHIFTABLE.get(dtype);
    if (!constantOf || !divisor) continue;
    // One scalar divisor: a broadcast one would need its shape kept.
    const t = constantTensor(scope, divisor);
    const value = t && t.dims.length === 0 ? constantNumbers(scope, divisor)?.[0] : undefined;
    const k = value !== undefined && value >= 1 ? Math.log2(value) : NaN;
    if (!Number.isInteger(k) || 2 ** k !== value) continue;
    n.opType = 'BitShift';
    n.inputs = [x!, b.constant('bits', dtype!, [], constantOf(k))];
    n.attributes = makeAttrs({ direction: 'RIGHT' });
    replaced.add(divisor);
    rewritten++;
  }
  // The divisors no node reads any more.
  const read = g.consumers();
  const boundary = new Set([...g.inputNames(), ...g.outputNames()]);
  for (const v of replaced) if (!read.has(v) && !boundary.has(v)) g.initializers.delete(v);
  return rewritten;
}
