/**
 * An independent float64 forward pass of the three test architectures, written from the
 * math (not from the builders' graphs): its own matmul, softmax, normalisations, GELU and
 * rotary code, reading the weights from the ONNX initializers by their torch names.
 * Masks are applied as "which keys may a query see", with exactly zero probability
 * elsewhere, which is what the graphs' additive float32-lowest masks compute.
 */
import { tensorArray, type ModelProto } from '../../../compiler/onnx/index.ts';
import type { BertConfig, Gpt2Config, LlamaConfig, Resolved } from '../../../examples/models/index.ts';

/** A matrix of `rows` rows, row-major. */
interface Mat { rows: number; cols: number; data: Float64Array }

const mat = (rows: number, cols: number, data: Float64Array = new Float64Array(rows * cols)): Mat => ({ rows, cols, data });

export class Weights {
  private readonly byName = new Map<string, { dims: number[]; data: Float64Array }>();
  constructor(model: ModelProto) {
    for (const t of model.graph!.initializer) this.byName.set(t.name, { dims: t.dims.map(Number), data: Float64Array.from(tensorArray(t) as Float32Array) });
  }
  get(name: string): { dims: number[]; data: Float64Array } {
    const w = this.byName.get(name);
    if (!w) throw new Error(`reference: no initializer '${name}'`);
    return w;
  }
  /** A 2-D weight as [in, out]; `storedOutIn` says the file holds it as [out, in]. */
  inOut(name: string, storedOutIn: boolean): Mat {
    const { dims, data } = this.get(name);
    if (!storedOutIn) return mat(dims[0]!, dims[1]!, data);
    return transpose(mat(dims[0]!, dims[1]!, data));
  }
  vector(name: string): Float64Array {
    return this.get(name).data;
  }
}

function transpose(a: Mat): Mat {
  const out = mat(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) out.data[j * a.rows + i] = a.data[i * a.cols + j]!;
  return out;
}

function matmul(a: Mat, b: Mat): Mat {
  if (a.cols !== b.rows) throw new Error(`reference: matmul ${a.rows}x${a.cols} by ${b.rows}x${b.cols}`);
  const out = mat(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let k = 0; k < a.cols; k++) {
      const x = a.data[i * a.cols + k]!;
      for (let j = 0; j < b.cols; j++) out.data[i * b.cols + j]! += x * b.data[k * b.cols + j]!;
    }
  }
  return out;
}

function addRowVector(a: Mat, v: Float64Array): Mat {
  return map2(a, (x, _i, j) => x + v[j]!);
}

function add(a: Mat, b: Mat): Mat {
  return map2(a, (x, i, j) => x + b.data[i * b.cols + j]!);
}

function map2(a: Mat, f: (x: number, i: number, j: number) => number): Mat {
  const out = mat(a.rows, a.cols);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) out.data[i * a.cols + j] = f(a.data[i * a.cols + j]!, i, j);
  return out;
}

function columns(a: Mat, from: number, to: number): Mat {
  const out = mat(a.rows, to - from);
  for (let i = 0; i < a.rows; i++) for (let j = from; j < to; j++) out.data[i * out.cols + j - from] = a.data[i * a.cols + j]!;
  return out;
}

function layerNorm(a: Mat, gamma: Float64Array, beta: Float64Array, eps: number): Mat {
  const out = mat(a.rows, a.cols);
  for (let i = 0; i < a.rows; i++) {
    const row = a.data.subarray(i * a.cols, (i + 1) * a.cols);
    const mean = row.reduce((s, x) => s + x, 0) / a.cols;
    const variance = row.reduce((s, x) => s + (x - mean) ** 2, 0) / a.cols;
    const inv = 1 / Math.sqrt(variance + eps);
    for (let j = 0; j < a.cols; j++) out.data[i * a.cols + j] = (row[j]! - mean) * inv * gamma[j]! + beta[j]!;
  }
  return out;
}

function rmsNorm(a: Mat, gamma: Float64Array, eps: number): Mat {
  const out = mat(a.rows, a.cols);
  for (let i = 0; i < a.rows; i++) {
    const row = a.data.subarray(i * a.cols, (i + 1) * a.cols);
    const inv = 1 / Math.sqrt(row.reduce((s, x) => s + x * x, 0) / a.cols + eps);
    for (let j = 0; j < a.cols; j++) out.data[i * a.cols + j] = row[j]! * inv * gamma[j]!;
  }
  return out;
}

