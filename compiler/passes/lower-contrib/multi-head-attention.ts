/**
 * com.microsoft MultiHeadAttention with separate query [B, S, D], key [B, T, D] and value
 * [B, T, Dv] (self- or cross-attention; the projections stay outside the op, as in an unfused
 * export): the optional packed bias [D | D | Dv] added to each, heads split, the core of
 * attention-scores.ts, heads merged. Refused: packed QKV / KV inputs, keys already split into
 * heads (BNSH), past keys and values, and a cache.
 */
import { attrFloat, attrInt } from '../../graph/attributes.ts';
import type { Lowering } from './context.ts';
import { attend, keyMask } from './attention-scores.ts';

export const multiHeadAttention: Lowering = (c) => {
  const e = c.e;
  const query = c.required(0, 'query');
  const packed = () => c.refuse('its query packs q, k and v (no separate key and value inputs)');
  const key = c.input(1) ?? packed();
  const value = c.input(2) ?? packed();
  for (const [v, what] of [[query, 'query'], [key, 'key'], [value, 'value']] as const) {
    const rank = c.dims(v)?.length;
    if (rank !== 3) c.refuse(`its ${what} '${v}' has ${rank === undefined ? 'an unknown rank' : `rank ${rank}`} (only [batch, sequence, hidden] inputs are rewritten, not packed or per-head ones)`);
  }
  for (const [i, what] of [[6, 'past_key'], [7, 'past_value'], [8, 'past_sequence_length'], [9, 'cache_indirection']] as const) {
    if (c.input(i)) c.refuse(`it reads ${what} (input ${i}, '${c.input(i)}')`, 'export the model without past key/values (Optimum: the plain decoder, not the with-past one); lor2c trains on whole sequences');
  }
  if (c.wants(1) || c.wants(2) || c.wants(3)) c.refuse('its present_key / present_value / qk outputs are read', 'export the model without past key/values');
  const heads = attrInt(c.node, 'num_heads', 0);
  if (heads <= 0) c.refuse('num_heads is missing', 'check the model: MultiHeadAttention requires num_heads');
  const width = (v: string, what: string) => {
    const d = c.dims(v)?.[2];
    return typeof d === 'number' && d % heads === 0 ? d : c.refuse(`the hidden size of its ${what} '${v}' is not known or not a multiple of num_heads ${heads}`);
  };
  const [dq, dk, dv] = [width(query, 'query'), width(key, 'key'), width(value, 'value')];
  if (dq !== dk) c.refuse(`its query and key widths differ (${dq}, ${dk})`, 'check the model');
  let [q, k, v] = [query, key, value];
  const bias = c.input(3);
  if (bias) {
    const [bq, bk, bv] = e.split(bias, [dq, dk, dv], 0, 3);
    [q, k, v] = [e.op('Add', [q, bq!]), e.op('Add', [k, bk!]), e.op('Add', [v, bv!])];
  }
  const perHead = (x: string, size: number, perm: number[]) => e.op('Transpose', [e.op('Reshape', [x, e.ints([0, 0, heads, size / heads])])], { perm });
  const mask = keyMask(c, 4, 'key_padding_mask', [1, 2, 3]);
  const attended = attend(c, {
    q: perHead(q, dq, [0, 2, 1, 3]),
    kT: perHead(k, dk, [0, 2, 3, 1]),
    v: perHead(v, dv, [0, 2, 1, 3]),
    scale: attrFloat(c.node, 'scale', 0) || 1 / Math.sqrt(dq / heads),
    causal: attrInt(c.node, 'unidirectional', 0) === 1,
    ...(mask ? { mask } : {}),
    ...(c.input(5) ? { bias: c.input(5)! } : {}),
    shapeSource: query,
    keySource: key,
  });
  c.bind(0, e.op('Reshape', [e.op('Transpose', [attended], { perm: [0, 2, 1, 3] }), e.ints([0, 0, dv])]));
};
