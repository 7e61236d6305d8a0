/**
 * The attention core onnxruntime's CPU kernels compute, written out: softmax(scale * q k^T +
 * mask (+ attention_bias)) v per head. The mask is additive as the kernels make it:
 * mask_filter_value (-10000 unless set) where a key is padding, and the float type's lowest
 * value above the diagonal when the attention is causal.
 */
import { attrFloat } from '../../graph/attributes.ts';
import { DataType } from '../../onnx/dtype.ts';
import { makeTensor } from '../../onnx/tensor.ts';
import type { LoweringContext } from './context.ts';

/** A key padding mask in one of the forms the kernels read. */
export interface KeyMask {
  value: string;
  /** Rank 1: lengths [B] or ends and starts [2B]; rank 2: [B, T] of 0/1; rank 3: [B, S, T]. */
  rank: 1 | 2 | 3;
}

export interface ScoreOptions {
  /** Query [B, N, S, h], keys transposed [B, N, h, T], values [B, N, T, hv]. */
  q: string;
  kT: string;
  v: string;
  scale: number;
  causal: boolean;
  mask?: KeyMask;
  bias?: string;
  /** A [B, S, ...] value whose axes 0 and 1 give B and S. */
  shapeSource: string;
  /** A [B, T, ...] value whose axis 1 gives the key length T (default: T = S, self-attention without past). */
  keySource?: string;
}

/** The mask's rank as the op spec lets it be, or a refusal naming the input. */
export function keyMask(c: LoweringContext, index: number, what: string, allowed: readonly number[]): KeyMask | undefined {
  const value = c.input(index);
  if (!value) return undefined;
  const rank = c.dims(value)?.length;
  if (rank === undefined) c.refuse(`the rank of its ${what} '${value}' is not known`, "give the model's inputs static ranks (onnxruntime's optimizer writes them)");
  if (!allowed.includes(rank)) c.refuse(`its ${what} '${value}' has rank ${rank} (the CPU kernel reads ${allowed.join(', ')}-D masks)`);
  return { value, rank: rank as 1 | 2 | 3 };
}

/** softmax(scale q k^T + mask) v: [B, N, S, hv]. */
export function attend(c: LoweringContext, o: ScoreOptions): string {
  const e = c.e;
  let scores = e.op('Mul', [e.op('MatMul', [o.q, o.kT]), c.scalar(o.scale)]);
  const additive = additiveMask(c, o);
  if (additive) scores = e.op('Add', [scores, additive]);
  if (o.bias) scores = e.op('Add', [scores, o.bias]);
  const probs = e.op('Softmax', [scores], { axis: e.opset >= 13 ? -1 : 3 });
  return e.op('MatMul', [probs, o.v]);
}

/** The additive mask, broadcastable to [B, N, S, T], or undefined when nothing is masked. */
function additiveMask(c: LoweringContext, o: ScoreOptions): string | undefined {
  if (!o.mask && !o.causal) return undefined;
  const e = c.e;
  e.requireOpset(11, `com.microsoft ${c.node.opType} '${c.node.name}' written out (its mask uses Range)`);
  const batch = e.dimOf(o.shapeSource, 0);
  const range = (of: string) => e.op('Range', [e.constant(0, DataType.INT64), e.squeeze(e.dimOf(of, 1), [0]), e.constant(1, DataType.INT64)]);
  const queries = range(o.shapeSource);
  const positions = o.keySource ? range(o.keySource) : queries;
  const zero = c.scalar(0);
  let padding: string | undefined;
  if (o.mask) {
    const m = o.mask.value;
    let masked: string;
    if (o.mask.rank === 1) {
      // [B] lengths, or [2B]: exclusive ends then inclusive starts (left padding).
      const bounds = e.op('Cast', [m], { to: DataType.INT64 });
      const ends = e.op('Slice', [bounds, e.ints([0]), batch, e.ints([0])]);
      const twice = e.op('Mul', [batch, e.ints([2])]);
      const given = e.op('Slice', [bounds, batch, twice, e.ints([0])]);
      const zeros = e.op('ConstantOfShape', [batch], { value: makeTensor('value', DataType.INT64, [1], BigInt64Array.of(0n)) });
      const starts = e.op('Slice', [e.op('Concat', [given, zeros], { axis: 0 }), e.ints([0]), batch, e.ints([0])]);
      const pos = e.unsqueeze(positions, [0]);
      const afterEnd = e.op('Not', [e.op('Less', [pos, e.unsqueeze(ends, [1])])]);
      const beforeStart = e.op('Less', [pos, e.unsqueeze(starts, [1])]);
      masked = e.unsqueeze(e.op('Or', [afterEnd, beforeStart]), [1, 2]);
    } else {
      // Raw 0/1 masks: a key counts where the mask is positive.
      const open = e.op('Greater', [m, e.constant(0, DataType.INT32)]);
      masked = e.unsqueeze(e.op('Not', [open]), o.mask.rank === 2 ? [1, 2] : [1]);
    }
    padding = e.op('Where', [masked, c.scalar(attrFloat(c.node, 'mask_filter_value', -10000)), zero]);
  }
  if (!o.causal) return padding;
  // Query s sees keys 0..s (no past: the kernels' past_sequence_length + s).
  const future = e.op('Less', [e.unsqueeze(queries, [1]), e.unsqueeze(positions, [0])]);
  return e.op('Where', [future, c.scalar(-3.4028234663852886e38), padding ?? zero]);
}