/** erf to about 1e-14: Maclaurin series below 2.5, a continued fraction for erfc above. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax > 6) return Math.sign(x);
  if (ax < 2.5) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 100; n++) {
      term *= (-x * x) / n;
      const next = term / (2 * n + 1);
      sum += next;
      if (Math.abs(next) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated bottom-up.
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
const silu = (x: number) => x / (1 + Math.exp(-x));

/** Rows of token embeddings: [batch * seq, d]. */
function gatherRows(table: { dims: number[]; data: Float64Array }, ids: number[]): Mat {
  const d = table.dims[1]!;
  const out = mat(ids.length, d);
  ids.forEach((id, r) => out.data.set(table.data.subarray(id * d, (id + 1) * d), r * d));
  return out;
}

interface AttentionShape {
  batch: number;
  seq: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** May query position i of sequence b see key position j? */
  visible: (b: number, i: number, j: number) => boolean;
  /** Applied to each query and key head vector at position `pos`. */
  rotate?: (v: Float64Array, pos: number) => Float64Array;
}

/** softmax(q k^T / sqrt(dh)) v per head over visible keys; q [b*s, h*dh], k, v [b*s, kvh*dh]. */
function attention(q: Mat, k: Mat, v: Mat, a: AttentionShape): Mat {
  const { batch, seq, heads, kvHeads, headDim } = a;
  const out = mat(batch * seq, heads * headDim);
  const headVec = (m: Mat, row: number, head: number): Float64Array => m.data.slice(row * m.cols + head * headDim, row * m.cols + (head + 1) * headDim);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const kvh = Math.floor(h / (heads / kvHeads));
      const keys = Array.from({ length: seq }, (_, j) => {
        const vec = headVec(k, b * seq + j, kvh);
        return a.rotate ? a.rotate(vec, j) : vec;
      });
      for (let i = 0; i < seq; i++) {
        let qv: Float64Array = headVec(q, b * seq + i, h);
        if (a.rotate) qv = a.rotate(qv, i);
        const scores = keys.map((kv, j) => (a.visible(b, i, j) ? dot(qv, kv) / Math.sqrt(headDim) : -Infinity));
        const max = Math.max(...scores);
        const exps = scores.map((s) => (s === -Infinity ? 0 : Math.exp(s - max)));
        const total = exps.reduce((s, x) => s + x, 0);
        for (let j = 0; j < seq; j++) {
          const p = exps[j]! / total;
          if (p === 0) continue;
          const vv = headVec(v, b * seq + j, kvh);
          for (let t = 0; t < headDim; t++) out.data[(b * seq + i) * out.cols + h * headDim + t]! += p * vv[t]!;
        }
      }
    }
  }
  return out;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export interface Batch {
  batch: number;
  seq: number;
  /** [batch * seq] token ids, row-major. */
  ids: number[];
  /** [batch * seq] 1 = real token, 0 = padding; absent: all real. */
  mask?: number[];
  /** [batch * seq] BERT token types; absent: all 0. */
  tokenTypes?: number[];
}

const keyVisible = (x: Batch) => (b: number, j: number) => (x.mask ? x.mask[b * x.seq + j] === 1 : true);
const positionsOf = (x: Batch) => Array.from({ length: x.batch * x.seq }, (_, r) => r % x.seq);

/** A projection reader for one model: weight orientation from the export style. */
function projector(w: Weights, gemm: boolean) {
  return (x: Mat, module: string, opts: { bias: boolean; conv1d?: boolean }): Mat => {
    // Under Gemm, nn.Linear keeps torch's [out, in]; Conv1D and every MatMul weight are [in, out].
    const y = matmul(x, w.inOut(`${module}.weight`, gemm && !opts.conv1d));
    return opts.bias ? addRowVector(y, w.vector(`${module}.bias`)) : y;
  };
}

/** BERT-like encoder under its head: classifier logits [batch, numLabels], MLM logits
 * [batch, seq, vocab], or (no head) the last hidden state [batch, seq, d]. */
