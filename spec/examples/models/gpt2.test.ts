import { buildGpt2, type Gpt2Config } from '../../../examples/models/index.ts';
import { gpt2Reference } from './reference.ts';
import { decoderTests } from './decoder-tests.ts';

const VARIANTS: [string, Partial<Gpt2Config>][] = [
  ['defaults (fused c_attn, Trilu mask, tied head, tanh GELU chain)', {}],
  ['separate q/k/v, constant mask + Where, untied head, attention_mask, Gemm', { fusedQkv: false, causalMask: 'constant', tieWordEmbeddings: false, attentionMask: true, projection: 'gemm' }],
  ['Gelu op (exact), decomposed LayerNorm, opset 20', { activation: 'gelu', geluForm: 'op', layerNormForm: 'decomposed' }],
];

decoderTests<Gpt2Config>('gpt2', buildGpt2, gpt2Reference, VARIANTS);
