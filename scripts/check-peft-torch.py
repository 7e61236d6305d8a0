"""Checks `lor2c export --peft` against torch, independently of lor2c's own reading of the files.

Trains LoRA (q, v) + the classifier for 3 steps on spec/fixtures/fused/bert-plain.onnx (torch's
initializer names), exports the PEFT adapter, and runs `lor2c infer` with the checkpoint. Then,
in torch, builds the same BERT with nn.Linear modules at the torch module paths (weights from
the ONNX file, [in, out] transposed to torch's [out, in]), applies the adapter as PEFT does
(W + B @ A * lora_alpha / r for each target module, rank_pattern / alpha_pattern included, the
modules_to_save tensors loaded by name), and compares its logits with lor2c's.

Run: python3 scripts/check-peft-torch.py   (needs torch, numpy, onnx; node with this checkout)
"""
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
from onnx import numpy_helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
FIX = os.path.join(ROOT, 'spec', 'fixtures', 'fused')
H, HEADS, LAYERS = 16, 2, 2


def lor2c(*args):
    subprocess.run(['node', os.path.join(ROOT, 'bin', 'lor2c.js'), *args], check=True, stdout=subprocess.DEVNULL)


def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == '__metadata__':
            continue
        assert t['dtype'] == 'F32', (name, t['dtype'])
        a, b = t['data_offsets']
        out[name] = torch.from_numpy(np.frombuffer(data[8 + n + a:8 + n + b], dtype='<f4').reshape(t['shape']).copy())
    return out


class Bert(torch.nn.Module):
    """The fixture's BERT (scripts/export-fused-models.py plain_bert) with torch's module names."""

    def __init__(self, onnx_file):
        super().__init__()
        w = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onnx.load(onnx_file).graph.initializer}
        self.w = w

        def linear(path):
            weight, bias = w[path + '.weight'], w[path + '.bias']
            m = torch.nn.Linear(weight.shape[0], weight.shape[1])
            m.weight.data, m.bias.data = weight.T.contiguous(), bias.clone()  # ONNX MatMul [in, out] -> torch [out, in]
            return m

        self.paths = []
        for i in range(LAYERS):
            p = f'encoder.layer.{i}.'
            self.paths += [p + n for n in ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense', 'intermediate.dense', 'output.dense']]
        self.paths.append('classifier')
        self.linears = torch.nn.ModuleDict({k.replace('.', '/'): linear(k) for k in self.paths})

    def lin(self, path):
        return self.linears[path.replace('.', '/')]

    def forward(self, ids, types, mask):
        w = self.w
        ln = lambda x, g, b, eps: torch.nn.functional.layer_norm(x, (H,), w[g], w[b], eps)
        pos = torch.arange(ids.shape[1])
        h = w['embeddings.word_embeddings.weight'][ids] + w['embeddings.position_embeddings.weight'][pos] + w['embeddings.token_type_embeddings.weight'][types]
        h = ln(h, 'emb.LayerNorm.weight', 'emb.LayerNorm.bias', 1e-12)
        additive = (1.0 - mask.float())[:, None, None, :] * -10000.0
        hd = H // HEADS
        for i in range(LAYERS):
            p = f'encoder.layer.{i}.'
            split = lambda t: t.reshape(t.shape[0], t.shape[1], HEADS, hd).transpose(1, 2)
            q, k, v = (split(self.lin(p + 'attention.self.' + n)(h)) for n in ['query', 'key', 'value'])
            probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + additive, dim=-1)
            ctx = (probs @ v).transpose(1, 2).reshape(h.shape)
            a = ln(self.lin(p + 'attention.output.dense')(ctx) + h, p + 'attention.output.LayerNorm.weight', p + 'attention.output.LayerNorm.bias', 1e-5)
            u = self.lin(p + 'intermediate.dense')(a)
            u = torch.nn.functional.gelu(u) if i % 2 == 0 else torch.nn.functional.gelu(u, approximate='tanh')
            h = ln(self.lin(p + 'output.dense')(u) + a, p + 'output.LayerNorm.weight', p + 'output.LayerNorm.bias', 1e-5)
        return self.lin('classifier')(h[:, 0])


