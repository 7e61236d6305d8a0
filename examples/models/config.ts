/**
 * Configurations of the test-model builders: sizes, seed, and the export-style choices
 * (which op forms, which projection layout, names or no names) that let one architecture
 * look like the graphs different exporters produce.
 */
import { UserError } from '../../contract/errors.ts';
import type { ModelProto } from '../../compiler/onnx/index.ts';

/** How weights are drawn. 'hf': like Hugging Face's _init_weights (weights and embeddings
 * ~ N(0, std), biases 0, norm scales 1, norm shifts 0). 'random': every tensor random
 * (biases and norm shifts ~ N(0, std), norm scales ~ 1 + N(0, std)), so tests that compare
 * against a reference exercise every parameter. */
export type InitMode = 'hf' | 'random';

/** 'matmul': MatMul by an [in, out] weight, then Add for the bias (torch.onnx's Linear on
 * 3-D inputs). 'gemm': Gemm on the input flattened to 2-D, as torch exports addmm (GPT-2's
 * Conv1D, [in, out] weight) and Linear on 2-D inputs ([out, in] weight, transB = 1). */
export type Projection = 'matmul' | 'gemm';

/** 'decomposed': the elementwise chain torch exports; 'op': the single ONNX op. */
export type OpForm = 'decomposed' | 'op';

export interface CommonConfig {
  vocabSize: number;
  dModel: number;
  layers: number;
  heads: number;
  /** Hidden width of the feed-forward network. */
  ffn: number;
  maxPositions: number;
  seed: number;
  /** ai.onnx opset; undefined: 17, raised to what the chosen op forms need. */
  opset?: number;
  dtype: 'float32';
  init: InitMode;
  /** Standard deviation of random weights (Hugging Face's initializer_range). */
  initStd: number;
  projection: Projection;
  /** One [d, 3d] QKV projection split in three, instead of separate q, k, v projections. */
  fusedQkv: boolean;
  /** Rename every initializer, node and intermediate value to opaque names (onnx::MatMul_12). */
  anonymous: boolean;
}

export type Activation = 'gelu' | 'gelu_tanh';

/** What sits on the BERT encoder: 'classifier' (BertForSequenceClassification: pooler, then
 * classifier), 'mlm' (BertForMaskedLM: the `cls.predictions` transform and a vocabulary
 * projection, no pooler), 'none' (the bare encoder: BertModel's last_hidden_state, no pooler). */
export type BertHead = 'classifier' | 'mlm' | 'none';

/** What the classifier head's pooler reads: 'cls' the [CLS] position (BERT's pooler), 'mean' the
 * mean of the real (attention_mask 1) positions, as sentence encoders pool: an encoder
 * pretrained by masked LM alone never trains [CLS] to sum up the text. */
export type BertPooling = 'cls' | 'mean';

export interface BertConfig extends CommonConfig {
  head: BertHead;
  pooling: BertPooling;
  numLabels: number;
  typeVocabSize: number;
  /** Add `token_type_ids` as a graph input; otherwise token type 0 everywhere. */
  tokenTypeInput: boolean;
  activation: Activation;
  /** 'op' is opset 20's Gelu. */
  geluForm: OpForm;
  layerNormForm: OpForm;
  layerNormEps: number;
  /** 'mlm' head: the vocabulary projection reuses word_embeddings (BERT's tying) instead of its
   * own `cls.predictions.decoder.weight`; either way it has its own `cls.predictions.bias`. */
  tieWordEmbeddings: boolean;
}

export type CausalMaskForm = 'trilu' | 'constant';

export interface Gpt2Config extends CommonConfig {
  activation: Activation;
  geluForm: OpForm;
  layerNormForm: OpForm;
  layerNormEps: number;
  /** LM head reuses the token embedding (wte) instead of its own `lm_head.weight`. */
  tieWordEmbeddings: boolean;
  /** 'trilu': an additive mask from Trilu; 'constant': a stored lower-triangular bool
   * buffer sliced to the sequence and applied with Where (Hugging Face GPT-2's form). */
  causalMask: CausalMaskForm;
  /** Also take an `attention_mask` [batch, seq] input (padding mask). */
  attentionMask: boolean;
}

export interface LlamaConfig extends CommonConfig {
  /** Key/value heads (grouped-query attention when fewer than `heads`); default: heads. */
  kvHeads?: number;
  ropeTheta: number;
  /** 'op' is opset 23's RMSNormalization. */
  rmsNormForm: OpForm;
  rmsNormEps: number;
  tieWordEmbeddings: boolean;
  causalMask: CausalMaskForm;
  attentionMask: boolean;
}

export type Architecture = 'bert' | 'gpt2' | 'llama';

const COMMON_DEFAULTS: Omit<CommonConfig, 'fusedQkv'> = {
  vocabSize: 1000,
  dModel: 64,
  layers: 2,
  heads: 4,
  ffn: 256,
  maxPositions: 128,
  seed: 0,
  opset: undefined,
  dtype: 'float32',
  init: 'hf',
  initStd: 0.02,
  projection: 'matmul',
  anonymous: false,
};

export const BERT_DEFAULTS: BertConfig = {
  ...COMMON_DEFAULTS,
  fusedQkv: false,
  head: 'classifier',
  pooling: 'cls',
  numLabels: 2,
  typeVocabSize: 2,
  tokenTypeInput: false,
  activation: 'gelu',
  geluForm: 'decomposed',
  layerNormForm: 'op',
  layerNormEps: 1e-12,
  tieWordEmbeddings: true,
};

