/**
 * The layers the three architectures share, each emitted the way torch.onnx exports the
 * corresponding PyTorch module: Linear / Conv1D projections, LayerNorm, RMSNorm, GELU,
 * SiLU, embeddings, position ids.
 */
import { DataType, scalarTensor } from '../../compiler/onnx/index.ts';
import type { Activation, OpForm, Projection } from './config.ts';
import { Net } from './net.ts';

export interface LinearSpec {
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
  /** 'linear': nn.Linear (under Gemm the weight is [out, in] with transB = 1);
   * 'conv1d': GPT-2's Conv1D ([in, out] under both projections). Under MatMul every
   * weight is [in, out]: torch exports Linear there with the weight transposed. */
  layout: 'linear' | 'conv1d';
  projection: Projection;
  /** Rank of the input: 2 ([batch, in]) or 3 ([batch, seq, in]). */
  rank?: 2 | 3;
}

/** A projection in the current module scope: parameters `weight` (and `bias`). */
export function linear(net: Net, x: string, spec: LinearSpec): string {
  const { inFeatures: fin, outFeatures: fout } = spec;
  if (spec.projection === 'matmul') {
    const w = net.param('weight', [fin, fout], 'normal');
    const y = net.op('MatMul', [x, w]);
    return spec.bias ? net.op('Add', [net.param('bias', [fout], 'zeros'), y]) : y;
  }
  const transposed = spec.layout === 'linear';
  const w = net.param('weight', transposed ? [fout, fin] : [fin, fout], 'normal');
  const gemmInputs = (x2: string) => (spec.bias ? [x2, w, net.param('bias', [fout], 'zeros')] : [x2, w]);
  const attrs = { alpha: 1, beta: 1, transB: transposed ? 1 : 0 };
  if ((spec.rank ?? 3) === 2) return net.op('Gemm', gemmInputs(x), attrs);
  // torch: size_out = x.size()[:-1] + (nf,); addmm(bias, x.view(-1, nx), w).view(size_out)
  const leading = net.op('Slice', [net.op('Shape', [x]), net.ints([0]), net.ints([-1]), net.ints([0])]);
  const outShape = net.op('Concat', [leading, net.ints([fout])], { axis: 0 });
  const flat = net.op('Reshape', [x, net.ints([-1, fin])]);
  return net.op('Reshape', [net.op('Gemm', gemmInputs(flat), attrs), outShape]);
}

/** nn.LayerNorm over the last axis: parameters `weight`, `bias`. */
export function layerNorm(net: Net, x: string, d: number, eps: number, form: OpForm): string {
  const weight = net.param('weight', [d], 'ones');
  const bias = net.param('bias', [d], 'zeros');
  if (form === 'op') return net.op('LayerNormalization', [x, weight, bias], { axis: -1, epsilon: eps });
  // The chain older exporters (and hand-written models) produce.
  const mean = net.reduceMeanLast(x);
  const centered = net.op('Sub', [x, mean]);
  const variance = net.reduceMeanLast(net.op('Pow', [centered, net.float(2)]));
  const std = net.op('Sqrt', [net.op('Add', [variance, net.float(eps)])]);
  const normed = net.op('Div', [centered, std]);
  return net.op('Add', [net.op('Mul', [normed, weight]), bias]);
}

/** LLaMA's RMSNorm: parameter `weight`; x * rsqrt(mean(x^2) + eps) * weight. */
export function rmsNorm(net: Net, x: string, d: number, eps: number, form: OpForm): string {
  const weight = net.param('weight', [d], 'ones');
  if (form === 'op') return net.op('RMSNormalization', [x, weight], { axis: -1, epsilon: eps });
  // torch exports torch.rsqrt as Sqrt followed by Reciprocal-as-Div.
  const variance = net.reduceMeanLast(net.op('Pow', [x, net.float(2)]));
  const rsqrt = net.op('Div', [net.float(1), net.op('Sqrt', [net.op('Add', [variance, net.float(eps)])])]);
  return net.op('Mul', [weight, net.op('Mul', [x, rsqrt])]);
}

/** GELU, exact (erf) or tanh-approximated, as torch's decomposition or opset 20's Gelu. */
export function gelu(net: Net, x: string, activation: Activation, form: OpForm): string {
  if (form === 'op') return net.op('Gelu', [x], { approximate: activation === 'gelu' ? 'none' : 'tanh' });
  if (activation === 'gelu') {
    // x * 0.5 * (1 + erf(x / sqrt(2)))
    const erf = net.op('Erf', [net.op('Div', [x, net.float(Math.SQRT2)])]);
    return net.op('Mul', [net.op('Mul', [x, net.op('Add', [erf, net.float(1)])]), net.float(0.5)]);
  }
  // Hugging Face gelu_new: 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
  const half = net.op('Mul', [net.float(0.5), x]);
  const cubic = net.op('Mul', [net.float(0.044715), net.op('Pow', [x, net.float(3)])]);
  const inner = net.op('Mul', [net.float(Math.sqrt(2 / Math.PI)), net.op('Add', [x, cubic])]);
  return net.op('Mul', [half, net.op('Add', [net.float(1), net.op('Tanh', [inner])])]);
}

/** SiLU as torch exports it: x * sigmoid(x). */
export function silu(net: Net, x: string): string {
  return net.op('Mul', [x, net.op('Sigmoid', [x])]);
}

/** nn.Embedding: parameter `weight` [count, dim]; rows gathered by `ids`. */
export function embedding(net: Net, ids: string, count: number, dim: number): { value: string; weight: string } {
  const weight = net.param('weight', [count, dim], 'normal');
  return { value: net.op('Gather', [weight, ids], { axis: 0 }), weight };
}

/**
 * The LM head in the current scope: its own [d, vocab] projection (no bias), or tied to the
 * token embedding [vocab, d] through a Transpose, so the one initializer serves both uses.
 */
export function lmHead(net: Net, h: string, dModel: number, vocab: number, projection: Projection, tiedEmbedding?: string): string {
  if (tiedEmbedding !== undefined) return net.op('MatMul', [h, net.op('Transpose', [tiedEmbedding], { perm: [1, 0] })]);
  return linear(net, h, { inFeatures: dModel, outFeatures: vocab, bias: false, layout: 'linear', projection });
}

/** Sequence length of `ids` [batch, seq], as a 0-D and a 1-element int64 tensor. */
export function sequenceLength(net: Net, ids: string): { scalar: string; vector: string } {
  const shape = net.op('Shape', [ids]);
  return { scalar: net.op('Gather', [shape, net.int(1)], { axis: 0 }), vector: net.op('Slice', [shape, net.ints([1]), net.ints([2]), net.ints([0])]) };
}

/** arange(seq): int64 [seq]. */
export function positionIds(net: Net, seqScalar: string): string {
  return net.op('Range', [net.int(0), seqScalar, net.int(1)]);
}

/** Zeros shaped like `ids` (token type 0 everywhere). */
export function zerosLike(net: Net, ids: string): string {
  return net.op('ConstantOfShape', [net.op('Shape', [ids])], { value: scalarTensor('', DataType.INT64, 0, [1]) });
}
