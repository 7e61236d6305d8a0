/**
 * Attention masks, built once per model and applied in every layer: the padding mask from
 * `attention_mask` and the causal mask of decoders. Masked scores get float32's lowest
 * value, as Hugging Face does, so masked positions get exactly zero probability.
 */
import { DataType, scalarTensor } from '../../compiler/onnx/index.ts';
import type { CausalMaskForm } from './config.ts';
import { FLOAT32_MIN, type Net } from './net.ts';

/** 'additive': added to the scores; 'select': Where(keep, scores, lowest). */
export type AttentionBias = { kind: 'additive'; value: string } | { kind: 'select'; keep: string };

/** attention_mask [batch, seq] (1 keep, 0 pad) -> additive [batch, 1, 1, seq]: (1 - m) * lowest. */
export function paddingMask(net: Net, attentionMask: string): AttentionBias {
  const expanded = net.op('Unsqueeze', [attentionMask, net.ints([1, 2])]);
  const inverted = net.op('Sub', [net.float(1), net.op('Cast', [expanded], { to: DataType.FLOAT })]);
  return { kind: 'additive', value: net.op('Mul', [inverted, net.float(FLOAT32_MIN)]) };
}

/**
 * The causal mask for a sequence of length `seq` (1-element int64). 'trilu': additive
 * [seq, seq] from Trilu over ones. 'constant': a stored lower-triangular bool buffer
 * [1, 1, maxPositions, maxPositions] sliced to [1, 1, seq, seq], applied with Where.
 */
export function causalMask(net: Net, form: CausalMaskForm, seq: string, maxPositions: number): AttentionBias {
  const square = net.op('Concat', [seq, seq], { axis: 0 });
  if (form === 'trilu') {
    const ones = net.op('ConstantOfShape', [square], { value: scalarTensor('', DataType.FLOAT, 1, [1]) });
    const lower = net.op('Trilu', [ones], { upper: 0 });
    return { kind: 'additive', value: net.op('Mul', [net.op('Sub', [net.float(1), lower]), net.float(FLOAT32_MIN)]) };
  }
  const table = new Uint8Array(maxPositions * maxPositions);
  for (let i = 0; i < maxPositions; i++) table.fill(1, i * maxPositions, i * maxPositions + i + 1);
  const buffer = net.constant(DataType.BOOL, [1, 1, maxPositions, maxPositions], table);
  return { kind: 'select', keep: net.op('Slice', [buffer, net.ints([0, 0]), square, net.ints([2, 3])]) };
}

/** Applies the masks, in order, to attention scores [batch, heads, seq, seq]. */
export function applyMasks(net: Net, scores: string, masks: readonly AttentionBias[]): string {
  let s = scores;
  for (const m of masks) s = m.kind === 'additive' ? net.op('Add', [s, m.value]) : net.op('Where', [m.keep, s, net.float(FLOAT32_MIN)]);
  return s;
}

/** A decoder's masks: causal, then padding when the model takes an attention_mask. */
export function decoderMasks(net: Net, form: CausalMaskForm, seq: string, maxPositions: number, attentionMask?: string): AttentionBias[] {
  const masks = [causalMask(net, form, seq, maxPositions)];
  if (attentionMask !== undefined) masks.push(paddingMask(net, attentionMask));
  return masks;
}
