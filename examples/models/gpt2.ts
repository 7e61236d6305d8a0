/**
 * A GPT-2-like decoder (GPT2LMHeadModel's graph): token + learned position embeddings,
 * pre-LN layers (ln_1, attention with fused c_attn, Add; ln_2, GELU MLP, Add), a causal
 * mask (and a padding mask when asked), final ln_f, LM head tied to wte by default.
 * Input: input_ids (and attention_mask) int64 [batch, seq]; output: logits [batch, seq, vocab].
 */
import { DataType } from '../../compiler/onnx/index.ts';
import { attend, qkvProjections } from './attention.ts';
import { GPT2_DEFAULTS, resolveConfig, type BuiltModel, type Gpt2Config } from './config.ts';
import { embedding, gelu, layerNorm, linear, lmHead, positionIds, sequenceLength } from './layers.ts';
import { decoderMasks } from './masks.ts';
import { Net } from './net.ts';

export function buildGpt2(partial: Partial<Gpt2Config> = {}): BuiltModel<Gpt2Config> {
  const cfg = resolveConfig('gpt2', GPT2_DEFAULTS, partial);
  const { dModel: d, heads } = cfg;
  const headDim = d / heads;
  const net = new Net(cfg);
  const ids = net.input('input_ids', DataType.INT64, ['batch', 'seq']);
  const attentionMask = cfg.attentionMask ? net.input('attention_mask', DataType.INT64, ['batch', 'seq']) : undefined;
  // GPT-2's Conv1D keeps [in, out] weights, so under Gemm it needs no transB.
  const style = { bias: true, layout: 'conv1d' as const, projection: cfg.projection };
  const conv1d = (module: string, x: string, inFeatures: number, outFeatures: number) => net.within(module, () => linear(net, x, { ...style, inFeatures, outFeatures }));
  const norm = (module: string, x: string) => net.within(module, () => layerNorm(net, x, d, cfg.layerNormEps, cfg.layerNormForm));

  const seq = sequenceLength(net, ids);
  const tokens = net.within('wte', () => embedding(net, ids, cfg.vocabSize, d));
  const positions = net.within('wpe', () => embedding(net, positionIds(net, seq.scalar), cfg.maxPositions, d));
  const masks = decoderMasks(net, cfg.causalMask, seq.vector, cfg.maxPositions, attentionMask);
  let h = net.op('Add', [tokens.value, positions.value]);

  for (let i = 0; i < cfg.layers; i++) {
    h = net.within(`h.${i}`, () => {
      const normed = norm('ln_1', h);
      const attended = net.within('attn', () => {
        const modules = cfg.fusedQkv ? { fused: 'c_attn' } : { q: 'q_proj', k: 'k_proj', v: 'v_proj' };
        const { q, k, v } = qkvProjections(net, normed, { ...style, dModel: d, heads, kvHeads: heads, headDim, modules });
        return conv1d('c_proj', attend(net, q, k, v, { heads, kvHeads: heads, headDim, masks }), d, d);
      });
      const mid = net.op('Add', [attended, h]);
      const normedMid = norm('ln_2', mid);
      const mlp = net.within('mlp', () => {
        const up = conv1d('c_fc', normedMid, d, cfg.ffn);
        return conv1d('c_proj', net.within('act', () => gelu(net, up, cfg.activation, cfg.geluForm)), cfg.ffn, d);
      });
      return net.op('Add', [mid, mlp]);
    });
  }

  const final = norm('ln_f', h);
  const logits = net.within('lm_head', () => lmHead(net, final, d, cfg.vocabSize, cfg.projection, cfg.tieWordEmbeddings ? tokens.weight : undefined));
  net.output(logits, 'logits', DataType.FLOAT, ['batch', 'seq', cfg.vocabSize]);
  return { model: net.toModelProto('gpt2', cfg.anonymous), config: cfg };
}