export function bertReference(model: ModelProto, cfg: Resolved<BertConfig>, x: Batch): Float64Array {
  const w = new Weights(model);
  const proj = projector(w, cfg.projection === 'gemm');
  const ln = (a: Mat, m: string) => layerNorm(a, w.vector(`${m}.weight`), w.vector(`${m}.bias`), cfg.layerNormEps);
  const act = cfg.activation === 'gelu' ? gelu : geluTanh;
  const d = cfg.dModel;
  const headDim = d / cfg.heads;
  let h = add(add(gatherRows(w.get('embeddings.word_embeddings.weight'), x.ids), gatherRows(w.get('embeddings.token_type_embeddings.weight'), x.tokenTypes ?? x.ids.map(() => 0))), gatherRows(w.get('embeddings.position_embeddings.weight'), positionsOf(x)));
  h = ln(h, 'embeddings.LayerNorm');
  const sees = keyVisible(x);
  for (let l = 0; l < cfg.layers; l++) {
    const p = `encoder.layer.${l}`;
    let q: Mat, k: Mat, v: Mat;
    if (cfg.fusedQkv) {
      const qkv = proj(h, `${p}.attention.self.qkv`, { bias: true });
      [q, k, v] = [columns(qkv, 0, d), columns(qkv, d, 2 * d), columns(qkv, 2 * d, 3 * d)];
    } else {
      [q, k, v] = ['query', 'key', 'value'].map((m) => proj(h, `${p}.attention.self.${m}`, { bias: true })) as [Mat, Mat, Mat];
    }
    const ctx = attention(q, k, v, { batch: x.batch, seq: x.seq, heads: cfg.heads, kvHeads: cfg.heads, headDim, visible: (b, _i, j) => sees(b, j) });
    const a = ln(add(proj(ctx, `${p}.attention.output.dense`, { bias: true }), h), `${p}.attention.output.LayerNorm`);
    const inner = map2(proj(a, `${p}.intermediate.dense`, { bias: true }), act);
    h = ln(add(proj(inner, `${p}.output.dense`, { bias: true }), a), `${p}.output.LayerNorm`);
  }
  if (cfg.head === 'none') return h.data;
  if (cfg.head === 'mlm') {
    const transformed = ln(map2(proj(h, 'cls.predictions.transform.dense', { bias: true }), act), 'cls.predictions.transform.LayerNorm');
    const logits = lmLogits(w, transformed, cfg.tieWordEmbeddings ? 'embeddings.word_embeddings.weight' : undefined, proj, 'cls.predictions.decoder');
    return addRowVector(mat(x.batch * x.seq, cfg.vocabSize, logits), w.vector('cls.predictions.bias')).data;
  }
  const cls = mat(x.batch, d);
  for (let b = 0; b < x.batch; b++) {
    if (cfg.pooling === 'cls') {
      cls.data.set(h.data.subarray(b * x.seq * d, b * x.seq * d + d), b * d);
      continue;
    }
    const real = Array.from({ length: x.seq }, (_, s) => s).filter((s) => sees(b, s));
    for (const s of real) for (let k = 0; k < d; k++) cls.data[b * d + k]! += h.data[(b * x.seq + s) * d + k]! / real.length;
  }
  const pooled = map2(proj(cls, 'pooler.dense', { bias: true }), Math.tanh);
  return proj(pooled, 'classifier', { bias: true }).data;
}

/** GPT-2-like LM: logits [batch, seq, vocab]. */
export function gpt2Reference(model: ModelProto, cfg: Resolved<Gpt2Config>, x: Batch): Float64Array {
  const w = new Weights(model);
  const proj = projector(w, cfg.projection === 'gemm');
  const ln = (a: Mat, m: string) => layerNorm(a, w.vector(`${m}.weight`), w.vector(`${m}.bias`), cfg.layerNormEps);
  const act = cfg.activation === 'gelu' ? gelu : geluTanh;
  const d = cfg.dModel;
  const sees = keyVisible(x);
  let h = add(gatherRows(w.get('wte.weight'), x.ids), gatherRows(w.get('wpe.weight'), positionsOf(x)));
  for (let l = 0; l < cfg.layers; l++) {
    const p = `h.${l}`;
    const a = ln(h, `${p}.ln_1`);
    let q: Mat, k: Mat, v: Mat;
    if (cfg.fusedQkv) {
      const qkv = proj(a, `${p}.attn.c_attn`, { bias: true, conv1d: true });
      [q, k, v] = [columns(qkv, 0, d), columns(qkv, d, 2 * d), columns(qkv, 2 * d, 3 * d)];
    } else {
      [q, k, v] = ['q_proj', 'k_proj', 'v_proj'].map((m) => proj(a, `${p}.attn.${m}`, { bias: true, conv1d: true })) as [Mat, Mat, Mat];
    }
    const ctx = attention(q, k, v, { batch: x.batch, seq: x.seq, heads: cfg.heads, kvHeads: cfg.heads, headDim: d / cfg.heads, visible: (b, i, j) => j <= i && sees(b, j) });
    h = add(h, proj(ctx, `${p}.attn.c_proj`, { bias: true, conv1d: true }));
    const inner = map2(proj(ln(h, `${p}.ln_2`), `${p}.mlp.c_fc`, { bias: true, conv1d: true }), act);
    h = add(h, proj(inner, `${p}.mlp.c_proj`, { bias: true, conv1d: true }));
  }
  h = ln(h, 'ln_f');
  return lmLogits(w, h, cfg.tieWordEmbeddings ? 'wte.weight' : undefined, proj);
}