export const GPT2_DEFAULTS: Gpt2Config = {
  ...COMMON_DEFAULTS,
  fusedQkv: true,
  activation: 'gelu_tanh',
  geluForm: 'decomposed',
  layerNormForm: 'op',
  layerNormEps: 1e-5,
  tieWordEmbeddings: true,
  causalMask: 'trilu',
  attentionMask: false,
};

export const LLAMA_DEFAULTS: LlamaConfig = {
  ...COMMON_DEFAULTS,
  fusedQkv: false,
  kvHeads: undefined,
  ropeTheta: 10000,
  rmsNormForm: 'decomposed',
  rmsNormEps: 1e-6,
  tieWordEmbeddings: false,
  causalMask: 'trilu',
  attentionMask: false,
};

export const DEFAULTS = { bert: BERT_DEFAULTS, gpt2: GPT2_DEFAULTS, llama: LLAMA_DEFAULTS } as const;

/** A config with every field set (the opset decided, kvHeads filled in), sizes checked. */
export type Resolved<C extends CommonConfig> = C & { opset: number } & (C extends { kvHeads?: number } ? { kvHeads: number } : unknown);

const MIN_OPSET = 14; // Trilu
const MAX_OPSET = 23;

/**
 * Fills defaults, checks sizes and option values, and picks the opset: 17 unless an op
 * form needs more (Gelu 20, RMSNormalization 23); an explicit opset too low for a chosen
 * op is an error rather than a silent bump.
 */
export function resolveConfig<C extends CommonConfig>(arch: Architecture, defaults: C, partial: Partial<C>): Resolved<C> {
  for (const key of Object.keys(partial)) {
    if (!(key in defaults)) throw new UserError(`${arch}: unknown config field '${key}'`, `known fields: ${Object.keys(defaults).join(', ')}`);
  }
  const cfg = { ...defaults } as C;
  for (const [k, v] of Object.entries(partial)) if (v !== undefined) (cfg as Record<string, unknown>)[k] = v;

  const positive = ['vocabSize', 'dModel', 'layers', 'heads', 'ffn', 'maxPositions', 'numLabels', 'typeVocabSize', 'kvHeads'];
  for (const key of positive) {
    const v = (cfg as Record<string, unknown>)[key];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) > 0)) throw new UserError(`${arch}: ${key} must be a positive integer, got ${String(v)}`);
  }
  if (!Number.isSafeInteger(cfg.seed)) throw new UserError(`${arch}: seed must be an integer, got ${cfg.seed}`);
  if (cfg.dModel % cfg.heads !== 0) throw new UserError(`${arch}: dModel ${cfg.dModel} is not divisible by heads ${cfg.heads}`);
  if (!(cfg.initStd >= 0)) throw new UserError(`${arch}: initStd must be >= 0, got ${cfg.initStd}`);
  checkChoice(arch, 'dtype', cfg.dtype, ['float32']);
  checkChoice(arch, 'init', cfg.init, ['hf', 'random']);
  checkChoice(arch, 'projection', cfg.projection, ['matmul', 'gemm']);
  const rec = cfg as Record<string, unknown>;
  if ('activation' in rec) checkChoice(arch, 'activation', rec.activation, ['gelu', 'gelu_tanh']);
  for (const key of ['geluForm', 'layerNormForm', 'rmsNormForm']) if (key in rec) checkChoice(arch, key, rec[key], ['decomposed', 'op']);
  if ('head' in rec) checkChoice(arch, 'head', rec.head, ['classifier', 'mlm', 'none']);
  if ('pooling' in rec) checkChoice(arch, 'pooling', rec.pooling, ['cls', 'mean']);
  if ('causalMask' in rec) checkChoice(arch, 'causalMask', rec.causalMask, ['trilu', 'constant']);
  if ('kvHeads' in rec) {
    const kvHeads = (rec.kvHeads ??= cfg.heads) as number;
    if (!(Number.isInteger(kvHeads) && kvHeads > 0)) throw new UserError(`${arch}: kvHeads must be a positive integer, got ${kvHeads}`);
    if (cfg.heads % kvHeads !== 0) throw new UserError(`${arch}: heads ${cfg.heads} is not a multiple of kvHeads ${kvHeads}`);
    if ((cfg.dModel / cfg.heads) % 2 !== 0) throw new UserError(`${arch}: rotary embeddings need an even head size, got ${cfg.dModel / cfg.heads}`);
  }

  const needs: [string, number][] = [];
  if (rec.layerNormForm === 'op') needs.push(['LayerNormalization', 17]);
  if (rec.geluForm === 'op') needs.push(['Gelu', 20]);
  if (rec.rmsNormForm === 'op') needs.push(['RMSNormalization', 23]);
  const required = Math.max(MIN_OPSET, ...needs.map(([, v]) => v));
  let opset = cfg.opset;
  if (opset === undefined) opset = Math.max(17, required);
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) throw new UserError(`${arch}: opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}, got ${opset}`);
  for (const [op, v] of needs) {
    if (opset < v) throw new UserError(`${arch}: ${op} needs opset ${v} or later, but opset ${opset} was asked for`, `leave opset unset or choose the decomposed form`);
  }
  return { ...cfg, opset } as Resolved<C>;
}

function checkChoice(arch: string, key: string, value: unknown, allowed: string[]): void {
  if (!allowed.includes(value as string)) throw new UserError(`${arch}: ${key} must be one of ${allowed.join(', ')}, got ${String(value)}`);
}

/** IR version that goes with an opset (ONNX 1.16: IR 10 / opset 21; 1.18: IR 11 / opset 23). */
export function irVersionFor(opset: number): number {
  return opset >= 23 ? 11 : 10;
}

/** What every builder returns. */
export interface BuiltModel<C extends CommonConfig> {
  model: ModelProto;
  config: Resolved<C>;
}
