#!/usr/bin/env python3
"""Exports tiny hand-written transformer models with torch.onnx.export, for block discovery tests.

Four architectures, written as the Hugging Face / timm modules they imitate (same module
paths, so the exports carry the same name scopes), with no downloads, plus torch's own
nn.TransformerEncoder (post-LN and norm_first):
  bert   post-LN encoder, separate q/k/v Linear, erf GELU, additive padding mask
  gpt2   pre-LN decoder, fused c_attn Conv1D (addmm -> Gemm), tanh GELU, causal mask buffer
  llama  pre-RMSNorm decoder, rotary embeddings, grouped-query attention, SwiGLU, no biases
  vit    pre-LN encoder over Conv2d patches, fused qkv Linear split with indexing (Gather)
each exported at several opsets (LayerNorm becomes one op only at 17). Sizes: d = 32,
2 layers, vocab 100: each file is a few hundred KB at most.

Usage: /usr/bin/python3 scripts/export-reference-models.py [OUT_DIR]   (default spec/fixtures/torch)
Writes OUT_DIR/<arch>-opset<N>.onnx and OUT_DIR/manifest.json (what each file should contain:
layers, hidden size, style, roles), which the tests read.
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

D, LAYERS, HEADS, FFN, VOCAB, MAX_POS = 32, 2, 4, 64, 100, 64
OPSETS = [9, 11, 14, 17]


class SelfAttention(nn.Module):  # BertSelfAttention
    def __init__(self):
        super().__init__()
        self.query = nn.Linear(D, D)
        self.key = nn.Linear(D, D)
        self.value = nn.Linear(D, D)

    def heads(self, x):
        b, s, _ = x.shape
        return x.view(b, s, HEADS, D // HEADS).permute(0, 2, 1, 3)

    def forward(self, h, mask):
        q, k, v = self.heads(self.query(h)), self.heads(self.key(h)), self.heads(self.value(h))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(D // HEADS) + mask
        ctx = torch.matmul(scores.softmax(-1), v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.shape[0], ctx.shape[1], D)


class SelfOutput(nn.Module):  # BertSelfOutput / BertOutput
    def __init__(self, d_in):
        super().__init__()
        self.dense = nn.Linear(d_in, D)
        self.LayerNorm = nn.LayerNorm(D, eps=1e-12)

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.self = SelfAttention()
        self.output = SelfOutput(D)

    def forward(self, h, mask):
        return self.output(self.self(h, mask), h)


class Intermediate(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(D, FFN)

    def forward(self, x):
        return F.gelu(self.dense(x))


class BertLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = Attention()
        self.intermediate = Intermediate()
        self.output = SelfOutput(FFN)

    def forward(self, h, mask):
        a = self.attention(h, mask)
        return self.output(self.intermediate(a), a)


class BertEmbeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.word_embeddings = nn.Embedding(VOCAB, D)
        self.position_embeddings = nn.Embedding(MAX_POS, D)
        self.LayerNorm = nn.LayerNorm(D, eps=1e-12)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        return self.LayerNorm(self.word_embeddings(ids) + self.position_embeddings(pos))


class BertEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer() for _ in range(LAYERS)])


class Bert(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings = BertEmbeddings()
        self.encoder = BertEncoder()
        self.classifier = nn.Linear(D, 2)

    def forward(self, input_ids, attention_mask):
        mask = (1.0 - attention_mask[:, None, None, :].float()) * -10000.0
        h = self.embeddings(input_ids)
        for layer in self.encoder.layer:
            h = layer(h, mask)
        return self.classifier(h[:, 0])


class Conv1D(nn.Module):  # GPT-2's transposed Linear
    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.randn(nx, nf) * 0.02)
        self.bias = nn.Parameter(torch.randn(nf) * 0.02)

    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        return torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight).view(size_out)


class Gpt2Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer('bias', torch.tril(torch.ones(MAX_POS, MAX_POS, dtype=torch.bool)).view(1, 1, MAX_POS, MAX_POS))
        self.c_attn = Conv1D(3 * D, D)
        self.c_proj = Conv1D(D, D)

    def heads(self, x):
        b, s, _ = x.shape
        return x.view(b, s, HEADS, D // HEADS).permute(0, 2, 1, 3)

    def forward(self, h):
        q, k, v = self.c_attn(h).split(D, dim=2)
        q, k, v = self.heads(q), self.heads(k), self.heads(v)
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(D // HEADS)
        s = q.shape[-2]
        causal = self.bias[:, :, :s, :s]
        w = torch.where(causal, w, torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype))
        ctx = torch.matmul(w.softmax(-1), v).permute(0, 2, 1, 3).contiguous()
        return self.c_proj(ctx.view(ctx.shape[0], ctx.shape[1], D))


class Gpt2Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_fc = Conv1D(FFN, D)
        self.c_proj = Conv1D(D, FFN)

    def forward(self, x):
        h = self.c_fc(x)
        h = 0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * torch.pow(h, 3.0))))
        return self.c_proj(h)


class Gpt2Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(D)
        self.attn = Gpt2Attention()
        self.ln_2 = nn.LayerNorm(D)
        self.mlp = Gpt2Mlp()

    def forward(self, h):
        h = h + self.attn(self.ln_1(h))
        return h + self.mlp(self.ln_2(h))


class Gpt2Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, D)
        self.wpe = nn.Embedding(MAX_POS, D)
        self.h = nn.ModuleList([Gpt2Block() for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(D)


class Gpt2(nn.Module):
    def __init__(self):
        super().__init__()
        self.transformer = Gpt2Transformer()

    def forward(self, input_ids):
        t = self.transformer
        pos = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        h = t.wte(input_ids) + t.wpe(pos)
        for block in t.h:
            h = block(h)
        return torch.matmul(t.ln_f(h), t.wte.weight.t())


class RmsNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(D))

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + 1e-6))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LlamaAttention(nn.Module):
    KV_HEADS = 2

    def __init__(self):
        super().__init__()
        hd = D // HEADS
        self.q_proj = nn.Linear(D, D, bias=False)
        self.k_proj = nn.Linear(D, self.KV_HEADS * hd, bias=False)
        self.v_proj = nn.Linear(D, self.KV_HEADS * hd, bias=False)
        self.o_proj = nn.Linear(D, D, bias=False)

    def forward(self, h, cos, sin, mask):
        b, s, _ = h.shape
        hd = D // HEADS
        q = self.q_proj(h).view(b, s, HEADS, hd).transpose(1, 2)
        k = self.k_proj(h).view(b, s, self.KV_HEADS, hd).transpose(1, 2)
        v = self.v_proj(h).view(b, s, self.KV_HEADS, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = HEADS // self.KV_HEADS
        k = k[:, :, None, :, :].expand(b, self.KV_HEADS, rep, s, hd).reshape(b, HEADS, s, hd)
        v = v[:, :, None, :, :].expand(b, self.KV_HEADS, rep, s, hd).reshape(b, HEADS, s, hd)
        w = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(hd) + mask
        ctx = torch.matmul(w.softmax(-1), v).transpose(1, 2).reshape(b, s, D)
        return self.o_proj(ctx)


class LlamaMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate_proj = nn.Linear(D, FFN, bias=False)
        self.up_proj = nn.Linear(D, FFN, bias=False)
        self.down_proj = nn.Linear(FFN, D, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn = LlamaAttention()
        self.mlp = LlamaMlp()
        self.input_layernorm = RmsNorm()
        self.post_attention_layernorm = RmsNorm()

    def forward(self, h, cos, sin, mask):
        h = h + self.self_attn(self.input_layernorm(h), cos, sin, mask)
        return h + self.mlp(self.post_attention_layernorm(h))


class LlamaModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_tokens = nn.Embedding(VOCAB, D)
        self.layers = nn.ModuleList([LlamaLayer() for _ in range(LAYERS)])
        self.norm = RmsNorm()
        hd = D // HEADS
        inv_freq = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
        freqs = torch.outer(torch.arange(MAX_POS).float(), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer('cos_cached', emb.cos())
        self.register_buffer('sin_cached', emb.sin())
        self.register_buffer('causal', torch.triu(torch.full((MAX_POS, MAX_POS), -1e9), diagonal=1))


class Llama(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = LlamaModel()
        self.lm_head = nn.Linear(D, VOCAB, bias=False)

    def forward(self, input_ids):
        m = self.model
        s = input_ids.shape[1]
        cos, sin = m.cos_cached[:s], m.sin_cached[:s]
        mask = m.causal[:s, :s]
        h = m.embed_tokens(input_ids)
        for layer in m.layers:
            h = layer(h, cos, sin, mask)
        return self.lm_head(m.norm(h))


class VitAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(D, 3 * D)
        self.proj = nn.Linear(D, D)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, HEADS, c // HEADS).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * (c // HEADS) ** -0.5
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(x)


class VitMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(D, FFN)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(FFN, D)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class VitBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1 = nn.LayerNorm(D, eps=1e-6)
        self.attn = VitAttention()
        self.norm2 = nn.LayerNorm(D, eps=1e-6)
        self.mlp = VitMlp()

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(3, D, kernel_size=4, stride=4)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class Vit(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch_embed = PatchEmbed()
        self.cls_token = nn.Parameter(torch.randn(1, 1, D) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, 17, D) * 0.02)
        self.blocks = nn.ModuleList([VitBlock() for _ in range(LAYERS)])
        self.norm = nn.LayerNorm(D, eps=1e-6)
        self.head = nn.Linear(D, 10)

    def forward(self, pixel_values):
        x = self.patch_embed(pixel_values)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x)[:, 0])


class NnEncoder(nn.Module):
    """torch's own nn.TransformerEncoder (fused in_proj, functional attention), not hand-written."""

    def __init__(self, norm_first):
        super().__init__()
        layer = nn.TransformerEncoderLayer(D, HEADS, FFN, dropout=0.0, batch_first=True, norm_first=norm_first)
        self.encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)

    def forward(self, x):
        return self.encoder(x)


