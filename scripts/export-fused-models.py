"""Tiny BERT-like and GPT-like models in the fused form onnxruntime's transformer optimizer
writes (com.microsoft EmbedLayerNormalization, Attention, SkipLayerNormalization, BiasGelu /
FastGelu) and the same models unfused, with identical weights, for
spec/compiler/passes/lower-contrib-models.test.ts. The fused graphs follow the optimizer's
patterns: the projection biases moved into SkipLayerNormalization and BiasGelu / FastGelu, one
packed [in, 3 * hidden] Attention weight, the mask reduced to EmbedLayerNormalization's 1-D
lengths (BERT) or passed raw (GPT, unidirectional); GPT's SkipLayerNormalization normalises for
the next sublayer and carries the residual sum as its fourth output. The unfused graphs are
written the way torch.onnx.export writes the reference code (BERT: separate q, k, v; GPT-2:
one c_attn weight split [q | k | v]). Run: python3 scripts/export-fused-models.py
"""
import json
import math
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(__file__), '..', 'spec', 'fixtures', 'fused')
H, HEADS, FFN, LAYERS, VOCAB, POS = 16, 2, 32, 2, 24, 16
rng = np.random.default_rng(0)


class G:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def w(self, name, *shape, scale=0.3, value=None):
        a = value if value is not None else (rng.standard_normal(shape) * scale).astype(np.float32)
        self.inits.append(numpy_helper.from_array(np.asarray(a), name))
        return name

    def c(self, value, dtype=np.float32):
        # A Constant node, as torch.onnx.export writes scalars and shape lists (not a parameter).
        return self.op('Constant', [], value=numpy_helper.from_array(np.array(value, dtype=dtype)))

    def op(self, op, inputs, n_out=1, domain='', outputs=None, **attrs):
        self.n += 1
        outs = outputs or [f'{op}_{self.n}_{i}' for i in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=f'{op}_{self.n}', domain=domain, **attrs))
        return outs[0] if n_out == 1 else outs


def weights(kind):
    """One set of weights, shared by the fused and the plain graph."""
    r = {'word': rng.standard_normal((VOCAB, H)) * 0.5, 'pos': rng.standard_normal((POS, H)) * 0.3}
    if kind == 'bert':
        r['seg'] = rng.standard_normal((2, H)) * 0.3
        r['emb_g'], r['emb_b'] = 1 + rng.standard_normal(H) * 0.1, rng.standard_normal(H) * 0.1
    for i in range(LAYERS):
        for k, shape in [('qkv', (H, 3 * H)), ('qkv_b', (3 * H,)), ('o', (H, H)), ('o_b', (H,)), ('up', (H, FFN)), ('up_b', (FFN,)), ('down', (FFN, H)), ('down_b', (H,))]:
            r[f'{i}.{k}'] = rng.standard_normal(shape) * (0.1 if k.endswith('_b') else 0.35)
        for k in ['ln1', 'ln2']:
            r[f'{i}.{k}_g'], r[f'{i}.{k}_b'] = 1 + rng.standard_normal(H) * 0.1, rng.standard_normal(H) * 0.1
    r['final_g'], r['final_b'] = 1 + rng.standard_normal(H) * 0.1, rng.standard_normal(H) * 0.1
    r['head'] = rng.standard_normal((H, 3 if kind == 'bert' else VOCAB)) * 0.3
    r['head_b'] = rng.standard_normal(3 if kind == 'bert' else VOCAB) * 0.1
    return {k: v.astype(np.float32) for k, v in r.items()}


def plain_ln(g, x, gamma, beta):
    """LayerNorm as torch.onnx.export writes it before opset 17."""
    mean = g.op('ReduceMean', [x], axes=[-1])
    d = g.op('Sub', [x, mean])
    var = g.op('ReduceMean', [g.op('Pow', [d, g.c(2.0)])], axes=[-1])
    std = g.op('Sqrt', [g.op('Add', [var, g.c(1e-12 if gamma.startswith('emb') else 1e-5)])])
    return g.op('Add', [g.op('Mul', [g.op('Div', [d, std]), gamma]), beta])


