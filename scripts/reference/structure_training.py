#!/usr/bin/env python3
"""12-step AdamW loss curves of LoR2C and LoRA(q, v) in PyTorch, on the structure exports.

The models are scripts/export-structure-models.py's (spec/fixtures/torch/structure), rebuilt from
that script's own module definitions and seeded weights; before training, the script checks that
the rebuilt model's residual streams are the ones the export manifest recorded, so the torch model
trained here is the one in the ONNX files:

  gpt_hand  decoder, hand-written GPT with the bias added after the residual Add, raw-Parameter
            fused [q | k | v] weight
  neox      decoder, parallel residual, fused QKV viewed per head as [.., heads, 3 * head_dim]
  falcon    decoder, parallel residual, fused QKV viewed as [.., heads, 3, head_dim]
  t5        encoder-decoder, RMS norm, relative position bias, Cast on the stream, cross-attention
  bart      encoder-decoder, post-LN, learned positions, cross-attention
  vit       image classifier: Conv2d patch embedding, CLS token, pre-LN encoder, classifier on CLS
  whisper   audio classifier: two Conv1d + GELU over log-mel frames, pre-LN encoder, mean-pooled head

Two adapter scenarios each, adapters written from the models' own code (nothing of lor2c is
imported):
  lor2c  one LoR2C path per block of every stack: a pre-hook keeps the block's input h_i, a hook
         adds (alpha / r) h_i A^T B^T to the block's output
  lora-cross  (encoder-decoders) as lora, and also on the q and v of every decoder block's
         cross-attention (`on q, v, cross_q, cross_v`: PEFT's target_modules ["q", "v"] on T5)
  lora   LoRA on the self-attention q and v of every block of every stack: a hook on the
         nn.Linear adds (alpha / r) x A^T B^T to its output; on a fused QKV the delta goes into
         the part's own columns through the model's own view (per head); on gpt_hand's raw
         fused weight, the weight's q or v columns get (alpha / r) A^T B^T (a parametrization)
Rank 2, alpha 4, dropout 0; A ~ U(-1/sqrt(in), 1/sqrt(in)) and, so that every factor's gradient
counts from the first step, B ~ N(0, 0.1^2). torch.optim.AdamW (lr 0.01, betas 0.9/0.999, eps 1e-8,
weight decay 0.01), constant LR, batches of 4 in file order, 12 steps. Loss: token cross-entropy
(decoders: shifted, labels = the input ids; encoder-decoders: `labels` per decoder position); the
front ends (vit, whisper): cross-entropy of the logits against each example's `label`.

Writes spec/fixtures/reference/structure/: <arch>-data.jsonl, and per scenario <arch>-<adapter>.lor2c
(the spec; the model is passed with --model), .init.safetensors (lor2c's parameter names) and
.json (settings, the ONNX files it applies to, torch's 12 losses).

Usage: /usr/bin/python3 scripts/reference/structure_training.py [--only ARCH,..] [OUT_DIR]
       (--only writes those architectures' files and leaves the others as they are)
"""
import importlib.util
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
import torch.nn.utils.parametrize as parametrize

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


S = load('export_structure_models', os.path.join(ROOT, 'scripts', 'export-structure-models.py'))
R = load('lor2c_torch', os.path.join(HERE, 'lor2c_torch.py'))  # safetensors and JSONL writers

STRUCTURE = os.path.join(ROOT, 'spec', 'fixtures', 'torch', 'structure')
RANK, ALPHA, LR, STEPS, BATCH = 2, 4.0, 0.01, 12, 4
SCALE = ALPHA / RANK
SRC_LEN, TGT_LEN = 8, 7

# Per architecture: ONNX files trained against, and where each block's self-attention q and v are.
TRAINED = {
    'gpt_hand': dict(files=['gpt_hand-opset14.onnx', 'gpt_hand-opset17.onnx'], qv='raw-fused'),
    'neox': dict(files=['neox-opset14.onnx', 'neox-opset11.onnx'], qv='fused'),
    'falcon': dict(files=['falcon-opset14.onnx', 'falcon-opset17.onnx'], qv='fused'),
    't5': dict(files=['t5-opset14.onnx', 't5-opset12.onnx'], qv=('layer.0.SelfAttention.q', 'layer.0.SelfAttention.v'),
               cross=('layer.1.EncDecAttention.q', 'layer.1.EncDecAttention.v')),
    'bart': dict(files=['bart-opset14.onnx', 'bart-opset17.onnx'], qv=('self_attn.q_proj', 'self_attn.v_proj'),
                 cross=('encoder_attn.q_proj', 'encoder_attn.v_proj')),
    'vit': dict(files=['vit-opset13.onnx'], qv=('attention.attention.query', 'attention.attention.value'), classify=True),
    'whisper': dict(files=['whisper-opset17.onnx'], qv=('self_attn.q_proj', 'self_attn.v_proj'), classify=True),
}


def has_module(m, path):
    try:
        S.module_at(m, path)
        return True
    except (AttributeError, IndexError):
        return False


def blocks_of(model, spec):
    """Every block, the stacks one after the other in the order they run (lor2c's numbering)."""
    return [blk for path in spec['stacks'].values() for blk in S.module_at(model, path)]


