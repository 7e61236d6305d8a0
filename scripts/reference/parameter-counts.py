#!/usr/bin/env python3
"""Torch's own parameter counts and output shapes for the reference exports, for `lor2c inspect`.

`lor2c inspect` reports a parameter count that must equal `sum(p.numel() for p in
model.parameters())` of the torch module that was exported. This script exports every module of
scripts/export-reference-models.py (reused, not copied) plus variants that exercise the cases an
ONNX file makes hard to count:

  gpt2_tied_hf   LM head tied to the token embedding (folding leaves a transposed copy of wte
                 beside wte itself), HF's causal `bias` bool buffer and float `masked_bias` scalar
  bert_hf        HF's `position_ids` and `token_type_ids` int64 buffers, token type embeddings
  llama_rope     rotary `inv_freq` float buffer with cos/sin computed in forward, mask built
                 in forward, tied nothing, untied lm_head
  misc           a learnable scalar temperature (exp'd in forward), a Linear on 2-D input
                 (Gemm) and on 3-D input (MatMul, weight transposed by folding), a Linear
                 applied twice (shared)
  plain_norm     LayerNorm without affine parameters
  sinusoid_pe    fixed sinusoidal position embeddings, a float buffer
  conv_bn        Conv2d + BatchNorm2d, conv with and without bias: torch's eval export fuses the
                 BatchNorm into the conv (its weight and bias vanish into the conv's), which no
                 reader of the file can undo; recorded with `parametersInFile`, what the file
                 can show: torch's count less BatchNorm's 2C and the conv bias, plus the fused C
  bn_conv        BatchNorm2d before a Conv2d (not fused): running mean / var are buffers

at opsets 11, 14 and 17 with do_constant_folding True and False (export_params True) into a
temporary folder, and records for each export: torch's parameter count, buffer count and the
output shapes for a fixed input, with which output dims follow the dynamic batch / seq axes
(found by running a second input of other sizes). Every module is randomized first
(export-reference-models.randomize): torch's exporter merges initializers with equal values,
so untrained all-ones norm scales would be stored once.

Writes spec/fixtures/torch/parameter-counts.json, and copies the exports listed in KEEP (small,
each a distinct case) into spec/fixtures/torch/counts/.

Usage: /usr/bin/python3 scripts/reference/parameter-counts.py [ALL_DIR]
  ALL_DIR: also keep every export there (for looking at them; not committed)
"""
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
_spec = importlib.util.spec_from_file_location('export_reference_models', os.path.join(ROOT, 'scripts', 'export-reference-models.py'))
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)
D, HEADS, FFN, VOCAB, MAX_POS = ref.D, ref.HEADS, ref.FFN, ref.VOCAB, ref.MAX_POS
OPSETS = [11, 14, 17]
OUT = os.path.join(ROOT, 'spec', 'fixtures', 'torch')
KEEP_DIR = os.path.join(OUT, 'counts')


class Gpt2HfAttention(ref.Gpt2Attention):
    """HF GPT2Attention of transformers 4.2x: a bool `bias` and a float `masked_bias` buffer."""

    def __init__(self):
        super().__init__()
        self.register_buffer('masked_bias', torch.tensor(-1e4))

    def forward(self, h):
        q, k, v = self.c_attn(h).split(D, dim=2)
        q, k, v = self.heads(q), self.heads(k), self.heads(v)
        w = torch.matmul(q, k.transpose(-1, -2)) / (D // HEADS) ** 0.5
        s = q.shape[-2]
        w = torch.where(self.bias[:, :, :s, :s], w, self.masked_bias.to(w.dtype))
        ctx = torch.matmul(w.softmax(-1), v).permute(0, 2, 1, 3).contiguous()
        return self.c_proj(ctx.view(ctx.shape[0], ctx.shape[1], D))


class Gpt2TiedHf(ref.Gpt2):
    def __init__(self):
        super().__init__()
        for block in self.transformer.h:
            block.attn = Gpt2HfAttention()
        self.lm_head = nn.Linear(D, VOCAB, bias=False)
        self.lm_head.weight = self.transformer.wte.weight

    def forward(self, input_ids):
        t = self.transformer
        pos = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        h = t.wte(input_ids) + t.wpe(pos)
        for block in t.h:
            h = block(h)
        return self.lm_head(t.ln_f(h))


class BertHfEmbeddings(ref.BertEmbeddings):
    def __init__(self):
        super().__init__()
        self.token_type_embeddings = nn.Embedding(2, D)
        self.register_buffer('position_ids', torch.arange(MAX_POS).expand((1, -1)))
        self.register_buffer('token_type_ids', torch.zeros((1, MAX_POS), dtype=torch.long))

    def forward(self, ids):
        s = ids.shape[1]
        pos = self.position_ids[:, :s]
        types = self.token_type_ids[:, :s].expand(ids.shape[0], s)
        return self.LayerNorm(self.word_embeddings(ids) + self.token_type_embeddings(types) + self.position_embeddings(pos))


class BertHf(ref.Bert):
    def __init__(self):
        super().__init__()
        self.embeddings = BertHfEmbeddings()


class LlamaRope(ref.Llama):
    """HF LlamaRotaryEmbedding: only `inv_freq` is stored; cos/sin and the mask are computed."""

    def __init__(self):
        super().__init__()
        m = self.model
        del m.cos_cached, m.sin_cached, m.causal
        hd = D // HEADS
        m.register_buffer('inv_freq', 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd)))

    def forward(self, input_ids):
        m = self.model
        s = input_ids.shape[1]
        t = torch.arange(s, device=input_ids.device).float()
        freqs = t[:, None] * m.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        i = torch.arange(s, device=input_ids.device)
        mask = (i[None, :] > i[:, None]).float() * -1e9
        h = m.embed_tokens(input_ids)
        for layer in m.layers:
            h = layer(h, cos, sin, mask)
        return self.lm_head(m.norm(h))


