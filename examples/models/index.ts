/**
 * Test-model builders: ONNX transformer models of chosen sizes and seed, shaped like
 * torch.onnx exports of BERT, GPT-2 and LLaMA, for tests, examples and benchmarks.
 */
export { buildBert } from './bert.ts';
export { buildGpt2 } from './gpt2.ts';
export { buildLlama } from './llama.ts';
export { anonymizeGraph } from './anonymize.ts';
export { toHalfExport, roundToHalf } from './half.ts';
export { Prng, normalValues } from './prng.ts';
export {
  BERT_DEFAULTS, GPT2_DEFAULTS, LLAMA_DEFAULTS, DEFAULTS, resolveConfig,
  type Architecture, type BertConfig, type Gpt2Config, type LlamaConfig, type CommonConfig,
  type BuiltModel, type Resolved, type InitMode, type Projection, type OpForm, type Activation, type CausalMaskForm, type BertHead,
} from './config.ts';

import { buildBert } from './bert.ts';
import { buildGpt2 } from './gpt2.ts';
import { buildLlama } from './llama.ts';
import type { Architecture, BertConfig, BuiltModel, CommonConfig, Gpt2Config, LlamaConfig } from './config.ts';

/** Builds any of the three by name (for scripts that take the architecture as an argument). */
export function buildModel(arch: 'bert', config?: Partial<BertConfig>): BuiltModel<BertConfig>;
export function buildModel(arch: 'gpt2', config?: Partial<Gpt2Config>): BuiltModel<Gpt2Config>;
export function buildModel(arch: 'llama', config?: Partial<LlamaConfig>): BuiltModel<LlamaConfig>;
export function buildModel(arch: Architecture, config?: Record<string, unknown>): BuiltModel<CommonConfig>;
export function buildModel(arch: Architecture, config: Record<string, unknown> = {}): BuiltModel<CommonConfig> {
  switch (arch) {
    case 'bert': return buildBert(config as Partial<BertConfig>);
    case 'gpt2': return buildGpt2(config as Partial<Gpt2Config>);
    case 'llama': return buildLlama(config as Partial<LlamaConfig>);
  }
}