def check_rebuilt(model, spec, arch):
    """The rebuilt model's h_0..h_L are the ones the export manifest recorded for the ONNX files."""
    with open(os.path.join(STRUCTURE, 'manifest.json')) as f:
        recorded = json.load(f)['archs'][arch]
    probe = tuple(torch.tensor(recorded['probe'][n]) for n in spec['names'])
    streams = S.record_streams(model, spec, probe)
    worst = max(abs(a - b) for stack in streams for got, want in zip(streams[stack], recorded['streams'][stack]) for a, b in zip(got['values'], want['values']))
    assert worst < 1e-6, f'{arch}: the rebuilt model differs from the exported one by {worst}'


def make_data(arch, seq2seq, n=BATCH * STEPS):
    """Fixed-length rows (no padding, so no mask is needed): arithmetic runs mod the vocabulary;
    a front end's rows are its input on a 1/8 grid (exact in JSON) and the label is the channel
    (pixels) or the band of mel bins whose mean is largest."""
    g = torch.Generator().manual_seed(100 + sorted(TRAINED).index(arch))
    rows = []
    if TRAINED[arch].get('classify'):
        name = S.ARCHS[arch]['names'][0]
        shape = (S.CHANNELS, S.IMAGE, S.IMAGE) if arch == 'vit' else (S.MELS, S.FRAMES)
        for _ in range(n):
            x = torch.round(torch.randn(shape, generator=g) * 8) / 8
            label = int(torch.stack([x[c].mean() for c in range(3)] if arch == 'vit' else [x[0:3].mean(), x[3:6].mean(), x[6:].mean()]).argmax())
            rows.append({name: x.tolist(), 'label': label})
        return rows
    for _ in range(n):
        start, step = int(torch.randint(0, S.VOCAB, (1,), generator=g)), int(torch.randint(1, 4, (1,), generator=g))
        src = [(start + step * j) % S.VOCAB for j in range(SRC_LEN)]
        if not seq2seq:
            rows.append({'input_ids': src})
            continue
        labels = [(t + 1) % S.VOCAB for t in reversed(src[:TGT_LEN])]
        rows.append({'input_ids': src, 'decoder_input_ids': [0] + labels[:-1], 'labels': labels})
    return rows


def loss_of(model, spec, batch, seq2seq, classify):
    inputs = tuple(torch.tensor([r[n] for r in batch]) for n in spec['names'])
    logits = model(*inputs)
    if classify:
        return F.cross_entropy(logits, torch.tensor([r['label'] for r in batch]))
    if seq2seq:
        labels = torch.tensor([r['labels'] for r in batch])
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
    ids = inputs[0]
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), ignore_index=-100)


class Factors:
    """A and B of one adapter, drawn as the module docstring says."""

    def __init__(self, g, d_in, d_out):
        bound = 1 / math.sqrt(d_in)
        self.A = torch.nn.Parameter(torch.rand(RANK, d_in, generator=g) * 2 * bound - bound)
        self.B = torch.nn.Parameter(torch.randn(d_out, RANK, generator=g) * 0.1)

    def delta(self, x):
        return x @ self.A.t() @ self.B.t() * SCALE


def add_lor2c(model, spec, g):
    params, hooks = {}, []
    for i, blk in enumerate(blocks_of(model, spec)):
        f = Factors(g, S.D, S.D)
        params[f'lor2c.b{i}.A'], params[f'lor2c.b{i}.B'] = f.A, f.B
        keep = {}
        hooks.append(blk.register_forward_pre_hook(lambda m, args, keep=keep: keep.__setitem__('h', args[0])))

        def add(m, args, out, keep=keep, f=f):
            delta = f.delta(keep['h'])
            return (out[0] + delta, *out[1:]) if isinstance(out, tuple) else out + delta
        hooks.append(blk.register_forward_hook(add))
    return params


class FusedColumnsDelta(torch.nn.Module):
    """gpt_hand's raw [in, 3d] weight plus (alpha / r) A^T B^T in the q or v columns."""

    def __init__(self, parts):
        super().__init__()
        self.parts = parts

    def forward(self, w):
        extra = [torch.zeros(S.D, S.D)] * 3
        for role, f in self.parts.items():
            extra['qkv'.index(role)] = (f.A.t() @ f.B.t()) * SCALE
        return w + torch.cat(extra, dim=1)