def plain_attention(g, x, i, W, additive, causal, packed):
    """Multi-head attention from [B, S, H]: q k v per head, softmax(q k^T / sqrt(d) + mask) v."""
    hd = H // HEADS
    if packed:
        qkv = g.op('Add', [g.op('MatMul', [x, g.w(f'h.{i}.attn.c_attn.weight', value=W[f'{i}.qkv'])]), g.w(f'h.{i}.attn.c_attn.bias', value=W[f'{i}.qkv_b'])])
        q, k, v = g.op('Split', [qkv, g.c([H, H, H], np.int64)], n_out=3, axis=2)
    else:
        q, k, v = (g.op('Add', [g.op('MatMul', [x, g.w(f'encoder.layer.{i}.attention.self.{n}.weight', value=W[f'{i}.qkv'][:, j * H:(j + 1) * H])]), g.w(f'encoder.layer.{i}.attention.self.{n}.bias', value=W[f'{i}.qkv_b'][j * H:(j + 1) * H])]) for j, n in enumerate(['query', 'key', 'value']))
    heads = lambda t, perm: g.op('Transpose', [g.op('Reshape', [t, g.c([0, 0, HEADS, hd], np.int64)])], perm=perm)
    scores = g.op('Div', [g.op('MatMul', [heads(q, [0, 2, 1, 3]), heads(k, [0, 2, 3, 1])]), g.c(math.sqrt(hd))])
    scores = g.op('Add', [scores, additive])
    if causal:
        scores = g.op('Where', [causal, scores, g.c(np.finfo(np.float32).min)])
    ctx = g.op('MatMul', [g.op('Softmax', [scores], axis=-1), heads(v, [0, 2, 1, 3])])
    return g.op('Reshape', [g.op('Transpose', [ctx], perm=[0, 2, 1, 3]), g.c([0, 0, H], np.int64)])


def plain_bert(W):
    g = G()
    ids, types = 'input_ids', 'token_type_ids'
    s = g.op('Gather', [g.op('Shape', ['input_ids']), g.c([1], np.int64)])
    pos_ids = g.op('Slice', [g.w('embeddings.position_ids', value=np.arange(POS, dtype=np.int64)[None]), g.c([0], np.int64), s, g.c([1], np.int64)])
    e = g.op('Add', [g.op('Add', [g.op('Gather', [g.w('embeddings.word_embeddings.weight', value=W['word']), ids]), g.op('Gather', [g.w('embeddings.position_embeddings.weight', value=W['pos']), pos_ids])]), g.op('Gather', [g.w('embeddings.token_type_embeddings.weight', value=W['seg']), types])])
    h = plain_ln(g, e, g.w('emb.LayerNorm.weight', value=W['emb_g']), g.w('emb.LayerNorm.bias', value=W['emb_b']))
    mask = g.op('Unsqueeze', [g.op('Cast', ['attention_mask'], to=TensorProto.FLOAT), g.c([1, 2], np.int64)])
    additive = g.op('Mul', [g.op('Sub', [g.c(1.0), mask]), g.c(-10000.0)])
    for i in range(LAYERS):
        p = f'encoder.layer.{i}.'
        a = plain_attention(g, h, i, W, additive, None, False)
        a = g.op('Add', [g.op('Add', [g.op('MatMul', [a, g.w(p + 'attention.output.dense.weight', value=W[f'{i}.o'])]), g.w(p + 'attention.output.dense.bias', value=W[f'{i}.o_b'])]), h])
        a = plain_ln(g, a, g.w(p + 'attention.output.LayerNorm.weight', value=W[f'{i}.ln1_g']), g.w(p + 'attention.output.LayerNorm.bias', value=W[f'{i}.ln1_b']))
        u = g.op('Add', [g.op('MatMul', [a, g.w(p + 'intermediate.dense.weight', value=W[f'{i}.up'])]), g.w(p + 'intermediate.dense.bias', value=W[f'{i}.up_b'])])
        u = g.op('Mul', [g.op('Mul', [u, g.op('Add', [g.op('Erf', [g.op('Div', [u, g.c(math.sqrt(2))])]), g.c(1.0)])]), g.c(0.5)]) if i % 2 == 0 else tanh_gelu(g, u)
        d = g.op('Add', [g.op('Add', [g.op('MatMul', [u, g.w(p + 'output.dense.weight', value=W[f'{i}.down'])]), g.w(p + 'output.dense.bias', value=W[f'{i}.down_b'])]), a])
        h = plain_ln(g, d, g.w(p + 'output.LayerNorm.weight', value=W[f'{i}.ln2_g']), g.w(p + 'output.LayerNorm.bias', value=W[f'{i}.ln2_b']))
    return bert_head(g, h, W)


def tanh_gelu(g, u):
    inner = g.op('Mul', [g.op('Add', [u, g.op('Mul', [g.op('Pow', [u, g.c(3.0)]), g.c(0.044715)])]), g.c(math.sqrt(2 / math.pi))])
    return g.op('Mul', [g.op('Mul', [u, g.c(0.5)]), g.op('Add', [g.op('Tanh', [inner]), g.c(1.0)])])


