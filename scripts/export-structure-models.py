#!/usr/bin/env python3
"""Exports tiny torch models whose block structure is hard to find, for lor2c's block discovery tests.

Each architecture is written the way the reference code it imitates writes it (module paths,
tensor ops and their order), with no downloads:
  gpt_hand   hand-written GPT (nanoGPT style, raw Parameters): `x = x + y @ W + b`, so the
             bias is added AFTER the residual Add; a shape-keeping view on the stream between blocks
  neox       GPT-NeoX / Pythia: parallel residual `x + attn(ln1 x) + mlp(ln2 x)`, fused
             query_key_value viewed as [.., heads, 3 * head_dim] and sliced per head, partial rotary
  falcon     Falcon-7B style: one LayerNorm, parallel attention + MLP, fused qkv viewed as
             [.., heads, 3, head_dim] and indexed (Gather) per head, dropout_add
  t5         T5: encoder-decoder, RMS T5LayerNorm, relative position bias computed by layer 0 and
             passed to the others, `hidden_states.to(torch.float32)` on the stream, decoder layers
             with self-attention, cross-attention and a gated-GELU FF (T5 v1.1)
  bart       BART: encoder-decoder, post-LN, learned positions with offset 2, cross-attention,
             lm_head tied to the shared embedding and a registered all-zero `final_logits_bias`
  vit        ViTForImageClassification: Conv2d patch embedding, flatten + transpose, CLS token
             concatenated, learned position embeddings, pre-LN layers (`vit.encoder.layer.{i}`,
             attention.attention.query/key/value, the residual added by ViTLayer / ViTOutput),
             final layernorm, classifier on the CLS position
  whisper    WhisperForAudioClassification: two Conv1d + GELU over log-mel frames [b, mels, frames],
             permute, the positional table added whole, pre-LN encoder layers (`encoder.layers.{i}`,
             q scaled after q_proj, k_proj without bias, bmm attention), projector, mean pool, classifier
  gpt_past   a GPT-2 style decoder exported with past key/value inputs and present outputs
             (what Optimum's `with-past` exports look like)

Every model is exported at opsets 11 (T5: 12), 14 and 17 with default torch.onnx.export settings (eval
mode, constant folding), with dynamic batch/sequence axes, and once more with fixed shapes; the front
ends (their inputs have a fixed size: only the batch is dynamic) once each, ViT at 13, Whisper at 17.
For each architecture the manifest records torch's own residual streams h_0..h_L of every stack
(block inputs and outputs caught with hooks) on a fixed probe input, the parameter count, and the
projections' roles per block, for the tests to check by value.

Usage: /usr/bin/python3 scripts/export-structure-models.py [--only ARCH,..] [OUT_DIR]   (default spec/fixtures/torch/structure;
       --only re-exports those architectures and keeps every other file and manifest entry)
"""
import json
import math
import os
import sys

import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

D, HEADS, FFN, VOCAB, MAX_POS, LAYERS = 16, 2, 32, 32, 16, 2
HD = D // HEADS
OPSETS = [11, 14, 17]


def causal_mask(s):
    """[s, s]: 0 on and below the diagonal, -1e9 above (built from aranges: triu needs opset 14)."""
    pos = torch.arange(s)
    return (pos[None, :] > pos[:, None]).to(torch.float32) * -1e9


def heads(x):
    b, s, _ = x.shape
    return x.view(b, s, HEADS, HD).transpose(1, 2)


# --- hand-written GPT -------------------------------------------------------------------------

class HandBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(D)
        self.w_attn = nn.Parameter(torch.randn(D, 3 * D))
        self.b_attn = nn.Parameter(torch.zeros(3 * D))
        self.w_proj = nn.Parameter(torch.randn(D, D))
        self.b_proj = nn.Parameter(torch.zeros(D))
        self.ln_2 = nn.LayerNorm(D)
        self.w_fc = nn.Parameter(torch.randn(D, FFN))
        self.b_fc = nn.Parameter(torch.zeros(FFN))
        self.w_out = nn.Parameter(torch.randn(FFN, D))
        self.b_out = nn.Parameter(torch.zeros(D))

    def forward(self, x, mask):
        b, s, _ = x.shape
        q, k, v = (self.ln_1(x) @ self.w_attn + self.b_attn).split(D, dim=2)
        q, k, v = heads(q), heads(k), heads(v)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(HD))
        att = att.masked_fill(mask[:, :, :s, :s] == 0, float('-inf')).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, s, D)
        x = x + y @ self.w_proj + self.b_proj
        x = x + F.gelu(self.ln_2(x) @ self.w_fc + self.b_fc) @ self.w_out + self.b_out
        return x