class Misc(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(D, D)
        self.norm = nn.LayerNorm(D)
        self.logit_scale = nn.Parameter(torch.tensor(2.0))
        self.shared = nn.Linear(D, D, bias=False)
        self.head = nn.Linear(D, 3)

    def forward(self, x):
        h = self.norm(self.proj(x))
        h = self.shared(F.relu(self.shared(h)))
        pooled = h.mean(1)
        return self.head(pooled) * self.logit_scale.exp()


class PlainNorm(nn.Module):
    """LayerNorm without affine parameters (torch 1.13 cannot export it at opset 17)."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(D, D)
        self.norm = nn.LayerNorm(D, elementwise_affine=False)

    def forward(self, x):
        return self.norm(self.proj(x))


class SinusoidPositions(nn.Module):
    """Fixed sinusoidal position embeddings (Attention Is All You Need) as a float buffer."""

    def __init__(self):
        super().__init__()
        pos = torch.arange(MAX_POS).float()[:, None]
        div = torch.exp(torch.arange(0, D, 2).float() * (-torch.log(torch.tensor(10000.0)) / D))
        pe = torch.zeros(MAX_POS, D)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer('pe', pe)
        self.proj = nn.Linear(D, D)

    def forward(self, x):
        return self.proj(x + self.pe[: x.shape[1]])


class ConvBn(nn.Module):
    """Conv2d + BatchNorm2d: running statistics are buffers; eval export may fuse them into the conv."""

    def __init__(self, conv_bias, bn_first=False):
        super().__init__()
        self.bn_first = bn_first
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=conv_bias)
        self.bn = nn.BatchNorm2d(3 if bn_first else 8)
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        h = self.conv(self.bn(x)) if self.bn_first else self.bn(self.conv(x))
        return self.head(F.relu(h).mean((2, 3)))


MODULES = {
    **{arch: spec for arch, spec in ref.ARCHS.items()},
    'gpt2_tied_hf': dict(ref.ARCHS['gpt2'], make=Gpt2TiedHf),
    'bert_hf': dict(ref.ARCHS['bert'], make=BertHf),
    'llama_rope': dict(ref.ARCHS['llama'], make=LlamaRope),
    'misc': dict(inputs=lambda: (torch.randn(2, 8, D),), names=['x'], dynamic={'x': {0: 'batch', 1: 'seq'}}, make=Misc),
    'sinusoid_pe': dict(inputs=lambda: (torch.randn(2, 8, D),), names=['x'], dynamic={'x': {0: 'batch', 1: 'seq'}}, make=SinusoidPositions),
    'conv_bn': dict(ref.ARCHS['vit'], make=lambda: ConvBn(conv_bias=True)),
    'conv_bn_nobias': dict(ref.ARCHS['vit'], make=lambda: ConvBn(conv_bias=False)),
    'bn_conv': dict(ref.ARCHS['vit'], make=lambda: ConvBn(conv_bias=True, bn_first=True)),
    'plain_norm': dict(inputs=lambda: (torch.randn(2, 8, D),), names=['x'], dynamic={'x': {0: 'batch', 1: 'seq'}}, make=PlainNorm),
}

# A second input with other batch and seq sizes: output dims that change follow the dynamic axes.
OTHER = {
    'input_ids': lambda: torch.randint(0, VOCAB, (3, 5)),
    'attention_mask': lambda: torch.ones(3, 5, dtype=torch.int64),
    'x': lambda: torch.randn(3, 5, D),
    'pixel_values': lambda: torch.randn(3, 3, 16, 16),
}
SIZES = {'batch': (2, 3), 'seq': (8, 5)}

# The exports committed (each a distinct case; the rest are recorded only).
KEEP = [
    'gpt2_tied_hf-opset14-folded.onnx', 'gpt2_tied_hf-opset17-unfolded.onnx',
    'bert_hf-opset11-folded.onnx', 'bert_hf-opset17-unfolded.onnx',
    'llama_rope-opset14-folded.onnx', 'llama-opset17-unfolded.onnx',
    'misc-opset11-folded.onnx', 'misc-opset17-folded.onnx', 'misc-opset14-unfolded.onnx', 'plain_norm-opset14-folded.onnx',
    'nn_encoder-opset14-unfolded.onnx', 'vit-opset14-unfolded.onnx', 'sinusoid_pe-opset14-folded.onnx',
    'conv_bn-opset17-folded.onnx', 'conv_bn_nobias-opset11-unfolded.onnx', 'bn_conv-opset14-folded.onnx',
]


def output_dims(model, spec):
    a = model(*spec['inputs']())
    b = model(*[OTHER[n]() for n in spec['names']])
    dims = []
    for x, y in zip(a.shape, b.shape):
        if x == y:
            dims.append(x)
        else:
            named = [n for n, (p, q) in SIZES.items() if (x, y) == (p, q)]
            dims.append(named[0] if named else None)
    return dims


def main():
    warnings.filterwarnings('ignore')
    os.makedirs(KEEP_DIR, exist_ok=True)
    records = {}
    with tempfile.TemporaryDirectory() as tmp:
        for arch, spec in MODULES.items():
            torch.manual_seed(0)
            model = spec['make']().eval()
            ref.randomize(model)
            params = sum(p.numel() for p in model.parameters())
            in_file = params
            if arch.startswith('conv_bn'):
                in_file += - 2 * model.bn.num_features - (model.conv.bias.numel() if model.conv.bias is not None else 0) + model.conv.out_channels
            buffers = sum(b.numel() for b in model.buffers())
            with torch.no_grad():
                dims = output_dims(model, spec)
            for opset in OPSETS:
                for folding in (True, False):
                    name = f'{arch}-opset{opset}-{"folded" if folding else "unfolded"}.onnx'
                    path = os.path.join(tmp, name)
                    try:
                        torch.onnx.export(model, spec['inputs'](), path, opset_version=opset, input_names=spec['names'],
                                          output_names=['logits'], dynamic_axes=spec['dynamic'], do_constant_folding=folding,
                                          export_params=True)
                    except Exception as e:
                        print(f'{name}: not exported ({type(e).__name__}: {str(e).splitlines()[0][:120]})')
                        continue
                    records[name] = dict(arch=arch, opset=opset, constantFolding=folding, parameters=params, buffers=buffers,
                                         **({'parametersInFile': in_file} if in_file != params else {}),
                                         outputs=[dict(name='logits', shape=dims)], committed=name in KEEP)
                    print(f'{name}: {os.path.getsize(path)} bytes, parameters {params}, buffers {buffers}, logits {dims}')
                    if len(sys.argv) > 1:
                        os.makedirs(sys.argv[1], exist_ok=True)
                        shutil.copyfile(path, os.path.join(sys.argv[1], name))
                    if name in KEEP:
                        shutil.copyfile(path, os.path.join(KEEP_DIR, name))
        # The existing fixtures (export-reference-models.py, opsets 9-17): their counts too.
        manifest = json.load(open(os.path.join(OUT, 'manifest.json')))
        for file, info in manifest['files'].items():
            spec = ref.ARCHS[info['arch']]
            torch.manual_seed(0)
            model = spec['make']().eval()
            with torch.no_grad():
                dims = output_dims(model, spec)
            records[file] = dict(arch=info['arch'], opset=info['opset'], constantFolding='unfolded' not in file,
                                 parameters=sum(p.numel() for p in model.parameters()),
                                 buffers=sum(b.numel() for b in model.buffers()),
                                 outputs=[dict(name='logits', shape=dims)], committed=True, path=file)
    doc = {'torch': torch.__version__, 'note': 'written by scripts/reference/parameter-counts.py; committed exports under counts/ (path: relative to spec/fixtures/torch)',
           'files': {k: dict(v, path=v.get('path', f'counts/{k}')) for k, v in sorted(records.items())}}
    with open(os.path.join(OUT, 'parameter-counts.json'), 'w') as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