def bert_head(g, h, W):
    first = g.op('Gather', [h, g.c(0, np.int64)], axis=1)
    g.op('Add', [g.op('MatMul', [first, g.w('classifier.weight', value=W['head'])]), g.w('classifier.bias', value=W['head_b'])], outputs=['logits'])
    return g


def fused_bert(W):
    g = G()
    i32 = lambda v: g.op('Cast', [v], to=TensorProto.INT32)
    h, mask_index = g.op('EmbedLayerNormalization', [i32('input_ids'), i32('token_type_ids'), g.w('embeddings.word_embeddings.weight', value=W['word']), g.w('embeddings.position_embeddings.weight', value=W['pos']), g.w('embeddings.token_type_embeddings.weight', value=W['seg']), g.w('emb.LayerNorm.weight', value=W['emb_g']), g.w('emb.LayerNorm.bias', value=W['emb_b']), i32('attention_mask')], n_out=2, domain='com.microsoft', epsilon=1e-12)
    for i in range(LAYERS):
        p = f'encoder.layer.{i}.'
        a = g.op('Attention', [h, g.w(p + 'attention.self.qkv.weight', value=W[f'{i}.qkv']), g.w(p + 'attention.self.qkv.bias', value=W[f'{i}.qkv_b']), mask_index], domain='com.microsoft', num_heads=HEADS)
        a = g.op('SkipLayerNormalization', [g.op('MatMul', [a, g.w(p + 'attention.output.dense.weight', value=W[f'{i}.o'])]), h, g.w(p + 'attention.output.LayerNorm.weight', value=W[f'{i}.ln1_g']), g.w(p + 'attention.output.LayerNorm.bias', value=W[f'{i}.ln1_b']), g.w(p + 'attention.output.dense.bias', value=W[f'{i}.o_b'])], domain='com.microsoft', epsilon=1e-5)
        u = g.op('BiasGelu' if i % 2 == 0 else 'FastGelu', [g.op('MatMul', [a, g.w(p + 'intermediate.dense.weight', value=W[f'{i}.up'])]), g.w(p + 'intermediate.dense.bias', value=W[f'{i}.up_b'])], domain='com.microsoft')
        h = g.op('SkipLayerNormalization', [g.op('MatMul', [u, g.w(p + 'output.dense.weight', value=W[f'{i}.down'])]), a, g.w(p + 'output.LayerNorm.weight', value=W[f'{i}.ln2_g']), g.w(p + 'output.LayerNorm.bias', value=W[f'{i}.ln2_b']), g.w(p + 'output.dense.bias', value=W[f'{i}.down_b'])], domain='com.microsoft', epsilon=1e-5)
    return bert_head(g, h, W)


def gpt_embed(g, W):
    s = g.op('Gather', [g.op('Shape', ['input_ids']), g.c([1], np.int64)])
    pos = g.op('Range', [g.c(0, np.int64), g.op('Squeeze', [s, g.c([0], np.int64)]), g.c(1, np.int64)])
    return g.op('Add', [g.op('Gather', [g.w('wte.weight', value=W['word']), 'input_ids']), g.op('Gather', [g.w('wpe.weight', value=W['pos']), pos])])


def ln17(g, x, name, W, key):
    return g.op('LayerNormalization', [x, g.w(name + '.weight', value=W[key + '_g']), g.w(name + '.bias', value=W[key + '_b'])], axis=-1, epsilon=1e-5)


def plain_gpt(W):
    g = G()
    h = gpt_embed(g, W)
    mask = g.op('Unsqueeze', [g.op('Cast', ['attention_mask'], to=TensorProto.FLOAT), g.c([1, 2], np.int64)])
    additive = g.op('Mul', [g.op('Sub', [g.c(1.0), mask]), g.c(-10000.0)])
    s = g.op('Gather', [g.op('Shape', ['input_ids']), g.c([1], np.int64)])
    tril = g.w('h.0.attn.bias', value=np.tril(np.ones((POS, POS), dtype=bool))[None, None])
    causal = g.op('Slice', [tril, g.c([0, 0], np.int64), g.op('Concat', [s, s], axis=0), g.c([2, 3], np.int64)])
    for i in range(LAYERS):
        p = f'h.{i}.'
        a = plain_attention(g, ln17(g, h, p + 'ln_1', W, f'{i}.ln1'), i, W, additive, causal, True)
        h = g.op('Add', [h, g.op('Add', [g.op('MatMul', [a, g.w(p + 'attn.c_proj.weight', value=W[f'{i}.o'])]), g.w(p + 'attn.c_proj.bias', value=W[f'{i}.o_b'])])])
        u = tanh_gelu(g, g.op('Add', [g.op('MatMul', [ln17(g, h, p + 'ln_2', W, f'{i}.ln2'), g.w(p + 'mlp.c_fc.weight', value=W[f'{i}.up'])]), g.w(p + 'mlp.c_fc.bias', value=W[f'{i}.up_b'])]))
        h = g.op('Add', [h, g.op('Add', [g.op('MatMul', [u, g.w(p + 'mlp.c_proj.weight', value=W[f'{i}.down'])]), g.w(p + 'mlp.c_proj.bias', value=W[f'{i}.down_b'])])])
    return gpt_head(g, ln17(g, h, 'ln_f', W, 'final'), W)