def add_lora(model, spec, where, g, cross=None):
    """LoRA on q and v of every block; with `cross`, also on the q and v of decoder blocks'
    cross-attention (whose v reads the encoder's output)."""
    params = {}
    for i, blk in enumerate(blocks_of(model, spec)):
        parts = {role: Factors(g, S.D, S.D) for role in ('q', 'v')}
        for role, f in parts.items():
            params[f'lora.b{i}.{role}.A'], params[f'lora.b{i}.{role}.B'] = f.A, f.B
        if cross and has_module(blk, cross[0]):
            for role, path in zip(('cross_q', 'cross_v'), cross):
                f = Factors(g, S.D, S.D)
                params[f'lora.b{i}.{role}.A'], params[f'lora.b{i}.{role}.B'] = f.A, f.B
                S.module_at(blk, path).register_forward_hook(lambda m, args, out, f=f: out + f.delta(args[0]))
        if where == 'raw-fused':
            parametrize.register_parametrization(blk, 'w_attn', FusedColumnsDelta(parts))
        elif where == 'fused':
            def hook(m, args, out, parts=parts):
                bsz, s, _ = out.shape
                full = torch.zeros_like(out)
                for role, f in parts.items():
                    delta = f.delta(args[0]).view(bsz, s, S.HEADS, S.HD)
                    k = 'qkv'.index(role)
                    if spec['fused'] == 'heads,3*hd':
                        full.view(bsz, s, S.HEADS, 3 * S.HD)[..., k * S.HD:(k + 1) * S.HD] += delta
                    else:  # 'heads,3,hd'
                        full.view(bsz, s, S.HEADS, 3, S.HD)[..., k, :] += delta
                return out + full
            S.module_at(blk, spec['fused_module']).register_forward_hook(hook)
        else:
            for role, path in zip(('q', 'v'), where):
                S.module_at(blk, path).register_forward_hook(lambda m, args, out, f=parts[role]: out + f.delta(args[0]))
    return params


def spec_text(arch, adapter, seq2seq, classify):
    lora = lambda name, targets, blocks='': f'lora{name} {{\n  on {targets}\n{blocks}  rank 2\n  alpha 4\n  dropout 0\n}}\n'
    section = 'lor2c {\n  rank 2\n  alpha 4\n  dropout 0\n}\n' if adapter == 'lor2c' else lora('', 'q, v')
    if adapter == 'lora-cross':  # cross-attention exists in the decoder's blocks only
        section += '\n' + lora(' cross', 'cross_q, cross_v', '  blocks decoder\n')
    task = 'lm(logits "logits", labels "labels", ignore_index -100, shift false)' if seq2seq else 'lm(logits "logits", labels "input_ids", ignore_index -100, shift true)'
    if classify:
        task = 'classify(logits "logits", labels "label")'
    return (f'# {arch}: {adapter} against PyTorch over {STEPS} AdamW steps. Made by scripts/reference/structure_training.py.\n'
            f'blocks auto\n\n{section}\ntrain {{\n  task {task}\n  optimizer adamw(lr {LR}, betas [0.9, 0.999], eps 1e-08, weight_decay 0.01)\n'
            f'  schedule constant\n  batch {BATCH}\n  steps {STEPS}\n  precision fp32\n}}\n\ntarget cpu\n')


def run(arch, adapter, out):
    spec = S.ARCHS[arch]
    seq2seq = len(spec['names']) > 1
    classify = TRAINED[arch].get('classify', False)
    model = spec['make']().eval()
    S.randomize(model)
    for p in model.parameters():
        p.requires_grad_(False)
    check_rebuilt(model, spec, arch)
    rows = make_data(arch, seq2seq)
    g = torch.Generator().manual_seed(7 + sorted(TRAINED).index(arch) + {'lor2c': 0, 'lora': 50, 'lora-cross': 100}[adapter])
    if adapter == 'lor2c':
        params = add_lor2c(model, spec, g)
    else:
        params = add_lora(model, spec, TRAINED[arch]['qv'], g, TRAINED[arch].get('cross') if adapter == 'lora-cross' else None)
    name = f'{arch}-{adapter}'
    R.write_safetensors(os.path.join(out, f'{name}.init.safetensors'), {k: p.detach().clone() for k, p in params.items()})
    opt = torch.optim.AdamW(list(params.values()), lr=LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    losses = []
    for step in range(STEPS):
        loss = loss_of(model, spec, rows[step * BATCH:(step + 1) * BATCH], seq2seq, classify)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(R.f32(loss.item()))
    with open(os.path.join(out, f'{name}.lor2c'), 'w') as f:
        f.write(spec_text(arch, adapter, seq2seq, classify))
    record = dict(scenario=name, arch=arch, adapter=adapter, models=TRAINED[arch]['files'], data=f'{arch}-data.jsonl',
                  spec=f'{name}.lor2c', init=f'{name}.init.safetensors', steps=STEPS, batch=BATCH,
                  parameters=sorted(params), loss=losses)
    with open(os.path.join(out, f'{name}.json'), 'w') as f:
        json.dump(record, f, indent=1)
        f.write('\n')
    print(f'{name}: loss {losses[0]:.5f} -> {losses[-1]:.5f}')
    return rows


def main():
    args = sys.argv[1:]
    only = None
    if '--only' in args:
        at = args.index('--only')
        only = args[at + 1].split(',')
        del args[at:at + 2]
    out = args[0] if args else os.path.join(ROOT, 'spec', 'fixtures', 'reference', 'structure')
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    for arch in TRAINED:
        if only and arch not in only:
            continue
        for adapter in ('lor2c', 'lora') + (('lora-cross',) if 'cross' in TRAINED[arch] else ()):
            rows = run(arch, adapter, out)
        R.write_jsonl(os.path.join(out, f'{arch}-data.jsonl'), rows)


if __name__ == '__main__':
    main()