def randomize(model):
    """Non-trivial values everywhere (norm scales and biases too), so nothing folds away."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            is_norm_scale = name.endswith('weight') and ('norm' in name.lower() or '.ln_' in name)
            p.copy_(torch.randn(p.shape, generator=g) * 0.05 + (1.0 if is_norm_scale else 0.0))


ARCHS = {
    'bert': dict(
        make=Bert,
        inputs=lambda: (torch.randint(0, VOCAB, (2, 8)), torch.ones(2, 8, dtype=torch.int64)),
        names=['input_ids', 'attention_mask'],
        dynamic={'input_ids': {0: 'batch', 1: 'seq'}, 'attention_mask': {0: 'batch', 1: 'seq'}},
        expect=dict(style='post-ln', roles=['q', 'k', 'v', 'o', 'up', 'down'], label='layer.{}'),
    ),
    'gpt2': dict(
        make=Gpt2,
        inputs=lambda: (torch.randint(0, VOCAB, (2, 8)),),
        names=['input_ids'],
        dynamic={'input_ids': {0: 'batch', 1: 'seq'}},
        expect=dict(style='pre-ln', roles=['qkv', 'o', 'up', 'down'], label='h.{}'),
    ),
    'llama': dict(
        make=Llama,
        inputs=lambda: (torch.randint(0, VOCAB, (2, 8)),),
        names=['input_ids'],
        dynamic={'input_ids': {0: 'batch', 1: 'seq'}},
        expect=dict(style='pre-ln', roles=['q', 'k', 'v', 'o', 'gate', 'up', 'down'], label='layers.{}'),
    ),
    'vit': dict(
        make=Vit,
        inputs=lambda: (torch.randn(2, 3, 16, 16),),
        names=['pixel_values'],
        dynamic={'pixel_values': {0: 'batch'}},
        expect=dict(style='pre-ln', roles=['qkv', 'o', 'up', 'down'], label='blocks.{}'),
    ),
    # Its layers start as deep copies; randomize() makes them differ, or the exporter would
    # store one shared copy of each weight.
    'nn_encoder': dict(
        make=lambda: NnEncoder(norm_first=False),
        inputs=lambda: (torch.randn(2, 8, D),),
        names=['x'],
        dynamic={'x': {0: 'batch', 1: 'seq'}},
        opsets=[11, 17],
        expect=dict(style='post-ln', roles=['qkv', 'o', 'up', 'down'], label='layers.{}'),
    ),
    'nn_encoder_norm_first': dict(
        make=lambda: NnEncoder(norm_first=True),
        inputs=lambda: (torch.randn(2, 8, D),),
        names=['x'],
        dynamic={'x': {0: 'batch', 1: 'seq'}},
        opsets=[11, 17],
        expect=dict(style='pre-ln', roles=['qkv', 'o', 'up', 'down'], label='layers.{}'),
    ),
}


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'spec', 'fixtures', 'torch')
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    manifest = {'torch': torch.__version__, 'd': D, 'layers': LAYERS, 'files': {}}
    for arch, spec in ARCHS.items():
        model = spec['make']().eval()
        randomize(model)
        for opset in spec.get('opsets', OPSETS):
            path = os.path.join(out_dir, f'{arch}-opset{opset}.onnx')
            try:
                torch.onnx.export(model, spec['inputs'](), path, opset_version=opset, input_names=spec['names'],
                                  output_names=['logits'], dynamic_axes=spec['dynamic'], do_constant_folding=True)
            except Exception as e:  # an architecture an old opset cannot express: recorded, not fatal
                print(f'{arch} opset {opset}: not exported ({type(e).__name__}: {str(e).splitlines()[0][:120]})')
                continue
            size = os.path.getsize(path)
            print(f'{arch} opset {opset}: {size} bytes')
            manifest['files'][os.path.basename(path)] = dict(arch=arch, opset=opset, **spec['expect'])
    # Without constant folding, torch leaves Linear's weight as Transpose(weight) before the
    # MatMul: the [out, in] layout, named after the module.
    model = ARCHS['bert']['make']().eval()
    randomize(model)
    path = os.path.join(out_dir, 'bert-opset14-unfolded.onnx')
    torch.onnx.export(model, ARCHS['bert']['inputs'](), path, opset_version=14, input_names=ARCHS['bert']['names'],
                      output_names=['logits'], dynamic_axes=ARCHS['bert']['dynamic'], do_constant_folding=False)
    print(f'bert opset 14 unfolded: {os.path.getsize(path)} bytes')
    manifest['files'][os.path.basename(path)] = dict(arch='bert', opset=14, layout='out,in', **ARCHS['bert']['expect'])
    with open(os.path.join(out_dir, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