def gpt_head(g, x, W):
    g.op('Add', [g.op('MatMul', [x, g.w('lm_head.weight', value=W['head'])]), g.w('lm_head.bias', value=W['head_b'])], outputs=['logits'])
    return g


def fused_gpt(W):
    g = G()
    h = gpt_embed(g, W)
    mask = g.op('Cast', ['attention_mask'], to=TensorProto.INT32)
    normed = ln17(g, h, 'h.0.ln_1', W, '0.ln1')
    for i in range(LAYERS):
        p = f'h.{i}.'
        a = g.op('Attention', [normed, g.w(p + 'attn.c_attn.weight', value=W[f'{i}.qkv']), g.w(p + 'attn.c_attn.bias', value=W[f'{i}.qkv_b']), mask], domain='com.microsoft', num_heads=HEADS, unidirectional=1)
        ln2, _, _, h = g.op('SkipLayerNormalization', [g.op('MatMul', [a, g.w(p + 'attn.c_proj.weight', value=W[f'{i}.o'])]), h, g.w(p + 'ln_2.weight', value=W[f'{i}.ln2_g']), g.w(p + 'ln_2.bias', value=W[f'{i}.ln2_b']), g.w(p + 'attn.c_proj.bias', value=W[f'{i}.o_b'])], n_out=4, domain='com.microsoft', epsilon=1e-5)
        u = g.op('FastGelu', [g.op('MatMul', [ln2, g.w(p + 'mlp.c_fc.weight', value=W[f'{i}.up'])]), g.w(p + 'mlp.c_fc.bias', value=W[f'{i}.up_b'])], domain='com.microsoft')
        nxt, key = (f'h.{i + 1}.ln_1', f'{i + 1}.ln1') if i + 1 < LAYERS else ('ln_f', 'final')
        normed, _, _, h = g.op('SkipLayerNormalization', [g.op('MatMul', [u, g.w(p + 'mlp.c_proj.weight', value=W[f'{i}.down'])]), h, g.w(nxt + '.weight', value=W[key + '_g']), g.w(nxt + '.bias', value=W[key + '_b']), g.w(p + 'mlp.c_proj.bias', value=W[f'{i}.down_b'])], n_out=4, domain='com.microsoft', epsilon=1e-5)
    return gpt_head(g, normed, W)


def save(g, name, inputs, opset, outputs):
    graph = helper.make_graph(g.nodes, name, [helper.make_tensor_value_info(n, TensorProto.INT64, ['batch', 'sequence']) for n in inputs], [helper.make_tensor_value_info('logits', TensorProto.FLOAT, outputs)], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', opset), helper.make_opsetid('com.microsoft', 1)], producer_name='lor2c-fused-fixtures', ir_version=8)
    onnx.save(model, os.path.join(OUT, name + '.onnx'))


os.makedirs(OUT, exist_ok=True)
bert = weights('bert')
bert_inputs = ['input_ids', 'token_type_ids', 'attention_mask']
save(plain_bert(bert), 'bert-plain', bert_inputs, 14, ['batch', 3])
save(fused_bert(bert), 'bert-fused', bert_inputs, 14, ['batch', 3])
gpt = weights('gpt')
save(plain_gpt(gpt), 'gpt-plain', ['input_ids', 'attention_mask'], 17, ['batch', 'sequence', VOCAB])
save(fused_gpt(gpt), 'gpt-fused', ['input_ids', 'attention_mask'], 17, ['batch', 'sequence', VOCAB])

data = np.random.default_rng(1)
with open(os.path.join(OUT, 'bert-data.jsonl'), 'w') as f:
    for _ in range(8):
        n = int(data.integers(4, 9))
        f.write(json.dumps({'input_ids': data.integers(1, VOCAB, n).tolist(), 'token_type_ids': [0] * (n // 2) + [1] * (n - n // 2), 'attention_mask': [1] * n, 'label': int(data.integers(0, 3))}) + '\n')
with open(os.path.join(OUT, 'gpt-data.jsonl'), 'w') as f:
    for _ in range(8):
        f.write(json.dumps({'input_ids': data.integers(0, VOCAB, 8).tolist(), 'attention_mask': [1] * 8}) + '\n')
