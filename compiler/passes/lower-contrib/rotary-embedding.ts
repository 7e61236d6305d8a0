/**
 * com.microsoft RotaryEmbedding: each head's first rotary_embedding_dim features rotated by the
 * cached cos / sin of the token's position (the rest passed through), in the half-split layout
 * (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin) or, when `interleaved`, on adjacent pairs.
 * The input is [B, S, N * H] (num_heads given) or [B, N, S, H]; position_ids are [B, S], or
 * one offset [1] the positions count up from.
 */
import { attrInt } from '../../graph/attributes.ts';
import { DataType } from '../../onnx/dtype.ts';
import type { Lowering } from './context.ts';

export const rotaryEmbedding: Lowering = (c) => {
  const e = c.e;
  const input = c.required(0, 'input');
  const positionIds = c.required(1, 'position_ids');
  const cosCache = c.required(2, 'cos_cache');
  const sinCache = c.required(3, 'sin_cache');
  if (attrInt(c.node, 'is_packed_batching', 0)) c.refuse('is_packed_batching=1 (padding removed)');
  const dims = c.dims(input) ?? [];
  if (dims.length !== 3 && dims.length !== 4) c.refuse(`its input '${input}' has ${dims.length ? `rank ${dims.length}` : 'an unknown rank'} (3-D [B, S, N*H] and 4-D [B, N, S, H] are read)`);
  const columns = c.dims(cosCache)?.[1];
  const half = typeof columns === 'number' ? columns : c.refuse(`the shape of its cos_cache '${cosCache}' is not known`, 'store the cos / sin caches as initializers');
  const heads = attrInt(c.node, 'num_heads', 0);
  const size = dims.length === 4 ? dims[3] : heads > 0 && typeof dims[2] === 'number' ? dims[2] / heads : undefined;
  const headSize = typeof size === 'number' && Number.isInteger(size) ? size : c.refuse(`the head size of its input '${input}' is not known (a 3-D input needs num_heads and a static hidden size)`);
  const rotary = attrInt(c.node, 'rotary_embedding_dim', 0) || headSize;
  if (rotary !== 2 * half || rotary > headSize) c.refuse(`rotary_embedding_dim ${rotary} does not match its caches' ${half} columns (and head size ${headSize})`, 'check the model');

  // [B, N, S, H] throughout; the position axis is 2.
  const x = dims.length === 4 ? input : e.op('Transpose', [e.op('Reshape', [input, e.ints([0, 0, heads, headSize])])], { perm: [0, 2, 1, 3] });
  const idsRank = c.dims(positionIds)?.length;
  let positions = positionIds;
  if (idsRank === 1) {
    // One offset: positions offset .. offset + S - 1 for every row.
    const length = e.squeeze(e.dimOf(x, 2), [0]);
    const offset = e.squeeze(e.op('Cast', [positionIds], { to: DataType.INT64 }), [0]);
    positions = e.unsqueeze(e.op('Range', [offset, e.op('Add', [offset, length]), e.constant(1, DataType.INT64)]), [0]);
  } else if (idsRank !== 2) {
    c.refuse(`its position_ids '${positionIds}' have ${idsRank === undefined ? 'an unknown rank' : `rank ${idsRank}`} (read: [B, S] or [1])`);
  }
  // [B or 1, 1, S, rotary / 2]
  const table = (cache: string) => e.unsqueeze(e.op('Gather', [cache, positions], { axis: 0 }), [1]);
  const [cos, sin] = [table(cosCache), table(sinCache)];
  const [rotated, rest] = rotary < headSize ? e.split(x, [rotary, headSize - rotary], -1, 2) : [x, undefined];
  let out: string;
  if (attrInt(c.node, 'interleaved', 0)) {
    // Pairs (x[2i], x[2i+1]): view [.., rotary / 2, 2], rotate, view back.
    const pairs = e.op('Reshape', [rotated!, e.ints([0, 0, 0, half, 2])]);
    const [even, odd] = e.split(pairs, [1, 1], -1, 2).map((p) => e.squeeze(p!, [-1]));
    const first = e.op('Sub', [e.op('Mul', [even!, cos]), e.op('Mul', [odd!, sin])]);
    const second = e.op('Add', [e.op('Mul', [odd!, cos]), e.op('Mul', [even!, sin])]);
    out = e.op('Reshape', [e.op('Concat', [e.unsqueeze(first, [-1]), e.unsqueeze(second, [-1])], { axis: -1 }), e.ints([0, 0, 0, rotary])]);
  } else {
    const [x1, x2] = e.split(rotated!, [half, half], -1, 2);
    const first = e.op('Sub', [e.op('Mul', [x1!, cos]), e.op('Mul', [x2!, sin])]);
    const second = e.op('Add', [e.op('Mul', [x2!, cos]), e.op('Mul', [x1!, sin])]);
    out = e.op('Concat', [first, second], { axis: -1 });
  }
  if (rest) out = e.op('Concat', [out, rest], { axis: -1 });
  if (dims.length === 3) out = e.op('Reshape', [e.op('Transpose', [out], { perm: [0, 2, 1, 3] }), e.ints([0, 0, heads * headSize])]);
  c.bind(0, out);
};