def pattern(patterns, module, default):
    for key, value in (patterns or {}).items():
        if re.match(rf'(.*\.)?{key}$', module):
            return value
    return default


def apply_peft(model, folder):
    config = json.load(open(os.path.join(folder, 'adapter_config.json')))
    tensors = read_safetensors(os.path.join(folder, 'adapter_model.safetensors'))
    assert config['peft_type'] == 'LORA' and not config.get('fan_in_fan_out')
    used = set()
    for module in config['target_modules']:
        A, B = (tensors[f'base_model.model.{module}.lora_{x}.weight'] for x in 'AB')
        used |= {f'base_model.model.{module}.lora_{x}.weight' for x in 'AB'}
        r = pattern(config.get('rank_pattern'), module, config['r'])
        alpha = pattern(config.get('alpha_pattern'), module, config['lora_alpha'])
        assert A.shape[0] == r, (module, A.shape, r)
        model.lin(module).weight.data += (B @ A) * (alpha / r)
    for module in config.get('modules_to_save') or []:
        for name, value in tensors.items():
            if name.startswith(f'base_model.model.{module}.'):
                param = name[len(f'base_model.model.{module}.'):]
                target = getattr(model.lin(module), param)
                assert target.shape == value.shape, (name, target.shape, value.shape)
                target.data = value.clone()
                used.add(name)
    assert used == set(tensors), f'tensors not applied: {set(tensors) - used}'


def main():
    tmp = tempfile.mkdtemp(prefix='lor2c-peft-torch-')
    spec = os.path.join(tmp, 'lora.lor2c')
    with open(spec, 'w') as f:
        f.write(f'model "{os.path.join(FIX, "bert-plain.onnx")}"\nblocks auto\nlora {{\n  on q, v\n  rank 2\n  alpha 4\n  dropout 0\n}}\n'
                'train {\n  task classify(logits "logits", labels "label")\n  trainable "classifier.*"\n  optimizer adamw(lr 0.03)\n  batch 4\n  seed 0\n}\n')
    art, ckpt, peft, data = os.path.join(tmp, 'art'), os.path.join(tmp, 'ckpt'), os.path.join(tmp, 'peft'), os.path.join(FIX, 'bert-data.jsonl')
    lor2c('compile', spec, '--out', art)
    lor2c('train', art, '--data', data, '--steps', '3', '--checkpoint', ckpt)
    lor2c('export', art, '--peft', peft, '--checkpoint', ckpt)
    lor2c('infer', art, '--data', data, '--checkpoint', ckpt, '--out', os.path.join(tmp, 'infer.jsonl'))
    theirs = [json.loads(line)['logits'] for line in open(os.path.join(tmp, 'infer.jsonl'))]

    base = Bert(os.path.join(FIX, 'bert-plain.onnx'))
    adapted = Bert(os.path.join(FIX, 'bert-plain.onnx'))
    apply_peft(adapted, peft)
    worst, moved = 0.0, 0.0
    with torch.no_grad():
        for row, logits in zip((json.loads(line) for line in open(data)), theirs):
            args = [torch.tensor([row[k]]) for k in ['input_ids', 'token_type_ids', 'attention_mask']]
            ours = adapted(*args)[0]
            worst = max(worst, float((ours - torch.tensor(logits)).abs().max()))
            moved = max(moved, float((base(*args)[0] - torch.tensor(logits)).abs().max()))
    print(f'rows {len(theirs)}: max |torch+PEFT - lor2c infer| = {worst:.3g}; base without the adapter differs by {moved:.3g}')
    if worst > 1e-4 or moved < 1e-3:
        sys.exit('MISMATCH')


if __name__ == '__main__':
    main()
