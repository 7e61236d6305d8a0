/**
 * A BERT-like encoder: word + token-type + learned position embeddings, embedding LayerNorm,
 * post-LN layers (attention, Add, LayerNorm; GELU FFN, Add, LayerNorm), a padding mask from
 * `attention_mask`, and one of three heads (config `head`):
 *   classifier  BertForSequenceClassification: a pooler (Dense + Tanh on [CLS], or on the mean
 *               of the real positions with `pooling: 'mean'`) feeding the classifier; output
 *               logits [batch, numLabels]
 *   mlm         BertForMaskedLM: cls.predictions (Dense, GELU, LayerNorm, then the vocabulary
 *               projection, tied to word_embeddings by default, plus its bias); output logits
 *               [batch, seq, vocab]
 *   none        BertModel without its pooler: output last_hidden_state [batch, seq, d]
 * Inputs: input_ids, attention_mask (int64 [batch, seq]).
 */
import { DataType } from '../../compiler/onnx/index.ts';
import { attend, qkvProjections } from './attention.ts';
import { BERT_DEFAULTS, resolveConfig, type BertConfig, type BuiltModel } from './config.ts';
import { embedding, gelu, layerNorm, lmHead, linear, positionIds, sequenceLength, zerosLike } from './layers.ts';
import { paddingMask } from './masks.ts';
import { Net } from './net.ts';

export function buildBert(partial: Partial<BertConfig> = {}): BuiltModel<BertConfig> {
  const cfg = resolveConfig('bert', BERT_DEFAULTS, partial);
  const { dModel: d, heads } = cfg;
  const headDim = d / heads;
  const net = new Net(cfg);
  const ids = net.input('input_ids', DataType.INT64, ['batch', 'seq']);
  const attentionMask = net.input('attention_mask', DataType.INT64, ['batch', 'seq']);
  const tokenTypes = cfg.tokenTypeInput ? net.input('token_type_ids', DataType.INT64, ['batch', 'seq']) : undefined;
  const style = { bias: true, layout: 'linear' as const, projection: cfg.projection };
  const dense = (x: string, inFeatures: number, outFeatures: number, rank: 2 | 3 = 3) => net.within('dense', () => linear(net, x, { ...style, inFeatures, outFeatures, rank }));
  const norm = (x: string) => net.within('LayerNorm', () => layerNorm(net, x, d, cfg.layerNormEps, cfg.layerNormForm));

  const masks = [paddingMask(net, attentionMask)];
  let wordEmbedding = '';
  let h = net.within('embeddings', () => {
    const seq = sequenceLength(net, ids);
    const words = net.within('word_embeddings', () => {
      const { value, weight } = embedding(net, ids, cfg.vocabSize, d);
      wordEmbedding = weight;
      return value;
    });
    const types = net.within('token_type_embeddings', () => embedding(net, tokenTypes ?? zerosLike(net, ids), cfg.typeVocabSize, d).value);
    const positions = net.within('position_embeddings', () => embedding(net, positionIds(net, seq.scalar), cfg.maxPositions, d).value);
    return norm(net.op('Add', [net.op('Add', [words, types]), positions]));
  });

  net.within('encoder', () => {
    for (let i = 0; i < cfg.layers; i++) {
      h = net.within(`layer.${i}`, () => {
        const input = h;
        const attended = net.within('attention', () => {
          const context = net.within('self', () => {
            const modules = cfg.fusedQkv ? { fused: 'qkv' } : { q: 'query', k: 'key', v: 'value' };
            const { q, k, v } = qkvProjections(net, input, { ...style, dModel: d, heads, kvHeads: heads, headDim, modules });
            return attend(net, q, k, v, { heads, kvHeads: heads, headDim, masks });
          });
          return net.within('output', () => norm(net.op('Add', [dense(context, d, d), input])));
        });
        const inner = net.within('intermediate', () => {
          const x = dense(attended, d, cfg.ffn);
          return net.within('intermediate_act_fn', () => gelu(net, x, cfg.activation, cfg.geluForm));
        });
        return net.within('output', () => norm(net.op('Add', [dense(inner, cfg.ffn, d), attended])));
      });
    }
  });

  if (cfg.head === 'none') {
    net.output(h, 'last_hidden_state', DataType.FLOAT, ['batch', 'seq', d]);
  } else if (cfg.head === 'mlm') {
    const logits = net.within('cls', () => net.within('predictions', () => {
      const transformed = net.within('transform', () => {
        const x = dense(h, d, d);
        return norm(net.within('transform_act_fn', () => gelu(net, x, cfg.activation, cfg.geluForm)));
      });
      const projected = net.within('decoder', () => lmHead(net, transformed, d, cfg.vocabSize, cfg.projection, cfg.tieWordEmbeddings ? wordEmbedding : undefined));
      return net.op('Add', [projected, net.param('bias', [cfg.vocabSize], 'zeros')]);
    }));
    net.output(logits, 'logits', DataType.FLOAT, ['batch', 'seq', cfg.vocabSize]);
  } else {
    const pooled = net.within('pooler', () => {
      const summary = cfg.pooling === 'cls' ? net.op('Gather', [h, net.int(0)], { axis: 1 }) : maskedMean(net, h, attentionMask);
      const projected = dense(summary, d, d, 2);
      return net.within('activation', () => net.op('Tanh', [projected]));
    });
    const logits = net.within('classifier', () => linear(net, pooled, { ...style, inFeatures: d, outFeatures: cfg.numLabels, rank: 2 }));
    net.output(logits, 'logits', DataType.FLOAT, ['batch', cfg.numLabels]);
  }
  return { model: net.toModelProto('bert', cfg.anonymous), config: cfg };
}

/** Mean of h [batch, seq, d] over the positions where mask [batch, seq] is 1: [batch, d]. */
function maskedMean(net: Net, h: string, mask: string): string {
  const weights = net.op('Unsqueeze', [net.op('Cast', [mask], { to: DataType.FLOAT }), net.ints([2])]);
  const total = net.op('ReduceSum', [net.op('Mul', [h, weights]), net.ints([1])], { keepdims: 0 });
  const count = net.op('ReduceSum', [weights, net.ints([1])], { keepdims: 0 });
  return net.op('Div', [total, net.op('Max', [count, net.float(1)])]);
}