/** LLaMA-like LM: logits [batch, seq, vocab]. */
export function llamaReference(model: ModelProto, cfg: Resolved<LlamaConfig>, x: Batch): Float64Array {
  const w = new Weights(model);
  const proj = projector(w, cfg.projection === 'gemm');
  const norm = (a: Mat, m: string) => rmsNorm(a, w.vector(`${m}.weight`), cfg.rmsNormEps);
  const d = cfg.dModel;
  const headDim = d / cfg.heads;
  const kvWidth = cfg.kvHeads * headDim;
  const sees = keyVisible(x);
  // Rotation of pairs (i, i + headDim/2) by angle pos * theta^(-2i/headDim).
  const rotate = (vec: Float64Array, pos: number): Float64Array => {
    const half = headDim / 2;
    const out = new Float64Array(headDim);
    for (let i = 0; i < half; i++) {
      const angle = pos * cfg.ropeTheta ** (-(2 * i) / headDim);
      const [c, s] = [Math.cos(angle), Math.sin(angle)];
      out[i] = vec[i]! * c - vec[i + half]! * s;
      out[i + half] = vec[i + half]! * c + vec[i]! * s;
    }
    return out;
  };
  let h = gatherRows(w.get('model.embed_tokens.weight'), x.ids);
  for (let l = 0; l < cfg.layers; l++) {
    const p = `model.layers.${l}`;
    const a = norm(h, `${p}.input_layernorm`);
    let q: Mat, k: Mat, v: Mat;
    if (cfg.fusedQkv) {
      const qkv = proj(a, `${p}.self_attn.qkv_proj`, { bias: false });
      [q, k, v] = [columns(qkv, 0, d), columns(qkv, d, d + kvWidth), columns(qkv, d + kvWidth, d + 2 * kvWidth)];
    } else {
      [q, k, v] = ['q_proj', 'k_proj', 'v_proj'].map((m) => proj(a, `${p}.self_attn.${m}`, { bias: false })) as [Mat, Mat, Mat];
    }
    const ctx = attention(q, k, v, { batch: x.batch, seq: x.seq, heads: cfg.heads, kvHeads: cfg.kvHeads, headDim, rotate, visible: (b, i, j) => j <= i && sees(b, j) });
    h = add(h, proj(ctx, `${p}.self_attn.o_proj`, { bias: false }));
    const m = norm(h, `${p}.post_attention_layernorm`);
    const gate = map2(proj(m, `${p}.mlp.gate_proj`, { bias: false }), silu);
    const up = proj(m, `${p}.mlp.up_proj`, { bias: false });
    h = add(h, proj(map2(gate, (g, i, j) => g * up.data[i * up.cols + j]!), `${p}.mlp.down_proj`, { bias: false }));
  }
  h = norm(h, 'model.norm');
  return lmLogits(w, h, cfg.tieWordEmbeddings ? 'model.embed_tokens.weight' : undefined, proj);
}

function lmLogits(w: Weights, h: Mat, tiedEmbedding: string | undefined, proj: ReturnType<typeof projector>, module = 'lm_head'): Float64Array {
  if (tiedEmbedding) return matmul(h, w.inOut(tiedEmbedding, true)).data;
  return proj(h, module, { bias: false }).data;
}
