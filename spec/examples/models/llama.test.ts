import { buildLlama, type LlamaConfig } from '../../../examples/models/index.ts';
import { llamaReference } from './reference.ts';
import { decoderTests } from './decoder-tests.ts';

const VARIANTS: [string, Partial<LlamaConfig>][] = [
  ['defaults (decomposed RMSNorm, Trilu mask, separate q/k/v, untied head)', {}],
  ['RMSNormalization op (opset 23), grouped-query attention, fused qkv_proj, Gemm', { rmsNormForm: 'op', kvHeads: 2, fusedQkv: true, projection: 'gemm' }],
  ['constant mask + Where, attention_mask, tied head, one kv head', { causalMask: 'constant', attentionMask: true, tieWordEmbeddings: true, kvHeads: 1 }],
];

decoderTests<LlamaConfig>('llama', buildLlama, llamaReference, VARIANTS);
