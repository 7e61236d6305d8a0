/**
 * Multi-head self-attention shared by the three architectures: the q/k/v projections
 * (separate, or one fused projection split in three), the head reshapes, optional rotary
 * embeddings and grouped-query key/value repetition, masking, softmax and the merge back
 * to [batch, seq, heads * headDim]. The output projection stays with the caller, whose
 * module layout differs per architecture.
 */
import type { Projection } from './config.ts';
import { linear } from './layers.ts';
import { applyMasks, type AttentionBias } from './masks.ts';
import type { Net } from './net.ts';
import { applyRotary, type RotaryTables } from './rotary.ts';

export interface ProjectionStyle {
  bias: boolean;
  layout: 'linear' | 'conv1d';
  projection: Projection;
}

export interface QkvSpec extends ProjectionStyle {
  dModel: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Module name of the fused projection (GPT-2: 'c_attn'), or the three separate names. */
  modules: { fused: string } | { q: string; k: string; v: string };
}

/** The query, key and value projections of `x` [batch, seq, dModel], in the current scope. */
export function qkvProjections(net: Net, x: string, spec: QkvSpec): { q: string; k: string; v: string } {
  const qWidth = spec.heads * spec.headDim;
  const kvWidth = spec.kvHeads * spec.headDim;
  const style = { bias: spec.bias, layout: spec.layout, projection: spec.projection, inFeatures: spec.dModel };
  const m = spec.modules;
  if ('fused' in m) {
    const qkv = net.within(m.fused, () => linear(net, x, { ...style, outFeatures: qWidth + 2 * kvWidth }));
    const [q, k, v] = net.opN('Split', [qkv, net.ints([qWidth, kvWidth, kvWidth])], 3, { axis: -1 });
    return { q: q!, k: k!, v: v! };
  }
  return {
    q: net.within(m.q, () => linear(net, x, { ...style, outFeatures: qWidth })),
    k: net.within(m.k, () => linear(net, x, { ...style, outFeatures: kvWidth })),
    v: net.within(m.v, () => linear(net, x, { ...style, outFeatures: kvWidth })),
  };
}

export interface AttentionSpec {
  heads: number;
  kvHeads: number;
  headDim: number;
  masks: readonly AttentionBias[];
  rotary?: RotaryTables;
}

/** softmax(q k^T / sqrt(headDim) + masks) v over heads; q, k, v [batch, seq, *]. */
export function attend(net: Net, q: string, k: string, v: string, spec: AttentionSpec): string {
  const { heads, kvHeads, headDim } = spec;
  let qh = splitHeads(net, q, heads, headDim);
  let kh = splitHeads(net, k, kvHeads, headDim);
  let vh = splitHeads(net, v, kvHeads, headDim);
  if (spec.rotary) {
    qh = applyRotary(net, qh, spec.rotary, headDim);
    kh = applyRotary(net, kh, spec.rotary, headDim);
  }
  if (kvHeads !== heads) {
    kh = repeatKv(net, kh, heads, kvHeads, headDim);
    vh = repeatKv(net, vh, heads, kvHeads, headDim);
  }
  const kt = net.op('Transpose', [kh], { perm: [0, 1, 3, 2] });
  const scores = net.op('Div', [net.op('MatMul', [qh, kt]), net.float(Math.sqrt(headDim))]);
  const probs = net.op('Softmax', [applyMasks(net, scores, spec.masks)], { axis: -1 });
  const context = net.op('Transpose', [net.op('MatMul', [probs, vh])], { perm: [0, 2, 1, 3] });
  return net.op('Reshape', [context, net.ints([0, 0, heads * headDim])]);
}

/** [batch, seq, heads * headDim] -> [batch, heads, seq, headDim] */
function splitHeads(net: Net, x: string, heads: number, headDim: number): string {
  return net.op('Transpose', [net.op('Reshape', [x, net.ints([0, 0, heads, headDim])])], { perm: [0, 2, 1, 3] });
}

/** Hugging Face's repeat_kv: [b, kvHeads, s, d] -> [b, heads, s, d], each kv head repeated in place. */
function repeatKv(net: Net, x: string, heads: number, kvHeads: number, headDim: number): string {
  const expanded = net.op('Expand', [net.op('Unsqueeze', [x, net.ints([2])]), net.ints([1, 1, heads / kvHeads, 1, 1])]);
  return net.op('Reshape', [expanded, net.ints([0, heads, -1, headDim])]);
}
