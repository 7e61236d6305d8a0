/**
 * A LLaMA-like decoder (LlamaForCausalLM's graph): token embeddings, pre-norm layers with
 * RMSNorm, rotary position embeddings on queries and keys, optional grouped-query attention,
 * a SwiGLU MLP (down(silu(gate(x)) * up(x))), no biases anywhere, a causal mask (and a
 * padding mask when asked), final norm and an untied LM head by default.
 * Input: input_ids (and attention_mask) int64 [batch, seq]; output: logits [batch, seq, vocab].
 */
import { DataType } from '../../compiler/onnx/index.ts';
import { attend, qkvProjections } from './attention.ts';
import { LLAMA_DEFAULTS, resolveConfig, type BuiltModel, type LlamaConfig } from './config.ts';
import { embedding, linear, lmHead, positionIds, rmsNorm, sequenceLength, silu } from './layers.ts';
import { decoderMasks } from './masks.ts';
import { Net, type NetOptions } from './net.ts';
import { rotaryTables } from './rotary.ts';

/** `parameter` makes each weight's tensor instead of seeded values in memory (net.ts). */
export function buildLlama(partial: Partial<LlamaConfig> = {}, parameter?: NetOptions['parameter']): BuiltModel<LlamaConfig> {
  const cfg = resolveConfig('llama', LLAMA_DEFAULTS, partial);
  const { dModel: d, heads, kvHeads } = cfg;
  const headDim = d / heads;
  const net = new Net({ ...cfg, parameter });
  const ids = net.input('input_ids', DataType.INT64, ['batch', 'seq']);
  const attentionMask = cfg.attentionMask ? net.input('attention_mask', DataType.INT64, ['batch', 'seq']) : undefined;
  const style = { bias: false, layout: 'linear' as const, projection: cfg.projection };
  const proj = (module: string, x: string, inFeatures: number, outFeatures: number) => net.within(module, () => linear(net, x, { ...style, inFeatures, outFeatures }));
  const norm = (module: string, x: string) => net.within(module, () => rmsNorm(net, x, d, cfg.rmsNormEps, cfg.rmsNormForm));

  let embedWeight = '';
  const final = net.within('model', () => {
    const seq = sequenceLength(net, ids);
    const tokens = net.within('embed_tokens', () => embedding(net, ids, cfg.vocabSize, d));
    embedWeight = tokens.weight;
    const rotary = net.within('rotary_emb', () => rotaryTables(net, positionIds(net, seq.scalar), headDim, cfg.ropeTheta, cfg.maxPositions));
    const masks = decoderMasks(net, cfg.causalMask, seq.vector, cfg.maxPositions, attentionMask);
    let h = tokens.value;
    for (let i = 0; i < cfg.layers; i++) {
      h = net.within(`layers.${i}`, () => {
        const normed = norm('input_layernorm', h);
        const attended = net.within('self_attn', () => {
          const modules = cfg.fusedQkv ? { fused: 'qkv_proj' } : { q: 'q_proj', k: 'k_proj', v: 'v_proj' };
          const { q, k, v } = qkvProjections(net, normed, { ...style, dModel: d, heads, kvHeads, headDim, modules });
          return proj('o_proj', attend(net, q, k, v, { heads, kvHeads, headDim, masks, rotary }), d, d);
        });
        const mid = net.op('Add', [h, attended]);
        const x = norm('post_attention_layernorm', mid);
        const mlp = net.within('mlp', () => {
          const gate = proj('gate_proj', x, d, cfg.ffn);
          const activated = net.within('act_fn', () => silu(net, gate));
          return proj('down_proj', net.op('Mul', [activated, proj('up_proj', x, d, cfg.ffn)]), cfg.ffn, d);
        });
        return net.op('Add', [mid, mlp]);
      });
    }
    return norm('norm', h);
  });
  const logits = net.within('lm_head', () => lmHead(net, final, d, cfg.vocabSize, cfg.projection, cfg.tieWordEmbeddings ? embedWeight : undefined));
  net.output(logits, 'logits', DataType.FLOAT, ['batch', 'seq', cfg.vocabSize]);
  return { model: net.toModelProto('llama', cfg.anonymous), config: cfg };
}