class GptHand(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Parameter(torch.randn(VOCAB, D))
        self.wpe = nn.Parameter(torch.randn(MAX_POS, D))
        self.blocks = nn.ModuleList([HandBlock() for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(D)
        self.register_buffer('mask', torch.tril(torch.ones(MAX_POS, MAX_POS)).view(1, 1, MAX_POS, MAX_POS))

    def forward(self, idx):
        b, s = idx.shape
        x = self.wte[idx] + self.wpe[:s]
        for block in self.blocks:
            x = block(x, self.mask)
            x = x.view(b, s, D)
        return self.ln_f(x) @ self.wte.t()


# --- GPT-NeoX ---------------------------------------------------------------------------------

def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


class Rotary(nn.Module):
    def __init__(self, dim):
        super().__init__()
        inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim))
        self.register_buffer('inv_freq', inv_freq)

    def forward(self, s):
        t = torch.arange(s, dtype=self.inv_freq.dtype)
        freqs = t[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos()[None, None, :, :], emb.sin()[None, None, :, :]


class NeoxAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.rotary_ndims = HD // 2
        self.rotary_emb = Rotary(self.rotary_ndims)
        self.register_buffer('bias', torch.tril(torch.ones(MAX_POS, MAX_POS, dtype=torch.bool)).view(1, 1, MAX_POS, MAX_POS))
        self.query_key_value = nn.Linear(D, 3 * D)
        self.dense = nn.Linear(D, D)

    def forward(self, hidden_states):
        qkv = self.query_key_value(hidden_states)
        new_qkv_shape = qkv.size()[:-1] + (HEADS, 3 * HD)
        qkv = qkv.view(*new_qkv_shape)
        query = qkv[..., :HD].permute(0, 2, 1, 3)
        key = qkv[..., HD: 2 * HD].permute(0, 2, 1, 3)
        value = qkv[..., 2 * HD:].permute(0, 2, 1, 3)
        q_rot, q_pass = query[..., : self.rotary_ndims], query[..., self.rotary_ndims:]
        k_rot, k_pass = key[..., : self.rotary_ndims], key[..., self.rotary_ndims:]
        cos, sin = self.rotary_emb(key.shape[-2])
        query = torch.cat((q_rot * cos + rotate_half(q_rot) * sin, q_pass), dim=-1)
        key = torch.cat((k_rot * cos + rotate_half(k_rot) * sin, k_pass), dim=-1)
        s = query.shape[-2]
        scores = torch.matmul(query, key.transpose(-1, -2)) / math.sqrt(HD)
        scores = torch.where(self.bias[:, :, :s, :s], scores, torch.tensor(torch.finfo(scores.dtype).min, dtype=scores.dtype))
        ctx = torch.matmul(scores.softmax(-1), value)
        ctx = ctx.permute(0, 2, 1, 3).contiguous().view(ctx.size(0), s, D)
        return self.dense(ctx)


class NeoxMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense_h_to_4h = nn.Linear(D, FFN)
        self.dense_4h_to_h = nn.Linear(FFN, D)

    def forward(self, x):
        return self.dense_4h_to_h(F.gelu(self.dense_h_to_4h(x)))


class NeoxLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.input_layernorm = nn.LayerNorm(D)
        self.post_attention_layernorm = nn.LayerNorm(D)
        self.attention = NeoxAttention()
        self.mlp = NeoxMlp()

    def forward(self, hidden_states):
        attn_output = self.attention(self.input_layernorm(hidden_states))
        mlp_output = self.mlp(self.post_attention_layernorm(hidden_states))
        return mlp_output + attn_output + hidden_states


class Neox(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_in = nn.Embedding(VOCAB, D)
        self.layers = nn.ModuleList([NeoxLayer() for _ in range(LAYERS)])
        self.final_layer_norm = nn.LayerNorm(D)
        self.embed_out = nn.Linear(D, VOCAB, bias=False)

    def forward(self, input_ids):
        h = self.embed_in(input_ids)
        for layer in self.layers:
            h = layer(h)
        return self.embed_out(self.final_layer_norm(h))


# --- Falcon -----------------------------------------------------------------------------------

class FalconAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.rotary_emb = Rotary(HD)
        self.query_key_value = nn.Linear(D, 3 * D, bias=False)
        self.dense = nn.Linear(D, D, bias=False)

    def forward(self, hidden_states, mask):
        fused_qkv = self.query_key_value(hidden_states)
        b, s, _ = fused_qkv.shape
        fused_qkv = fused_qkv.view(b, s, HEADS, 3, HD)
        query, key, value = fused_qkv[..., 0, :], fused_qkv[..., 1, :], fused_qkv[..., 2, :]
        query = query.transpose(1, 2).reshape(b * HEADS, s, HD)
        key = key.transpose(1, 2).reshape(b * HEADS, s, HD)
        value = value.transpose(1, 2).reshape(b * HEADS, s, HD)
        cos, sin = self.rotary_emb(s)
        cos, sin = cos[0], sin[0]
        query = query * cos + rotate_half(query) * sin
        key = key * cos + rotate_half(key) * sin
        scores = (query @ key.transpose(-1, -2)) / math.sqrt(HD) + mask
        ctx = F.softmax(scores, dim=-1) @ value
        ctx = ctx.view(b, HEADS, s, HD).permute(0, 2, 1, 3).reshape(b, s, D)
        return self.dense(ctx)


class FalconMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense_h_to_4h = nn.Linear(D, FFN, bias=False)
        self.act = nn.GELU()
        self.dense_4h_to_h = nn.Linear(FFN, D, bias=False)

    def forward(self, x):
        return self.dense_4h_to_h(self.act(self.dense_h_to_4h(x)))


def dropout_add(x, residual, prob, training):
    out = F.dropout(x, p=prob, training=training)
    return residual + out


class FalconDecoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.input_layernorm = nn.LayerNorm(D)
        self.self_attention = FalconAttention()
        self.mlp = FalconMlp()

    def forward(self, hidden_states, mask):
        residual = hidden_states
        attention_layernorm_out = self.input_layernorm(hidden_states)
        attention_output = self.self_attention(attention_layernorm_out, mask)
        mlp_output = self.mlp(attention_layernorm_out)
        mlp_output += attention_output
        return dropout_add(mlp_output, residual, 0.0, training=self.training)


class Falcon(nn.Module):
    def __init__(self):
        super().__init__()
        self.word_embeddings = nn.Embedding(VOCAB, D)
        self.h = nn.ModuleList([FalconDecoderLayer() for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(D)
        self.lm_head = nn.Linear(D, VOCAB, bias=False)

    def forward(self, input_ids):
        s = input_ids.shape[1]
        mask = causal_mask(s)
        h = self.word_embeddings(input_ids)
        for layer in self.h:
            h = layer(h, mask)
        return self.lm_head(self.ln_f(h))


# --- T5 ---------------------------------------------------------------------------------------

class T5LayerNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(D))
        self.variance_epsilon = 1e-6

    def forward(self, hidden_states):
        variance = hidden_states.to(torch.float32).pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states


class T5Attention(nn.Module):
    def __init__(self, is_decoder, has_relative_attention_bias):
        super().__init__()
        self.is_decoder = is_decoder
        self.has_relative_attention_bias = has_relative_attention_bias
        self.q = nn.Linear(D, D, bias=False)
        self.k = nn.Linear(D, D, bias=False)
        self.v = nn.Linear(D, D, bias=False)
        self.o = nn.Linear(D, D, bias=False)
        self.num_buckets = 8
        if has_relative_attention_bias:
            self.relative_attention_bias = nn.Embedding(self.num_buckets, HEADS)

    def _relative_position_bucket(self, relative_position, bidirectional):
        num_buckets = self.num_buckets
        relative_buckets = 0
        if bidirectional:
            num_buckets //= 2
            relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
            relative_position = torch.abs(relative_position)
        else:
            relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
        max_exact = num_buckets // 2
        is_small = relative_position < max_exact
        large = max_exact + (torch.log(relative_position.float() / max_exact) / math.log(MAX_POS / max_exact) * (num_buckets - max_exact)).to(torch.long)
        large = torch.min(large, torch.full_like(large, num_buckets - 1))
        return relative_buckets + torch.where(is_small, relative_position, large)

    def compute_bias(self, q_len, k_len):
        context = torch.arange(q_len, dtype=torch.long)[:, None]
        memory = torch.arange(k_len, dtype=torch.long)[None, :]
        buckets = self._relative_position_bucket(memory - context, bidirectional=not self.is_decoder)
        return self.relative_attention_bias(buckets).permute([2, 0, 1]).unsqueeze(0)

    def forward(self, hidden_states, mask=None, key_value_states=None, position_bias=None):
        b, s, _ = hidden_states.shape
        kv = hidden_states if key_value_states is None else key_value_states
        q = heads(self.q(hidden_states))
        k, v = heads(self.k(kv)), heads(self.v(kv))
        scores = torch.matmul(q, k.transpose(3, 2))
        if position_bias is None:
            if self.has_relative_attention_bias:
                position_bias = self.compute_bias(s, kv.shape[1])
            else:
                position_bias = torch.zeros((1, HEADS, s, kv.shape[1]), dtype=scores.dtype)
            if mask is not None:
                position_bias = position_bias + mask
        scores = scores + position_bias
        attn = F.softmax(scores.float(), dim=-1).type_as(scores)
        ctx = torch.matmul(attn, v).transpose(1, 2).contiguous().view(b, -1, D)
        return self.o(ctx), position_bias


class T5LayerSelfAttention(nn.Module):
    def __init__(self, is_decoder, has_bias):
        super().__init__()
        self.SelfAttention = T5Attention(is_decoder, has_bias)
        self.layer_norm = T5LayerNorm()
        self.dropout = nn.Dropout(0.1)

    def forward(self, hidden_states, mask, position_bias):
        out, position_bias = self.SelfAttention(self.layer_norm(hidden_states), mask=mask, position_bias=position_bias)
        return hidden_states + self.dropout(out), position_bias


class T5LayerCrossAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.EncDecAttention = T5Attention(True, False)
        self.layer_norm = T5LayerNorm()
        self.dropout = nn.Dropout(0.1)

    def forward(self, hidden_states, key_value_states, mask, position_bias):
        out, position_bias = self.EncDecAttention(self.layer_norm(hidden_states), mask=mask, key_value_states=key_value_states, position_bias=position_bias)
        return hidden_states + self.dropout(out), position_bias


class T5DenseGatedActDense(nn.Module):
    def __init__(self):
        super().__init__()
        self.wi_0 = nn.Linear(D, FFN, bias=False)
        self.wi_1 = nn.Linear(D, FFN, bias=False)
        self.wo = nn.Linear(FFN, D, bias=False)

    def forward(self, x):
        hidden_gelu = F.gelu(self.wi_0(x), approximate='tanh')
        return self.wo(hidden_gelu * self.wi_1(x))


class T5LayerFF(nn.Module):
    def __init__(self):
        super().__init__()
        self.DenseReluDense = T5DenseGatedActDense()
        self.layer_norm = T5LayerNorm()
        self.dropout = nn.Dropout(0.1)

    def forward(self, hidden_states):
        return hidden_states + self.dropout(self.DenseReluDense(self.layer_norm(hidden_states)))


class T5Block(nn.Module):
    def __init__(self, is_decoder, has_bias):
        super().__init__()
        self.is_decoder = is_decoder
        self.layer = nn.ModuleList([T5LayerSelfAttention(is_decoder, has_bias)] + ([T5LayerCrossAttention()] if is_decoder else []) + [T5LayerFF()])

    def forward(self, hidden_states, mask, position_bias, encoder_hidden_states=None, encoder_decoder_position_bias=None):
        hidden_states = hidden_states.to(torch.float32)
        hidden_states, position_bias = self.layer[0](hidden_states, mask, position_bias)
        if self.is_decoder:
            hidden_states, encoder_decoder_position_bias = self.layer[1](hidden_states, encoder_hidden_states, None, encoder_decoder_position_bias)
        hidden_states = self.layer[-1](hidden_states)
        return hidden_states, position_bias, encoder_decoder_position_bias


class T5Stack(nn.Module):
    def __init__(self, is_decoder, embed_tokens):
        super().__init__()
        self.is_decoder = is_decoder
        self.embed_tokens = embed_tokens
        self.block = nn.ModuleList([T5Block(is_decoder, i == 0) for i in range(LAYERS)])
        self.final_layer_norm = T5LayerNorm()
        self.dropout = nn.Dropout(0.1)

    def forward(self, input_ids, encoder_hidden_states=None):
        s = input_ids.shape[1]
        mask = causal_mask(s)[None, None] if self.is_decoder else None
        hidden_states = self.dropout(self.embed_tokens(input_ids))
        position_bias, cross_bias = None, None
        for block in self.block:
            hidden_states, position_bias, cross_bias = block(hidden_states, mask, position_bias, encoder_hidden_states, cross_bias)
        return self.dropout(self.final_layer_norm(hidden_states))


class T5(nn.Module):
    def __init__(self):
        super().__init__()
        self.shared = nn.Embedding(VOCAB, D)
        self.encoder = T5Stack(False, self.shared)
        self.decoder = T5Stack(True, self.shared)
        self.lm_head = nn.Linear(D, VOCAB, bias=False)

    def forward(self, input_ids, decoder_input_ids):
        enc = self.encoder(input_ids)
        dec = self.decoder(decoder_input_ids, enc)
        return self.lm_head(dec * (D ** -0.5))


# --- BART -------------------------------------------------------------------------------------

class BartAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.scaling = HD ** -0.5
        self.k_proj = nn.Linear(D, D)
        self.v_proj = nn.Linear(D, D)
        self.q_proj = nn.Linear(D, D)
        self.out_proj = nn.Linear(D, D)

    def _shape(self, tensor, seq_len, bsz):
        return tensor.view(bsz, seq_len, HEADS, HD).transpose(1, 2).contiguous()

    def forward(self, hidden_states, key_value_states=None, attention_mask=None):
        bsz, tgt_len, _ = hidden_states.size()
        query_states = self.q_proj(hidden_states) * self.scaling
        kv = hidden_states if key_value_states is None else key_value_states
        key_states = self._shape(self.k_proj(kv), -1, bsz)
        value_states = self._shape(self.v_proj(kv), -1, bsz)
        proj_shape = (bsz * HEADS, -1, HD)
        query_states = self._shape(query_states, tgt_len, bsz).view(*proj_shape)
        key_states = key_states.view(*proj_shape)
        value_states = value_states.view(*proj_shape)
        src_len = key_states.size(1)
        attn_weights = torch.bmm(query_states, key_states.transpose(1, 2))
        if attention_mask is not None:
            attn_weights = attn_weights.view(bsz, HEADS, tgt_len, src_len) + attention_mask
            attn_weights = attn_weights.view(bsz * HEADS, tgt_len, src_len)
        attn_weights = F.softmax(attn_weights, dim=-1)
        attn_output = torch.bmm(attn_weights, value_states)
        attn_output = attn_output.view(bsz, HEADS, tgt_len, HD).transpose(1, 2).reshape(bsz, tgt_len, D)
        return self.out_proj(attn_output)


class BartEncoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn = BartAttention()
        self.self_attn_layer_norm = nn.LayerNorm(D)
        self.fc1 = nn.Linear(D, FFN)
        self.fc2 = nn.Linear(FFN, D)
        self.final_layer_norm = nn.LayerNorm(D)

    def forward(self, hidden_states):
        residual = hidden_states
        hidden_states = self.self_attn_layer_norm(residual + self.self_attn(hidden_states))
        residual = hidden_states
        hidden_states = self.fc2(F.gelu(self.fc1(hidden_states)))
        return self.final_layer_norm(residual + hidden_states)


class BartDecoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn = BartAttention()
        self.self_attn_layer_norm = nn.LayerNorm(D)
        self.encoder_attn = BartAttention()
        self.encoder_attn_layer_norm = nn.LayerNorm(D)
        self.fc1 = nn.Linear(D, FFN)
        self.fc2 = nn.Linear(FFN, D)
        self.final_layer_norm = nn.LayerNorm(D)

    def forward(self, hidden_states, attention_mask, encoder_hidden_states):
        residual = hidden_states
        hidden_states = self.self_attn_layer_norm(residual + self.self_attn(hidden_states, attention_mask=attention_mask))
        residual = hidden_states
        hidden_states = self.encoder_attn_layer_norm(residual + self.encoder_attn(hidden_states, key_value_states=encoder_hidden_states))
        residual = hidden_states
        hidden_states = self.fc2(F.gelu(self.fc1(hidden_states)))
        return self.final_layer_norm(residual + hidden_states)


class BartLearnedPositionalEmbedding(nn.Embedding):
    def __init__(self):
        self.offset = 2
        super().__init__(MAX_POS + 2, D)

    def forward(self, input_ids):
        bsz, seq_len = input_ids.shape[:2]
        positions = torch.arange(0, seq_len, dtype=torch.long).expand(bsz, -1)
        return super().forward(positions + self.offset)


class BartEncoder(nn.Module):
    def __init__(self, embed_tokens):
        super().__init__()
        self.embed_tokens = embed_tokens
        self.embed_positions = BartLearnedPositionalEmbedding()
        self.layers = nn.ModuleList([BartEncoderLayer() for _ in range(LAYERS)])
        self.layernorm_embedding = nn.LayerNorm(D)

    def forward(self, input_ids):
        h = self.layernorm_embedding(self.embed_tokens(input_ids) + self.embed_positions(input_ids))
        for layer in self.layers:
            h = layer(h)
        return h


class BartDecoder(nn.Module):
    def __init__(self, embed_tokens):
        super().__init__()
        self.embed_tokens = embed_tokens
        self.embed_positions = BartLearnedPositionalEmbedding()
        self.layers = nn.ModuleList([BartDecoderLayer() for _ in range(LAYERS)])
        self.layernorm_embedding = nn.LayerNorm(D)

    def forward(self, input_ids, encoder_hidden_states):
        s = input_ids.shape[1]
        mask = causal_mask(s)[None, None]
        h = self.layernorm_embedding(self.embed_tokens(input_ids) + self.embed_positions(input_ids))
        for layer in self.layers:
            h = layer(h, mask, encoder_hidden_states)
        return h


class BartModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.shared = nn.Embedding(VOCAB, D)
        self.encoder = BartEncoder(self.shared)
        self.decoder = BartDecoder(self.shared)


class Bart(nn.Module):  # BartForConditionalGeneration
    def __init__(self):
        super().__init__()
        self.model = BartModel()
        self.register_buffer('final_logits_bias', torch.zeros((1, VOCAB)))
        self.lm_head = nn.Linear(D, VOCAB, bias=False)
        self.lm_head.weight = self.model.shared.weight

    def forward(self, input_ids, decoder_input_ids):
        enc = self.model.encoder(input_ids)
        dec = self.model.decoder(decoder_input_ids, enc)
        return self.lm_head(dec) + self.final_logits_bias


# --- ViT (image classifier) -------------------------------------------------------------------

IMAGE, PATCH, CHANNELS, LABELS = 8, 4, 3, 3
PATCHES = (IMAGE // PATCH) ** 2


class ViTPatchEmbeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.projection = nn.Conv2d(CHANNELS, D, kernel_size=PATCH, stride=PATCH)

    def forward(self, pixel_values):
        return self.projection(pixel_values).flatten(2).transpose(1, 2)


class ViTEmbeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.cls_token = nn.Parameter(torch.randn(1, 1, D))
        self.patch_embeddings = ViTPatchEmbeddings()
        self.position_embeddings = nn.Parameter(torch.randn(1, PATCHES + 1, D))
        self.dropout = nn.Dropout(0.0)

    def forward(self, pixel_values):
        embeddings = self.patch_embeddings(pixel_values)
        cls_tokens = self.cls_token.expand(embeddings.shape[0], -1, -1)
        embeddings = torch.cat((cls_tokens, embeddings), dim=1)
        embeddings = embeddings + self.position_embeddings
        return self.dropout(embeddings)


class ViTSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.query = nn.Linear(D, D)
        self.key = nn.Linear(D, D)
        self.value = nn.Linear(D, D)
        self.dropout = nn.Dropout(0.0)

    def transpose_for_scores(self, x):
        return x.view(x.size()[:-1] + (HEADS, HD)).permute(0, 2, 1, 3)

    def forward(self, hidden_states):
        query_layer = self.transpose_for_scores(self.query(hidden_states))
        key_layer = self.transpose_for_scores(self.key(hidden_states))
        value_layer = self.transpose_for_scores(self.value(hidden_states))
        attention_scores = torch.matmul(query_layer, key_layer.transpose(-1, -2)) / math.sqrt(HD)
        attention_probs = self.dropout(F.softmax(attention_scores, dim=-1))
        context_layer = torch.matmul(attention_probs, value_layer).permute(0, 2, 1, 3).contiguous()
        return context_layer.view(context_layer.size()[:-2] + (D,))


class ViTSelfOutput(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(D, D)
        self.dropout = nn.Dropout(0.0)

    def forward(self, hidden_states, input_tensor):
        return self.dropout(self.dense(hidden_states))  # the residual is added by ViTLayer


class ViTAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = ViTSelfAttention()
        self.output = ViTSelfOutput()

    def forward(self, hidden_states):
        return self.output(self.attention(hidden_states), hidden_states)


class ViTIntermediate(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(D, FFN)
        self.intermediate_act_fn = nn.GELU()

    def forward(self, hidden_states):
        return self.intermediate_act_fn(self.dense(hidden_states))


class ViTOutput(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(FFN, D)
        self.dropout = nn.Dropout(0.0)

    def forward(self, hidden_states, input_tensor):
        return self.dropout(self.dense(hidden_states)) + input_tensor


class ViTLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = ViTAttention()
        self.intermediate = ViTIntermediate()
        self.output = ViTOutput()
        self.layernorm_before = nn.LayerNorm(D, eps=1e-12)
        self.layernorm_after = nn.LayerNorm(D, eps=1e-12)

    def forward(self, hidden_states):
        attention_output = self.attention(self.layernorm_before(hidden_states))
        hidden_states = attention_output + hidden_states
        layer_output = self.intermediate(self.layernorm_after(hidden_states))
        return self.output(layer_output, hidden_states)


class ViTEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.ModuleList([ViTLayer() for _ in range(LAYERS)])

    def forward(self, hidden_states):
        for layer_module in self.layer:
            hidden_states = layer_module(hidden_states)
        return hidden_states


class ViTModel(nn.Module):  # add_pooling_layer=False, as ViTForImageClassification builds it
    def __init__(self):
        super().__init__()
        self.embeddings = ViTEmbeddings()
        self.encoder = ViTEncoder()
        self.layernorm = nn.LayerNorm(D, eps=1e-12)

    def forward(self, pixel_values):
        return self.layernorm(self.encoder(self.embeddings(pixel_values)))


class ViT(nn.Module):  # ViTForImageClassification
    def __init__(self):
        super().__init__()
        self.vit = ViTModel()
        self.classifier = nn.Linear(D, LABELS)

    def forward(self, pixel_values):
        return self.classifier(self.vit(pixel_values)[:, 0, :])


# --- Whisper (audio encoder + classification head) --------------------------------------------

MELS, FRAMES, PROJ = 8, 12, 8
SOURCE_POSITIONS = FRAMES // 2


class WhisperAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.scaling = HD ** -0.5
        self.k_proj = nn.Linear(D, D, bias=False)
        self.v_proj = nn.Linear(D, D)
        self.q_proj = nn.Linear(D, D)
        self.out_proj = nn.Linear(D, D)

    def _shape(self, tensor, seq_len, bsz):
        return tensor.view(bsz, seq_len, HEADS, HD).transpose(1, 2).contiguous()

    def forward(self, hidden_states):
        bsz, tgt_len, _ = hidden_states.size()
        query_states = self.q_proj(hidden_states) * self.scaling
        key_states = self._shape(self.k_proj(hidden_states), -1, bsz)
        value_states = self._shape(self.v_proj(hidden_states), -1, bsz)
        proj_shape = (bsz * HEADS, -1, HD)
        query_states = self._shape(query_states, tgt_len, bsz).view(*proj_shape)
        key_states = key_states.reshape(*proj_shape)
        value_states = value_states.reshape(*proj_shape)
        attn_weights = F.softmax(torch.bmm(query_states, key_states.transpose(1, 2)), dim=-1)
        attn_output = torch.bmm(attn_weights, value_states)
        attn_output = attn_output.view(bsz, HEADS, tgt_len, HD).transpose(1, 2).reshape(bsz, tgt_len, D)
        return self.out_proj(attn_output)


class WhisperEncoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn = WhisperAttention()
        self.self_attn_layer_norm = nn.LayerNorm(D)
        self.activation_fn = F.gelu
        self.fc1 = nn.Linear(D, FFN)
        self.fc2 = nn.Linear(FFN, D)
        self.final_layer_norm = nn.LayerNorm(D)

    def forward(self, hidden_states):
        residual = hidden_states
        hidden_states = self.self_attn(self.self_attn_layer_norm(hidden_states))
        hidden_states = F.dropout(hidden_states, p=0.0, training=self.training)
        hidden_states = residual + hidden_states
        residual = hidden_states
        hidden_states = self.activation_fn(self.fc1(self.final_layer_norm(hidden_states)))
        hidden_states = self.fc2(hidden_states)
        return residual + hidden_states


class WhisperEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(MELS, D, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(D, D, kernel_size=3, stride=2, padding=1)
        self.embed_positions = nn.Embedding(SOURCE_POSITIONS, D)
        self.layers = nn.ModuleList([WhisperEncoderLayer() for _ in range(LAYERS)])
        self.layer_norm = nn.LayerNorm(D)

    def forward(self, input_features):
        inputs_embeds = F.gelu(self.conv1(input_features))
        inputs_embeds = F.gelu(self.conv2(inputs_embeds))
        inputs_embeds = inputs_embeds.permute(0, 2, 1)
        hidden_states = inputs_embeds + self.embed_positions.weight
        hidden_states = F.dropout(hidden_states, p=0.0, training=self.training)
        for encoder_layer in self.layers:
            hidden_states = encoder_layer(hidden_states)
        return self.layer_norm(hidden_states)


class Whisper(nn.Module):  # WhisperForAudioClassification
    def __init__(self):
        super().__init__()
        self.encoder = WhisperEncoder()
        self.projector = nn.Linear(D, PROJ)
        self.classifier = nn.Linear(PROJ, LABELS)

    def forward(self, input_features):
        hidden_states = self.projector(self.encoder(input_features))
        pooled_output = hidden_states.mean(dim=1)
        return self.classifier(pooled_output)


# --- GPT with past key/values -----------------------------------------------------------------

class PastBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(D)
        self.c_attn = nn.Linear(D, 3 * D)
        self.c_proj = nn.Linear(D, D)
        self.ln_2 = nn.LayerNorm(D)
        self.c_fc = nn.Linear(D, FFN)
        self.c_out = nn.Linear(FFN, D)

    def forward(self, h, past_key, past_value):
        b, s, _ = h.shape
        q, k, v = self.c_attn(self.ln_1(h)).split(D, dim=2)
        q, k, v = heads(q), heads(k), heads(v)
        k = torch.cat((past_key, k), dim=-2)
        v = torch.cat((past_value, v), dim=-2)
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(HD)
        ctx = torch.matmul(w.softmax(-1), v).transpose(1, 2).reshape(b, s, D)
        h = h + self.c_proj(ctx)
        return h + self.c_out(F.gelu(self.c_fc(self.ln_2(h)))), k, v


class GptPast(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, D)
        self.h = nn.ModuleList([PastBlock() for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(D)

    def forward(self, input_ids, *past):
        h = self.wte(input_ids)
        presents = []
        for i, block in enumerate(self.h):
            h, k, v = block(h, past[2 * i], past[2 * i + 1])
            presents += [k, v]
        return (self.ln_f(h) @ self.wte.weight.t(), *presents)


# --- exports ----------------------------------------------------------------------------------

def randomize(model):
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            is_norm_scale = name.endswith('weight') and ('norm' in name.lower() or 'ln_' in name)
            p.copy_(torch.randn(p.shape, generator=g) * (0.3 if p.dim() > 1 else 0.05) + (1.0 if is_norm_scale else 0.0))


def ids(b, s, seed):
    return torch.randint(0, VOCAB, (b, s), generator=torch.Generator().manual_seed(seed))


def floats(shape, seed):
    """Inputs of a front end (pixels, log-mel frames), on a 1/8 grid so JSON holds them exactly."""
    return torch.round(torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * 8) / 8


def front_end(name):
    # Fixed-size inputs (position tables of the patch or frame count): only the batch is dynamic.
    return dict(names=[name], dynamic={name: {0: 'batch'}})


def lm(names):
    # Each sequence input its own length (an encoder-decoder's source and target differ).
    return dict(names=names, dynamic={n: {0: 'batch', 1: f'{n}_seq'} for n in names})


ARCHS = {
    'gpt_hand': dict(make=GptHand, inputs=lambda b, s: (ids(b, s, 1),), stacks={'': 'blocks'}, **lm(['input_ids']),
                     roles=[['qkv', 'o', 'up', 'down']]),
    'neox': dict(make=Neox, inputs=lambda b, s: (ids(b, s, 2),), stacks={'': 'layers'}, **lm(['input_ids']), fused='heads,3*hd', fused_module='attention.query_key_value',
                 roles=[['qkv', 'up', 'o', 'down']]),
    'falcon': dict(make=Falcon, inputs=lambda b, s: (ids(b, s, 3),), stacks={'': 'h'}, **lm(['input_ids']), fused='heads,3,hd', fused_module='self_attention.query_key_value',
                   roles=[['qkv', 'up', 'o', 'down']]),
    't5': dict(make=T5, inputs=lambda b, s: (ids(b, s, 4), ids(b, s - 1, 5)), stacks={'encoder': 'encoder.block', 'decoder': 'decoder.block'},
               **lm(['input_ids', 'decoder_input_ids']), opsets=[12, 14, 17],  # at 11 torch writes an int64 Min, which needs 12
               roles=[['q', 'k', 'v', 'o', 'gate', 'up', 'down'], ['q', 'k', 'v', 'o', 'cross_q', 'cross_k', 'cross_v', 'cross_o', 'gate', 'up', 'down']]),
    'bart': dict(make=Bart, inputs=lambda b, s: (ids(b, s, 6), ids(b, s - 1, 7)), stacks={'encoder': 'model.encoder.layers', 'decoder': 'model.decoder.layers'},
                 **lm(['input_ids', 'decoder_input_ids']),
                 roles=[['k', 'v', 'q', 'o', 'up', 'down'], ['k', 'v', 'q', 'o', 'cross_q', 'cross_k', 'cross_v', 'cross_o', 'up', 'down']]),
    'vit': dict(make=ViT, inputs=lambda b, s: (floats((b, CHANNELS, IMAGE, IMAGE), 9),), stacks={'': 'vit.encoder.layer'},
                **front_end('pixel_values'), opsets=[13], roles=[['q', 'k', 'v', 'o', 'up', 'down']]),
    'whisper': dict(make=Whisper, inputs=lambda b, s: (floats((b, MELS, FRAMES), 10),), stacks={'': 'encoder.layers'},
                    **front_end('input_features'), opsets=[17], roles=[['q', 'k', 'v', 'o', 'up', 'down']]),
}


def module_at(model, path):
    m = model
    for part in path.split('.'):
        m = getattr(m, part)
    return m


def record_streams(model, spec, inputs):
    """torch's own h_0..h_L of each stack: the first block's input, then every block's output."""
    streams = {}
    hooks = []
    for stack, path in spec['stacks'].items():
        blocks = list(module_at(model, path))
        seen = []
        hooks.append(blocks[0].register_forward_pre_hook(lambda m, args, seen=seen: seen.append(args[0].detach().clone())))
        for blk in blocks:
            hooks.append(blk.register_forward_hook(lambda m, args, out, seen=seen: seen.append((out[0] if isinstance(out, tuple) else out).detach().clone())))
        streams[stack] = seen
    with torch.no_grad():
        model(*inputs)
    for h in hooks:
        h.remove()
    return {stack: [dict(shape=list(t.shape), values=[round(float(v), 7) for v in t.flatten()]) for t in seen] for stack, seen in streams.items()}


def tensor_json(t):
    return dict(shape=list(t.shape), values=[round(float(v), 7) for v in t.flatten()])


def with_adapters(model, spec, probe):
    """Logits with LoRA on q and v of every block, each delta added to the part in its own
    layout as the model's code cuts it (torch's views, not lor2c's derivation), and with one
    LoR2C path over block 0 of each stack: (alpha / r) h_0 A^T B^T added to block 0's output."""
    g = torch.Generator().manual_seed(11)
    rank, alpha = 2, 4.0
    scale = alpha / rank
    rand = lambda *shape: torch.randn(*shape, generator=g) * 0.3
    record = dict(rank=rank, alpha=alpha, lora=[], lor2c=[])
    hooks = []
    if 'fused' in spec:
        for i, blk in enumerate(module_at(model, spec['stacks'][''])):
            parts = {role: (rand(rank, D), rand(D, rank)) for role in ('q', 'v')}
            record['lora'] += [dict(block=i, role=r, A=tensor_json(a), B=tensor_json(b)) for r, (a, b) in parts.items()]

            def hook(m, args, out, parts=parts):
                x = args[0]
                bsz, s, _ = out.shape
                full = torch.zeros_like(out)
                for role, (a, b) in parts.items():
                    delta = (x @ a.t() @ b.t() * scale).view(bsz, s, HEADS, HD)
                    k = 'qkv'.index(role)
                    if spec['fused'] == 'heads,3*hd':
                        full.view(bsz, s, HEADS, 3 * HD)[..., k * HD:(k + 1) * HD] += delta
                    else:  # 'heads,3,hd'
                        full.view(bsz, s, HEADS, 3, HD)[..., k, :] += delta
                return out + full
            hooks.append(module_at(blk, spec['fused_module']).register_forward_hook(hook))
    for k, (stack, path) in enumerate(spec['stacks'].items()):
        a, b = rand(rank, D), rand(D, rank)
        record['lor2c'].append(dict(stack=stack, block=0, A=tensor_json(a), B=tensor_json(b)))
        block0 = module_at(model, path)[0]
        keep = {}
        hooks.append(block0.register_forward_pre_hook(lambda m, args, keep=keep: keep.__setitem__('h', args[0])))

        def add(m, args, out, keep=keep, a=a, b=b):
            delta = keep['h'] @ a.t() @ b.t() * scale
            return (out[0] + delta, *out[1:]) if isinstance(out, tuple) else out + delta
        hooks.append(block0.register_forward_hook(add))
    with torch.no_grad():
        record['logits'] = tensor_json(model(*probe))
    for h in hooks:
        h.remove()
    return record


def folded_parameters(model, path):
    """Parameters whose values the file holds nowhere, as they are or transposed."""
    stored = [onnx.numpy_helper.to_array(i).reshape(-1) for i in onnx.load(path).graph.initializer]
    missing = []
    for name, p in model.named_parameters():
        forms = [p.detach().numpy().reshape(-1)] + ([p.detach().t().numpy().reshape(-1)] if p.dim() == 2 else [])
        if not any(a.shape == f.shape and (a == f).all() for a in stored for f in forms):
            missing.append(name)
    return sorted(missing)


def export(model, inputs, path, opset, names, dynamic, output_names=('logits',)):
    torch.onnx.export(model, inputs, path, opset_version=opset, input_names=names, output_names=list(output_names),
                      dynamic_axes=dynamic)


def main():
    args = sys.argv[1:]
    only = None
    if '--only' in args:  # re-export these architectures, keep every other file and manifest entry
        at = args.index('--only')
        only = args[at + 1].split(',')
        del args[at:at + 2]
    out_dir = args[0] if args else os.path.join(os.path.dirname(__file__), '..', 'spec', 'fixtures', 'torch', 'structure')
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    manifest = {'torch': torch.__version__, 'd': D, 'layers': LAYERS, 'archs': {}, 'files': {}}
    if only:
        with open(os.path.join(out_dir, 'manifest.json')) as f:
            manifest = json.load(f)
        manifest['files'] = {n: f for n, f in manifest['files'].items() if f['arch'] not in only}
    for arch, spec in ARCHS.items():
        if only and arch not in only:
            continue
        model = spec['make']().eval()
        randomize(model)
        probe = spec['inputs'](1, 5)
        manifest['archs'][arch] = dict(
            parameters=sum(p.numel() for p in model.parameters()),
            stacks=list(spec['stacks']),
            roles=spec['roles'],
            probe={n: t.tolist() for n, t in zip(spec['names'], probe)},
            streams=record_streams(model, spec, probe),
            adapters=with_adapters(model, spec, probe),
        )
        for opset in spec.get('opsets', OPSETS):
            for fixed in (False, True):
                if fixed and opset != 14:
                    continue
                name = f'{arch}-opset{opset}{"-fixed" if fixed else ""}.onnx'
                path = os.path.join(out_dir, name)
                # Fixed shapes: exported at the probe's own sizes, so the probe runs on them.
                export(model, probe if fixed else spec['inputs'](2, 6), path, opset, spec['names'], None if fixed else spec['dynamic'])
                print(f'{name}: {os.path.getsize(path)} bytes')
                manifest['files'][name] = dict(arch=arch, opset=opset, fixed=fixed)
                # Constant folding at fixed shapes can fold a parameter into what it computes
                # (`wpe[:s]`): then no reader of the file can count it.
                folded = folded_parameters(model, path)
                if folded:
                    manifest['files'][name]['folded'] = folded

    # with-past: the decoder reads past keys/values and returns the presents.
    if only and 'gpt_past' not in only:
        write_manifest(out_dir, manifest)
        return
    model = GptPast().eval()
    randomize(model)
    past_names = [f'past_key_values.{i}.{kv}' for i in range(LAYERS) for kv in ('key', 'value')]
    present_names = [f'present.{i}.{kv}' for i in range(LAYERS) for kv in ('key', 'value')]
    past = tuple(torch.randn(2, HEADS, 3, HD) for _ in past_names)
    dynamic = {'input_ids': {0: 'batch', 1: 'seq'}, **{n: {0: 'batch', 2: 'past_seq'} for n in past_names}}
    path = os.path.join(out_dir, 'gpt_past-opset14.onnx')
    export(model, (ids(2, 4, 8), *past), path, 14, ['input_ids', *past_names], dynamic, ['logits', *present_names])
    print(f'gpt_past-opset14.onnx: {os.path.getsize(path)} bytes')
    manifest['files']['gpt_past-opset14.onnx'] = dict(arch='gpt_past', opset=14, fixed=False)
    manifest['archs']['gpt_past'] = dict(parameters=sum(p.numel() for p in model.parameters()))

    write_manifest(out_dir, manifest)


def write_manifest(out_dir, manifest):
    with open(os.path.join(out_dir, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
