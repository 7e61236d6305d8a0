/**
 * com.microsoft Attention: self-attention from one packed QKV weight [in, Dq + Dk + Dv] (and
 * bias), written as the unfused export has it: one MatMul (+ bias Add) by the packed weight,
 * a Split into [q | k | v] columns, a per-head Reshape and Transpose of each, then the core
 * (attention-scores.ts) and the heads merged back. Projection discovery then finds the packed
 * weight as a fused QKV projection whose Split it follows (locate/fused-columns.ts), so LoRA on
 * q or v places its delta in exactly those columns.
 *
 * Refused: a past state (the kernel appends to a cache lor2c does not feed), do_rotary, a
 * shared past/present buffer, and mask forms the CPU kernel does not read either.
 */
import { attrFloat, attrInt, attrInts } from '../../graph/attributes.ts';
import type { Lowering, LoweringContext } from './context.ts';
import { attend, keyMask } from './attention-scores.ts';

function qkvSizes(c: LoweringContext, width: number, heads: number): [number, number, number] {
  const given = attrInts(c.node, 'qkv_hidden_sizes');
  const sizes = (given && given.length ? given : [width / 3, width / 3, width / 3]) as [number, number, number];
  if (sizes.length !== 3 || sizes.some((s) => !Number.isInteger(s) || s <= 0 || s % heads !== 0) || sizes[0] + sizes[1] + sizes[2] !== width || sizes[0] !== sizes[1]) {
    c.refuse(`qkv_hidden_sizes ${JSON.stringify(given ?? null)} do not split its ${width} weight columns into q, k (equal) and v, each a multiple of num_heads ${heads}`, 'check the model: the weight and the attribute disagree');
  }
  return sizes;
}

export const attention: Lowering = (c) => {
  const e = c.e;
  const input = c.required(0, 'input');
  const weights = c.required(1, 'weights');
  if (c.input(4)) c.refuse(`it reads a past key/value state (input 4, '${c.input(4)}')`, 'export the model without past key/values (Optimum: the plain decoder, not the with-past one); lor2c trains on whole sequences');
  if (c.input(6) || attrInt(c.node, 'past_present_share_buffer', 0)) c.refuse('it shares its past and present buffers (past_present_share_buffer)', 'export the model without past key/values');
  if (attrInt(c.node, 'do_rotary', 0)) c.refuse('do_rotary=1 (rotary embedding inside the attention)');
  const heads = attrInt(c.node, 'num_heads', 0);
  if (heads <= 0) c.refuse('num_heads is missing', 'check the model: Attention requires num_heads');
  const wdims = e.constTensor(weights)?.dims.map(Number) ?? c.dims(weights);
  const known = wdims?.length === 2 ? wdims[1] : undefined;
  const width = typeof known === 'number' ? known : c.refuse(`the shape of its weights '${weights}' is not known`, 'store the packed QKV weight as an initializer');
  const [dq, dk, dv] = qkvSizes(c, width, heads);
  const mask = keyMask(c, 3, 'mask_index', [1, 2, 3]);
  if (mask?.rank === 1) {
    // (3B + 2) is a GPU-only form; (B) and (2B) are told apart at run time.
    const n = c.dims(mask.value)?.[0];
    const b = c.dims(input)?.[0];
    if (typeof n === 'number' && typeof b === 'number' && n !== b && n !== 2 * b) c.refuse(`its 1-D mask_index has ${n} entries for batch ${b} (only lengths (B) and ends + starts (2B) are read)`);
  }

  let qkv = e.op('MatMul', [input, weights]);
  const bias = c.input(2);
  if (bias) qkv = e.op('Add', [qkv, bias]);
  const [q, k, v] = e.split(qkv, [dq, dk, dv], -1, 3);
  const perHead = (x: string, size: number, perm: number[]) => e.op('Transpose', [e.op('Reshape', [x, e.ints([0, 0, heads, size / heads])])], { perm });
  const headSize = dq / heads;
  const scale = attrFloat(c.node, 'scale', 0) || 1 / Math.sqrt(headSize);
  const kHeads = (perm: number[]) => perHead(k!, dk, perm);
  const vHeads = perHead(v!, dv, [0, 2, 1, 3]);
  const attended = attend(c, {
    q: perHead(q!, dq, [0, 2, 1, 3]),
    kT: kHeads([0, 2, 3, 1]),
    v: vHeads,
    scale,
    causal: attrInt(c.node, 'unidirectional', 0) === 1,
    ...(mask ? { mask } : {}),
    ...(c.input(5) ? { bias: c.input(5)! } : {}),
    shapeSource: input,
  });
  const merged = e.op('Reshape', [e.op('Transpose', [attended], { perm: [0, 2, 1, 3] }), e.ints([0, 0, dv])]);
  if (c.wants(1)) {
    // present: keys and values of this call stacked, [2, B, N, S, h] (no past to prepend).
    if (dk !== dv) c.refuse('its present output is read while k and v differ in width');
    c.bind(1, e.op('Concat', [e.unsqueeze(kHeads([0, 2, 1, 3]), [0]), e.unsqueeze(vHeads, [0])], { axis: 0 }));
  }
  c.bind(0, merged);
};
