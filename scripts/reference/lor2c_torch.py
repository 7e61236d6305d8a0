#!/usr/bin/env python3
"""A PyTorch reference implementation of docs/method.md sections 1-6, and the fixtures made with it.

lor2c is judged against a PyTorch implementation of docs/method.md on the same weights (issues 5 and
6): outputs, gradients and loss curves, with and without ShareLoR2C, with Merge/Inject events at
the same steps giving the same decisions. This script is that implementation, written
independently of the TypeScript code, over two tiny hand-written models:

  bert  BERT-like classifier: post-LN, exact (erf) GELU, learned positions, additive padding
        mask, CLS pooler (dense + tanh) and a 3-way classifier. d 32, 3 layers, 4 heads, ffn 64,
        vocab 50.
  gpt2  GPT-2-like LM: pre-LN, causal, fused c_attn, tanh GELU, head tied to the token
        embedding. d 32, 3 layers, vocab 50.

The module definitions are the locate tests' (scripts/export-reference-models.py), reused with
3 layers and a 50-token vocabulary; the BERT-like one gets HF's pooler and a 3-label head.

Adapters are forward hooks on the unchanged torch modules (nothing of lor2c is imported):
  LoR2C  a pre-hook on block s keeps h_s; a hook on block e adds (alpha/r) Dropout(h_s) A^T B^T
         to the block's output (post-LN: after its final LayerNorm; pre-LN: the residual stream
         leaving it, which is what the block returns in both cases).
  LoRA   a hook on the nn.Linear adds (alpha/r) Dropout(x) A^T B^T to its output.
Training uses torch.optim.AdamW itself (one parameter group per trainable tensor, so tensors can
be added and removed at Merge/Inject with PyTorch's own fresh-state semantics).

Writes spec/fixtures/reference/ (see the README there for every convention):
  bert-opset14.onnx bert-opset17.onnx gpt2-opset14.onnx gpt2-opset17.onnx   base models
  bert-data.jsonl gpt2-data.jsonl                                           fixed data
  <scenario>.json .lor2c .init.safetensors .grads0.safetensors .final.safetensors
  [.points.safetensors: adapter values at each Merge/Inject point]

Usage: /usr/bin/python3 scripts/reference/lor2c_torch.py [OUT_DIR]
Needs only Debian's python3-torch (1.13), python3-onnx, python3-numpy (and libopenblas0-pthread
for speed). CI never runs it: its outputs are committed.
"""
import copy
import importlib.util
import json
import math
import os
import struct
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))

# --- the models: the locate tests' module definitions, 3 layers, vocabulary 50 -------------------

_spec = importlib.util.spec_from_file_location('export_reference_models', os.path.join(ROOT, 'scripts', 'export-reference-models.py'))
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)
# Those modules read their sizes from module globals when constructed: set ours before building.
ref.LAYERS = 3
ref.VOCAB = 50
D, HEADS, FFN, VOCAB, LAYERS = ref.D, ref.HEADS, ref.FFN, ref.VOCAB, ref.LAYERS
LABELS = 3
assert (D, HEADS, FFN) == (32, 4, 64), 'export-reference-models.py changed its sizes; the fixtures assume d 32, 4 heads, ffn 64'


class Pooler(nn.Module):  # BertPooler
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(D, D)

    def forward(self, h):
        return torch.tanh(self.dense(h[:, 0]))


class BertClassifier(ref.Bert):
    """BertForSequenceClassification's shape: encoder, CLS pooler + tanh, classifier."""

    def __init__(self):
        super().__init__()
        self.pooler = Pooler()
        self.classifier = nn.Linear(D, LABELS)

    def blocks(self):
        return list(self.encoder.layer)

    def projection(self, block, role):
        return getattr(self.encoder.layer[block].attention.self, {'q': 'query', 'k': 'key', 'v': 'value'}[role])

    def forward(self, input_ids, attention_mask):
        mask = (1.0 - attention_mask[:, None, None, :].float()) * -10000.0
        h = self.embeddings(input_ids)
        for layer in self.encoder.layer:
            h = layer(h, mask)
        return self.classifier(self.pooler(h))


class Gpt2Lm(ref.Gpt2):
    def blocks(self):
        return list(self.transformer.h)

    def projection(self, block, role):
        raise NotImplementedError('LoRA on the GPT-2-like model would target slices of the fused c_attn; no scenario needs it')


def build_models():
    torch.manual_seed(0)
    bert = BertClassifier().eval()
    ref.randomize(bert)  # N(0, 0.05) everywhere, norm scales 1 + N(0, 0.05): nothing trivial folds away
    gpt2 = Gpt2Lm().eval()
    ref.randomize(gpt2)
    for m in (bert, gpt2):
        for p in m.parameters():
            p.requires_grad_(False)
    return {'bert': bert, 'gpt2': gpt2}


def export(models, out):
    files = {}
    for arch, model in models.items():
        if arch == 'bert':
            args = (torch.randint(1, VOCAB, (2, 8)), torch.ones(2, 8, dtype=torch.int64))
            names = ['input_ids', 'attention_mask']
        else:
            args = (torch.randint(1, VOCAB, (2, 8)),)
            names = ['input_ids']
        for opset in (14, 17):
            path = os.path.join(out, f'{arch}-opset{opset}.onnx')
            torch.onnx.export(model, args, path, opset_version=opset, input_names=names, output_names=['logits'],
                              dynamic_axes={n: {0: 'batch', 1: 'seq'} for n in names}, do_constant_folding=True, export_params=True)
            size = os.path.getsize(path)
            assert size < 1_000_000, f'{path} is {size} bytes'
            files[(arch, opset)] = path
            print(f'exported {os.path.relpath(path, ROOT)} ({size} bytes)')
    return files


def onnx_initializers(path):
    return {t.name: onnx.numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}


# --- lor2c's seeded init, ported (compiler/adapters/init.ts), for parameters created mid-run ------
# A LoRA injected at step k must start from the same A' in lor2c and here. lor2c draws it from a
# stream seeded by (training seed, parameter name); this is the same generator (FNV-1a seed mix,
# mulberry32), so the fixtures need no extra plumbing. The TS test checks the port.

M32 = 0xFFFFFFFF


def _imul(a, b):
    return (a * b) & M32


def lor2c_uniform(seed, name):
    h = (0x811C9DC5 ^ (seed & M32)) & M32
    for ch in name:
        h = _imul(h ^ ord(ch), 0x01000193)
    state = [h]

    def nxt():
        state[0] = (state[0] + 0x6D2B79F5) & M32
        t = state[0]
        t = _imul(t ^ (t >> 15), t | 1)
        t = (t ^ ((t + _imul(t ^ (t >> 7), t | 61)) & M32)) & M32
        return ((t ^ (t >> 14)) & M32) / 4294967296.0
    return nxt


def lor2c_init_kaiming(rank, fan_in, seed, name):
    """initDown('kaiming', rank, fanIn, seed, name): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), row-major [rank, fan_in]."""
    nxt = lor2c_uniform(seed, name)
    bound = 1 / math.sqrt(fan_in)
    return torch.tensor(np.array([(nxt() * 2 - 1) * bound for _ in range(rank * fan_in)], dtype=np.float32).reshape(rank, fan_in))


def torch_kaiming_A(rank, d, generator):
    """docs/method.md section 1: PyTorch's kaiming_uniform_(a = sqrt(5)) on an [r, d] weight = U(-1/sqrt(d), 1/sqrt(d))."""
    a = torch.empty(rank, d)
    bound = math.sqrt(6 / ((1 + 5) * d))  # gain sqrt(2 / (1 + a^2)), bound gain * sqrt(3 / fan_in)
    assert abs(bound - 1 / math.sqrt(d)) < 1e-12
    with torch.no_grad():
        a.uniform_(-bound, bound, generator=generator)
    return a


# --- adapters (docs/method.md 1, 2, 5) -------------------------------------------------------------------

class Lor2cModule:
    def __init__(self, span, rank, alpha, dropout, A, B, merged=False):
        self.span, self.rank, self.alpha, self.dropout = tuple(span), rank, alpha, dropout
        self.A, self.B = A, B
        self.merged = merged

    @property
    def id(self):
        s, e = self.span
        return f'b{s}' if s == e else f'b{s}_{e}'

    def delta(self, x):
        if self.dropout > 0:
            x = F.dropout(x, self.dropout, training=True)
        # Scale the r-wide intermediate, as lor2c's graph does (the same products, rounded alike).
        return F.linear(F.linear(x, self.A) * (self.alpha / self.rank), self.B)


class LoraSite:
    def __init__(self, block, role, rank, alpha, dropout, A, B):
        self.block, self.role, self.rank, self.alpha, self.dropout = block, role, rank, alpha, dropout
        self.A, self.B = A, B

    @property
    def id(self):
        return f'b{self.block}.{self.role}'

    def delta(self, x):
        if self.dropout > 0:
            x = F.dropout(x, self.dropout, training=True)
        return F.linear(F.linear(x, self.A) * (self.alpha / self.rank), self.B)


class ShareGroup:
    """ShareLoR2C: the members use one tensor for each shared factor ('A', 'B' or both)."""

    def __init__(self, matrix, members):
        self.matrix, self.members = matrix, list(members)

    def factors(self):
        return ['A', 'B'] if self.matrix == 'both' else [self.matrix]


class Adapted:
    """A base model plus LoR2C modules and LoRA sites as hooks; `install()` after any structural change."""

    def __init__(self, model):
        self.model = model
        self.modules = []   # Lor2cModule, in block order
        self.lora = []      # LoraSite
        self.groups = []    # ShareGroup, in the spec's order (their index names their tensors)
        self.extra = {}     # trainable base-model tensors: ONNX initializer name -> Parameter
        self.handles = []

    def group_of(self, m, factor):
        """Index of the share group holding m's factor, or None when m owns it."""
        for g, group in enumerate(self.groups):
            if factor in group.factors() and m in group.members:
                return g
        return None

    def factor_name(self, m, factor):
        g = self.group_of(m, factor)
        return f'lor2c.shared{g}.{factor}' if g is not None else f'lor2c.{m.id}.{factor}'

    def install(self):
        for h in self.handles:
            h.remove()
        self.handles = []
        blocks = self.model.blocks()
        self.modules.sort(key=lambda m: m.span[0])
        for m in self.modules:
            s, e = m.span
            store = {}

            def keep(mod, args, store=store):
                store['x'] = args[0]

            def add(mod, args, out, m=m, store=store):
                return out + m.delta(store.pop('x'))
            self.handles.append(blocks[s].register_forward_pre_hook(keep))
            self.handles.append(blocks[e].register_forward_hook(add))
        for site in self.lora:
            def add_lora(mod, args, out, site=site):
                return out + site.delta(args[0])
            self.handles.append(self.model.projection(site.block, site.role).register_forward_hook(add_lora))

    def named_parameters(self):
        """Every trainable tensor by its lor2c name (docs/architecture.md): lor2c.<id>.A/B, lora.<block>.<proj>.A/B, initializer names."""
        out = {}
        for m in self.modules:
            for factor in ('A', 'B'):
                name, p = self.factor_name(m, factor), getattr(m, factor)
                # One name, one tensor: members of a group hold the very same Parameter.
                assert out.get(name, p) is p, f'{name} names two different tensors'
                out[name] = p
        for s in self.lora:
            out[f'lora.{s.id}.A'] = s.A
            out[f'lora.{s.id}.B'] = s.B
        out.update(self.extra)
        return out

    def adapter_count(self):
        """Adapter parameters only (the head excluded), counting a shared tensor once."""
        seen = {id(p): p.numel() for n, p in self.named_parameters().items() if n not in self.extra}
        return sum(seen.values())


def make_extra(adapted, onnx_path, patterns):
    """Base-model tensors made trainable by name pattern, named as the ONNX initializers they became."""
    inits = onnx_initializers(onnx_path)
    for name, p in adapted.model.named_parameters():
        if not any(glob_match(pat, name) for pat, _ in patterns):
            continue
        assert name in inits, f'{name} is not an initializer of {onnx_path} (found {sorted(inits)[:8]}...)'
        assert np.array_equal(inits[name], p.detach().numpy()), f'{name} differs between torch and {onnx_path}'
        p.requires_grad_(True)
        adapted.extra[name] = p


def glob_match(pattern, name):
    import fnmatch
    return fnmatch.fnmatchcase(name, pattern.replace('[', '[[]'))


def lr_scale_of(name, patterns):
    for pat, scale in patterns:
        if glob_match(pat, name):
            return scale
    return 1.0


# --- SFS (docs/method.md 3) ---------------------------------------------------------------------------

def delta_singular_values(A, B):
    """Non-zero singular values of B A via thin QR: B = Q_B R_B, A^T = Q_A R_A, sigma(R_B R_A^T). Float64."""
    rb = torch.linalg.qr(B.detach().double(), mode='reduced').R
    ra = torch.linalg.qr(A.detach().double().T, mode='reduced').R
    return torch.linalg.svdvals(rb @ ra.T)


def sfs(A, B, metric, d):
    s = delta_singular_values(A, B)
    # Self-check on every call: the O(d r^2) route equals the full d x d SVD (docs/method.md 3).
    full = torch.linalg.svdvals(B.detach().double() @ A.detach().double())
    assert torch.allclose(full[:s.numel()], s, rtol=1e-9, atol=1e-14), (full[:s.numel()], s)
    assert abs(full.sum().item() - s.sum().item()) <= 1e-9 * max(1e-30, s.sum().item()) + 1e-14
    total = s.sum().item()
    if metric['kind'] == 'mean':
        return total / d
    return 0.0 if total == 0 else s[:metric['k']].sum().item() / total


def sfs_snapshot(adapted, metric):
    return {m.id: sfs(m.A, m.B, metric, D) for m in adapted.modules}


# --- Merge / Inject decisions (docs/method.md 4-6) ---------------------------------------------------

def adjacent_pairs(modules):
    ordered = sorted(modules, key=lambda m: m.span[0])
    return [(a, b) for a, b in zip(ordered, ordered[1:]) if a.span[1] + 1 == b.span[0]]


def choose_merge(modules, scores, max_span=None):
    """Adjacent pair with the lowest SFS sum; the earliest pair wins ties."""
    best = None
    for m1, m2 in adjacent_pairs(modules):
        if max_span is not None and m2.span[1] - m1.span[0] + 1 > max_span:
            continue
        score = scores[m1.id] + scores[m2.id]
        if best is None or score < best[2]:
            best = (m1, m2, score)
    return best


def choose_inject(modules, scores):
    """Never-merged module with the highest SFS; the earliest wins ties."""
    best = None
    for m in sorted(modules, key=lambda m: m.span[0]):
        if m.merged:
            continue
        if best is None or scores[m.id] > scores[best.id]:
            best = m
    return best


def margin(values, chosen, higher):
    """Relative gap between the chosen score and the runner-up: decisions must not hinge on rounding."""
    others = [v for v in values if v != chosen]
    if not others:
        return None  # the only candidate: nothing to decide (JSON null)
    runner = max(others) if higher else min(others)
    return abs(chosen - runner) / max(abs(chosen), abs(runner), 1e-30)


# --- optimizer and schedule -------------------------------------------------------------------------

class Optimizer:
    """torch.optim.AdamW, one parameter group per trainable tensor: adding a tensor gives it PyTorch's
    fresh state (its own step count from 0, m = v = 0); removing one drops its state."""

    def __init__(self, settings):
        self.s = settings
        self.opt = None
        self.names = []

    def add(self, name, p, lr_scale):
        p.requires_grad_(True)
        # Hugging Face Trainer's rule, which lor2c follows (compiler/compile.ts): tensors of one
        # dimension (biases, norm scales) are not decayed; matrices are.
        group = {'params': [p], 'lr': self.s['lr'] * lr_scale, 'lr_scale': lr_scale, 'name': name,
                 'weight_decay': self.s['weight_decay'] if p.dim() > 1 else 0.0}
        if self.opt is None:
            self.opt = torch.optim.AdamW([group], lr=self.s['lr'], betas=tuple(self.s['betas']), eps=self.s['eps'],
                                         weight_decay=self.s['weight_decay'], foreach=False)
        else:
            self.opt.add_param_group(group)
        self.names.append(name)

    def remove(self, p):
        i = next(k for k, g in enumerate(self.opt.param_groups) if g['params'][0] is p)
        self.opt.param_groups.pop(i)
        self.opt.state.pop(p, None)
        p.requires_grad_(False)
        self.names.pop(i)

    def sync(self, live):
        """After a structural change: tensors no longer used leave (state dropped); tensors not yet
        trained join with fresh state; every tensor still used keeps its state, whatever its name now."""
        ids = {id(p) for p in live.values()}
        for g in list(self.opt.param_groups):
            if id(g['params'][0]) not in ids:
                self.remove(g['params'][0])
        known = {id(g['params'][0]) for g in self.opt.param_groups}
        added = []
        for name, p in live.items():
            if id(p) not in known:
                self.add(name, p, 1.0)
                known.add(id(p))
                added.append(name)
        return added

    def set_lr(self, mult):
        for g in self.opt.param_groups:
            g['lr'] = self.s['lr'] * g['lr_scale'] * mult

    def step_counts(self, live):
        """Each tensor's update count, by its name in the structure at the end."""
        by_id = {id(p): name for name, p in live.items()}
        return {by_id[id(g['params'][0])]: int(self.opt.state[g['params'][0]]['step']) if g['params'][0] in self.opt.state else 0 for g in self.opt.param_groups}


def linear_schedule(t, warmup, total):
    """HF get_linear_schedule_with_warmup's multiplier for the update that follows t completed updates."""
    if t < warmup:
        return t / max(1, warmup)
    return max(0.0, (total - t) / max(1, total - warmup))


# --- data ---------------------------------------------------------------------------------------

def make_bert_data(n, seed):
    g = np.random.RandomState(seed)
    rows = []
    for _ in range(n):
        # A bag-of-words task the frozen encoder's features can carry: most tokens of an example of
        # class c are = c (mod 3). Token 1 is CLS, 0 padding.
        length = int(g.randint(5, 13))
        label = int(g.randint(0, LABELS))
        ids = [1]
        while len(ids) < length:
            t = int(g.randint(3, VOCAB))
            if t % LABELS == label or g.rand() < 0.3:
                ids.append(t)
        rows.append({'input_ids': ids, 'attention_mask': [1] * length, 'label': label})
    return rows


def make_gpt2_data(n, seed):
    g = np.random.RandomState(seed)
    rows = []
    for i in range(n):
        length = int(g.randint(6, 15))
        # A learnable pattern: mostly ids[t+1] = ids[t] + step (mod the vocabulary), sometimes a random token.
        step = int(g.randint(1, 4))
        ids = [int(g.randint(1, VOCAB))]
        for _ in range(length - 1):
            ids.append(int(g.randint(1, VOCAB)) if g.rand() < 0.2 else (ids[-1] - 1 + step) % (VOCAB - 1) + 1)
        labels = list(ids)
        if i % 4 == 0:  # a "prompt" whose tokens are not predicted: ignore_index inside the data too
            labels[0] = labels[1] = -100
        rows.append({'input_ids': ids, 'labels': labels})
    return rows


def collate(rows, pads):
    """Right-pads every key to the longest example of the batch (lor2c's runtime/data/collate.ts)."""
    out = {}
    for key, pad in pads.items():
        if pad is None:  # a per-example scalar (a class label): nothing to pad
            out[key] = torch.tensor([r[key] for r in rows], dtype=torch.int64)
            continue
        width = max(len(r[key]) for r in rows)
        out[key] = torch.tensor([r[key] + [pad] * (width - len(r[key])) for r in rows], dtype=torch.int64)
    return out


def write_jsonl(path, rows):
    with open(path, 'w') as f:
        for r in rows:
            f.write(json.dumps(r, separators=(',', ':')) + '\n')


# --- safetensors, by hand ---------------------------------------------------------------------------

def write_safetensors(path, tensors, metadata=None):
    """8-byte little-endian header length, JSON header {name: {dtype, shape, data_offsets}}, raw data."""
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().cpu().numpy() if torch.is_tensor(t) else t, dtype='<f4')
        raw = a.tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        header['__metadata__'] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)  # data section 8-byte aligned, as the reference writer pads
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        b, end = e['data_offsets']
        out[name] = np.frombuffer(data[8 + n + b:8 + n + end], dtype='<f4').reshape(e['shape'])
    return out


def f32(x):
    """A float32 value as the JSON number that reads back to exactly it (Math.fround-stable)."""
    return float(np.float32(x))


def tensor_json(t):
    a = t.detach().cpu().numpy().astype(np.float32)
    return {'shape': list(a.shape), 'values': [float(v) for v in a.reshape(-1)]}


# --- scenarios ----------------------------------------------------------------------------------

OPT = {'kind': 'adamw', 'lr': 1e-2, 'betas': [0.9, 0.999], 'eps': 1e-8, 'weight_decay': 0.01}
SEED = 42  # the plan's train seed: lor2c draws injected LoRA from it
BATCH = 8

SCENARIOS = [
    dict(name='a-lor2c', arch='bert', opset=17, steps=20, warmup=2,
         lor2c=dict(rank=4, alpha=8, blocks=[0, 1, 2]), head=[('pooler.*', 0.5), ('classifier.*', 0.5)],
         about='LoR2C r=4 alpha=8 on all 3 blocks; pooler and classifier trainable at lr/2'),
    dict(name='b-share', arch='bert', opset=14, steps=20, warmup=2,
         lor2c=dict(rank=4, alpha=8, blocks=[0, 1, 2]), share='A', head=[('classifier.*', 1.0)],
         about='ShareLoR2C: one A across the 3 modules, own B each; classifier trainable at lr'),
    dict(name='c-gpt2-lm', arch='gpt2', opset=14, steps=20, warmup=2,
         lor2c=dict(rank=4, alpha=8, blocks=[0, 1, 2]), head=[],
         about='LoR2C r=4 alpha=8 on the GPT-2-like LM; shifted token cross-entropy, ignore_index -100'),
    dict(name='d-merge', arch='bert', opset=17, steps=20, warmup=2,
         lor2c=dict(rank=4, alpha=8, blocks=[0, 1, 2]), head=[('classifier.*', 0.5)],
         merge=dict(every=5, max=2, metric={'kind': 'mean'}),
         about='MergeLoR2C: SFS-mean merges after steps 5 and 10 (at most 2); merged modules trained'),
    dict(name='e-imlor2c', arch='bert', opset=17, steps=16, warmup=2,
         lor2c=dict(rank=4, alpha=8, blocks=[0, 1, 2]), head=[],
         merge=dict(every=6, max=1, metric={'kind': 'mean'}), inject=dict(every=6, max=1, metric={'kind': 'topk', 'k': 2}),
         about='IMLoR2C: after step 6, merge (SFS mean) then inject (SFS top-2) from one snapshot; injected LoRA trained'),
    dict(name='f-lora', arch='bert', opset=17, steps=20, warmup=2,
         lora=dict(rank=4, alpha=8, roles=['q', 'v']), head=[('classifier.*', 1.0)],
         about='LoRA r=4 alpha=8 on q and v of every block (the baseline); classifier trainable at lr'),
    dict(name='g-share-merge', arch='bert', opset=14, steps=20, warmup=2,
         lor2c=dict(rank=4, alpha=8, blocks=[0, 1, 2]), share='A', head=[('classifier.*', 1.0)],
         merge=dict(every=5, max=2, metric={'kind': 'mean'}),
         about='ShareLoR2C with MergeLoR2C: merged modules keep the shared A (and its optimizer state), get a fresh copy of the first B'),
    dict(name='h-share-b-merge', arch='bert', opset=17, steps=20, warmup=2,
         lor2c=dict(rank=4, alpha=8, blocks=[0, 1, 2]), share='B', head=[('classifier.*', 1.0)],
         merge=dict(every=5, max=2, metric={'kind': 'mean'}),
         about='ShareLoR2C of B with MergeLoR2C: the shared B is neither created nor removed by a merge, so it keeps its values and AdamW state (20 updates); each merged module gets a fresh copy of the first A'),
    dict(name='i-share-group-merge', arch='bert', opset=14, steps=20, warmup=2,
         lor2c=dict(rank=4, alpha=8, blocks=[0, 1, 2]), share=dict(matrix='A', members=[0, 1]), head=[('classifier.*', 1.0)],
         merge=dict(every=5, max=2, metric={'kind': 'mean'}),
         about='A shared by b0 and b1 only, with MergeLoR2C: a merged module stays in the group only when both parts were in it; otherwise it gets its own copy of the first part\'s A (fresh state) and the group keeps its tensor and state for the members left'),
    dict(name='j-share-both-merge', arch='bert', opset=17, steps=20, warmup=2,
         lor2c=dict(rank=4, alpha=8, blocks=[0, 1, 2]), share=dict(matrix='both', members=[0, 1]), head=[('classifier.*', 1.0)],
         merge=dict(every=5, max=2, metric={'kind': 'mean'}),
         about='A and B shared by b0 and b1, with MergeLoR2C: merging the two members creates no tensor (the merged module uses the group\'s A and B, state kept); merging across the group boundary copies the first part\'s A and B'),
]


def share_of(sc):
    """The scenario's share group as (matrix, member blocks), or None: 'A' alone means all modules."""
    sh = sc.get('share')
    if not sh:
        return None
    if isinstance(sh, str):
        return sh, list(sc['lor2c']['blocks'])
    return sh['matrix'], list(sh['members'])


def loss_fn(arch, logits, batch):
    if arch == 'bert':
        return F.cross_entropy(logits, batch['label'])
    # HF GPT2LMHeadModel: position t predicts label t+1; mean over the counted tokens of the batch.
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), batch['labels'][:, 1:].reshape(-1), ignore_index=-100)


def forward(adapted, arch, batch):
    if arch == 'bert':
        return adapted.model(batch['input_ids'], batch['attention_mask'])
    return adapted.model(batch['input_ids'])


def spec_text(sc, onnx_file, data_file):
    """The .lor2c spec that compiles this scenario (the lead's end-to-end comparison uses it)."""
    lines = [f'# Reference scenario {sc["name"]}: {sc["about"]}.', '# Made by scripts/reference/lor2c_torch.py; see README.md beside it.',
             f'model "{onnx_file}"', 'blocks auto', '']
    if 'lor2c' in sc:
        c = sc['lor2c']
        lines += ['lor2c {', f'  rank {c["rank"]}', f'  alpha {c["alpha"]}', '  dropout 0', '}', '']
    share = share_of(sc)
    if share:
        matrix, members = share
        lines += [f'share {matrix}' + ('' if members == list(sc['lor2c']['blocks']) else ' across ' + ', '.join(f'b{b}' for b in members)), '']
    if 'lora' in sc:
        c = sc['lora']
        lines += ['lora {', f'  on {", ".join(c["roles"])}', f'  rank {c["rank"]}', f'  alpha {c["alpha"]}', '  dropout 0', '}', '']

    def metric(m):
        return 'mean' if m['kind'] == 'mean' else f'topk {m["k"]}'
    if 'merge' in sc:
        m = sc['merge']
        lines += ['merge {', f'  metric {metric(m["metric"])}', f'  every {m["every"]} steps', f'  max {m["max"]}', '  init first', '}', '']
    if 'inject' in sc:
        m = sc['inject']
        lines += ['inject {', f'  metric {metric(m["metric"])}', f'  every {m["every"]} steps', f'  max {m["max"]}', '  on q, v', '}', '']
    task = 'classify(logits "logits", labels "label")' if sc['arch'] == 'bert' else 'lm(logits "logits", labels "labels", ignore_index -100, shift true)'
    lines += ['train {', f'  task {task}']
    for pat, scale in sc['head']:
        lines.append(f'  trainable "{pat}"' + (f' lr_scale {scale:g}' if scale != 1 else ''))
    o = OPT
    lines += [f'  optimizer adamw(lr {o["lr"]!r}, betas [{o["betas"][0]!r}, {o["betas"][1]!r}], eps {o["eps"]!r}, weight_decay {o["weight_decay"]!r})',
              f'  schedule linear(warmup {sc["warmup"]} steps)', f'  batch {BATCH}', f'  steps {sc["steps"]}', f'  seed {SEED}', '  precision fp32', '}', '',
              'target cpu', '']
    return '\n'.join(lines)


def run_scenario(sc, models, onnx_files, data, out):
    arch, name = sc['arch'], sc['name']
    onnx_path = onnx_files[(arch, sc['opset'])]
    onnx_file = os.path.basename(onnx_path)
    rows, pads, data_file = data[arch]
    n_batches = len(rows) // BATCH
    batches = [collate(rows[i * BATCH:(i + 1) * BATCH], pads) for i in range(n_batches)]
    adapted = Adapted(copy.deepcopy(models[arch]))
    gen = torch.Generator().manual_seed(1000 + SCENARIOS.index(sc))

    # Adapters at their initial values: A kaiming-uniform (torch's generator), B zero.
    if 'lor2c' in sc:
        c = sc['lor2c']
        share = share_of(sc)
        # The shared A is drawn first, then each module's own A in block order (B is zero anyway).
        shared_A = nn.Parameter(torch_kaiming_A(c['rank'], D, gen)) if share and share[0] in ('A', 'both') else None
        shared_B = nn.Parameter(torch.zeros(D, c['rank'])) if share and share[0] in ('B', 'both') else None
        for b in c['blocks']:
            member = share is not None and b in share[1]
            A = shared_A if member and shared_A is not None else nn.Parameter(torch_kaiming_A(c['rank'], D, gen))
            B = shared_B if member and shared_B is not None else nn.Parameter(torch.zeros(D, c['rank']))
            adapted.modules.append(Lor2cModule((b, b), c['rank'], c['alpha'], 0.0, A, B))
        if share:
            adapted.groups.append(ShareGroup(share[0], [m for m in adapted.modules if m.span[0] in share[1]]))
    if 'lora' in sc:
        c = sc['lora']
        for b in range(LAYERS):
            for role in c['roles']:
                out_dim = adapted.model.projection(b, role).out_features
                adapted.lora.append(LoraSite(b, role, c['rank'], c['alpha'], 0.0, nn.Parameter(torch_kaiming_A(c['rank'], D, gen)), nn.Parameter(torch.zeros(out_dim, c['rank']))))
    make_extra(adapted, onnx_path, sc['head'])

    # Invariant: with B = 0 the adapted model computes exactly the base model (docs/method.md 1).
    with torch.no_grad():
        base_logits = forward(adapted, arch, batches[0])
        adapted.install()
        start_logits = forward(adapted, arch, batches[0])
    assert torch.equal(base_logits, start_logits), f'{name}: B = 0 but the adapted logits differ from the base'

    # Parameter counts follow docs/method.md's formulas.
    r = sc.get('lor2c', sc.get('lora'))['rank']
    n_mod = len(adapted.modules)
    expected = lor2c_count(adapted, D, r)
    if share_of(sc) == ('A', list(range(n_mod))):
        assert expected == D * r + n_mod * D * r  # docs/method.md §2's ShareLoR2C formula
    elif not share_of(sc):
        assert expected == 2 * D * r * n_mod
    if 'lora' in sc:
        expected = sum(r * (D + adapted.model.projection(s.block, s.role).out_features) for s in adapted.lora)
    assert adapted.adapter_count() == expected, (name, adapted.adapter_count(), expected)

    patterns = sc['head']
    opt = Optimizer(OPT)
    trainable = adapted.named_parameters()
    for pname, p in trainable.items():
        opt.add(pname, p, lr_scale_of(pname, patterns) if pname in adapted.extra else 1.0)
    init = {k: v.detach().clone() for k, v in trainable.items()}
    write_safetensors(os.path.join(out, f'{name}.init.safetensors'), init, {'scenario': name})

    losses, lrs, events, sfs_log, counts = [], [], [], [], [adapted.adapter_count()]
    points = {}
    grads0 = None
    merges = injects = 0
    for step in range(1, sc['steps'] + 1):
        batch = batches[(step - 1) % n_batches]
        mult = linear_schedule(step - 1, sc['warmup'], sc['steps'])
        opt.set_lr(mult)
        opt.opt.zero_grad(set_to_none=True)
        loss = loss_fn(arch, forward(adapted, arch, batch), batch)
        loss.backward()
        if step == 1:
            grads0 = {k: (p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)) for k, p in adapted.named_parameters().items()}
        opt.opt.step()
        losses.append(f32(loss.item()))
        lrs.append(OPT['lr'] * mult)  # the Python float torch was given (lr_scale 1)

        if 'merge' not in sc and 'inject' not in sc:
            continue
        # After `step` completed updates: the SFS the runtime's structural hook sees.
        snap = {}
        for key in ('merge', 'inject'):
            if key in sc:
                snap[key] = sfs_snapshot(adapted, sc[key]['metric'])
        sfs_log.append({'step': step, **{f'{k}_metric': sc[k]['metric'] for k in snap}, **{f'{k}_sfs': v for k, v in snap.items()}})
        due_merge = 'merge' in sc and step % sc['merge']['every'] == 0 and merges < sc['merge']['max'] and step < sc['steps']
        due_inject = 'inject' in sc and step % sc['inject']['every'] == 0 and injects < sc['inject']['max'] and step < sc['steps']
        if not (due_merge or due_inject):
            continue
        before = {k: v.detach().clone() for k, v in adapted.named_parameters().items() if k not in adapted.extra}
        points.update({f'step{step}:{k}': v for k, v in before.items()})
        names_at_point = {m.id: {'A': adapted.factor_name(m, 'A'), 'B': adapted.factor_name(m, 'B')} for m in adapted.modules}
        if due_merge:
            scores = snap['merge']
            m1, m2, score = choose_merge(adapted.modules, scores)
            gap = margin([scores[a.id] + scores[b.id] for a, b in adjacent_pairs(adapted.modules)], score, higher=False)
            assert gap is None or gap > 1e-3, f'{name}: merge at step {step} decided by a relative margin of {gap:.2e}; pick other settings'
            # ShareLoR2C: the merged module shares a factor when BOTH parts shared it in one group:
            # it then uses the group's tensor itself (neither created nor removed: values and AdamW
            # state untouched). Otherwise the factor is its own, a copy of m1's current value
            # (the group's, when m1 was in one), with fresh state.
            kept = {f: adapted.group_of(m1, f) for f in ('A', 'B') if adapted.group_of(m1, f) is not None and adapted.group_of(m1, f) == adapted.group_of(m2, f)}
            init_from = [adapted.factor_name(m1, 'A'), adapted.factor_name(m1, 'B')]
            merged = Lor2cModule((m1.span[0], m2.span[1]), m1.rank, m1.alpha, m1.dropout,
                                 m1.A if 'A' in kept else nn.Parameter(m1.A.detach().clone()),
                                 m1.B if 'B' in kept else nn.Parameter(m1.B.detach().clone()), merged=True)
            for group in adapted.groups:
                both = m1 in group.members and m2 in group.members
                group.members = [x for x in group.members if x is not m1 and x is not m2] + ([merged] if both else [])
            adapted.groups = [g for g in adapted.groups if g.members]
            adapted.modules = [x for x in adapted.modules if x is not m1 and x is not m2] + [merged]
            created = opt.sync(adapted.named_parameters())
            merges += 1
            events.append({'step': step, 'type': 'merge', 'names': names_at_point, 'pair': [m1.id, m2.id], 'merged': merged.id, 'span': list(merged.span),
                           'score': score, 'relative_margin': gap, 'metric': sc['merge']['metric'], 'sfs': scores,
                           'init_rule': 'first', 'init_from': init_from, 'created': created,
                           'shared_kept': {f: f'lor2c.shared{kept[f]}.{f}' for f in kept}})
        if due_inject:
            scores = snap['inject']  # the same snapshot: modules merged a moment ago are gone or marked merged
            m = choose_inject(adapted.modules, scores)
            eligible = [scores[x.id] for x in adapted.modules if not x.merged]
            gap = margin(eligible, scores[m.id], higher=True)
            assert gap is None or gap > 1e-3, f'{name}: inject at step {step} decided by a relative margin of {gap:.2e}'
            adapted.modules.remove(m)
            for group in adapted.groups:
                group.members = [x for x in group.members if x is not m]
            adapted.groups = [g for g in adapted.groups if g.members]
            r2 = m.rank // 2
            added = []
            for role in ('q', 'v'):
                pname = f'lora.b{m.span[0]}.{role}'
                out_dim = adapted.model.projection(m.span[0], role).out_features
                site = LoraSite(m.span[0], role, r2, m.alpha, m.dropout, nn.Parameter(lor2c_init_kaiming(r2, D, SEED, pname + '.A')), nn.Parameter(torch.zeros(out_dim, r2)))
                adapted.lora.append(site)
                added += [pname + '.A', pname + '.B']
            assert opt.sync(adapted.named_parameters()) == added
            injects += 1
            events.append({'step': step, 'type': 'inject', 'names': names_at_point, 'removed': m.id, 'block': m.span[0], 'rank': r2, 'alpha': m.alpha,
                           'targets': ['q', 'v'], 'added': added, 'relative_margin': gap, 'metric': sc['inject']['metric'], 'sfs': scores,
                           'init_rule': 'A: initDown(kaiming, rank, d, seed, name) of compiler/adapters/init.ts; B: zero', 'seed': SEED,
                           'init': {k: tensor_json(v) for k, v in adapted.named_parameters().items() if k in added and k.endswith('.A')}})
        adapted.install()
        # The count follows the structure: each module's own factors plus one tensor per factor
        # a group shares, d r each; a merge inside a group of both factors removes nothing, an
        # injection of rank r/2 on q and v (d x d) is neutral.
        lora_count = sum(s.A.numel() + s.B.numel() for s in adapted.lora)
        assert adapted.adapter_count() == lor2c_count(adapted, D, sc['lor2c']['rank']) + lora_count, (name, step, adapted.adapter_count(), counts)
        counts.append(adapted.adapter_count())

    final = {k: v.detach().clone() for k, v in adapted.named_parameters().items()}
    write_safetensors(os.path.join(out, f'{name}.final.safetensors'), final, {'scenario': name, 'steps': sc['steps']})
    write_safetensors(os.path.join(out, f'{name}.grads0.safetensors'), grads0, {'scenario': name, 'at': 'initial values, batch of step 1'})
    if points:
        write_safetensors(os.path.join(out, f'{name}.points.safetensors'), points, {'scenario': name, 'at': 'adapter values after step N, before the structural change'})

    # Gradients at the final values on the first batch: A's gradients are zero at step 0 (B = 0), not here.
    opt.opt.zero_grad(set_to_none=True)
    final_logits_t = forward(adapted, arch, batches[0])
    final_loss = loss_fn(arch, final_logits_t, batches[0])
    final_loss.backward()
    grads_final = {k: p.grad.detach().clone() for k, p in adapted.named_parameters().items()}
    write_safetensors(os.path.join(out, f'{name}.gradsfinal.safetensors'), grads_final, {'scenario': name, 'at': 'final values, batch of step 1'})
    if adapted.groups:
        check_shared_gradient_sums(adapted, arch, batches[0], grads_final)

    final_sfs = {'mean': sfs_snapshot(adapted, {'kind': 'mean'}), 'topk2': sfs_snapshot(adapted, {'kind': 'topk', 'k': 2})}
    spec_file = f'{name}.lor2c'
    with open(os.path.join(out, spec_file), 'w') as f:
        f.write(spec_text(sc, onnx_file, data_file))
    record = {
        'scenario': name,
        'about': sc['about'],
        'model': onnx_file,
        'also_matches': f'{arch}-opset{31 - sc["opset"]}.onnx (same weights, other opset)',
        'spec': spec_file,
        'data': data_file,
        'task': ({'kind': 'classify', 'logits': 'logits', 'labels': 'label'} if arch == 'bert'
                 else {'kind': 'lm', 'logits': 'logits', 'labels': 'labels', 'ignore_index': -100, 'shift': True}),
        'settings': {
            'optimizer': OPT,
            'schedule': {'kind': 'linear', 'warmup_steps': sc['warmup'], 'total_steps': sc['steps'],
                         'lr_of_update_k': 'lr * lr_scale * m(k - 1), m(t) = t / warmup for t < warmup, else max(0, (total - t) / (total - warmup))'},
            'batch_size': BATCH, 'shuffle': False, 'drop_last': True,
            'batches': 'step k uses examples [(k-1) mod %d * %d, +%d) of the data file, in file order' % (n_batches, BATCH, BATCH),
            'steps': sc['steps'], 'seed': SEED, 'dropout': 0,
            'weight_decay_applies_to': 'every trainable tensor of 2 or more dimensions (adapters, head matrices), scaled by its own lr; 1-D tensors (biases) are not decayed',
        },
        'adapters': initial_structure(sc),
        'trainable': [{'name': k, 'shape': list(v.shape), 'lr_scale': lr_scale_of(k, patterns) if k in adapted.extra else 1.0,
                       'kind': 'extra' if k in adapted.extra else k.split('.')[0]} for k, v in init.items()],
        'init': f'{name}.init.safetensors',
        'init_values': {k: tensor_json(v) for k, v in init.items()},
        'probe_batch': 'the batch of step 1 (examples 0..7), right-padded to its longest example',
        'base_logits': tensor_json(base_logits),
        'adapter_parameter_counts': counts,
        'results': {
            'loss': losses,
            'lr': lrs,
            'events': events,
            'sfs_per_step': sfs_log,
            'final': f'{name}.final.safetensors',
            'final_structure': {'modules': [{'id': m.id, 'span': list(m.span), 'rank': m.rank, 'alpha': m.alpha, 'merged': m.merged,
                                             'A': adapted.factor_name(m, 'A'), 'B': adapted.factor_name(m, 'B')} for m in adapted.modules],
                                'share': [{'share': g.matrix, 'modules': [m.id for m in g.members]} for g in adapted.groups],
                                'lora': [{'id': s.id, 'block': s.block, 'role': s.role, 'rank': s.rank, 'alpha': s.alpha} for s in adapted.lora]},
            'optimizer_update_counts': opt.step_counts(adapted.named_parameters()),
            'final_sfs': final_sfs,
            'final_logits': tensor_json(final_logits_t),
            'final_loss_on_probe': f32(final_loss.item()),
            'grads0': f'{name}.grads0.safetensors',
            'grads_final': f'{name}.gradsfinal.safetensors',
            **({'points': f'{name}.points.safetensors'} if points else {}),
        },
    }
    with open(os.path.join(out, f'{name}.json'), 'w') as f:
        json.dump(record, f, indent=1, allow_nan=False)
        f.write('\n')
    print(f'{name}: loss {losses[0]:.6f} -> {losses[-1]:.6f}; ' + '; '.join(
        f'{e["type"]} at {e["step"]}: ' + (f'{e["pair"]} -> {e["merged"]}' if e['type'] == 'merge' else f'{e["removed"]} -> LoRA on block {e["block"]}') + f' (margin {e["relative_margin"]})'
        for e in events))
    return record


def initial_structure(sc):
    if 'lor2c' in sc:
        c = sc['lor2c']
        mods = [{'id': f'b{b}', 'span': [b, b], 'rank': c['rank'], 'alpha': c['alpha'], 'dropout': 0} for b in c['blocks']]
        share = share_of(sc)
        return {'lor2c': mods, 'share': ({'matrix': share[0], 'members': [f'b{b}' for b in share[1]],
                                          'names': [f'lor2c.shared0.{f}' for f in (['A', 'B'] if share[0] == 'both' else [share[0]])]} if share else None)}
    c = sc['lora']
    return {'lora': [{'id': f'b{b}.{role}', 'block': b, 'role': role, 'rank': c['rank'], 'alpha': c['alpha'], 'dropout': 0} for b in range(LAYERS) for role in c['roles']]}


def check_shared_gradient_sums(adapted, arch, batch, grads):
    """ShareLoR2C: a shared tensor's gradient is the sum of what each use would get from its own copy."""
    names = {k: v for k, v in adapted.named_parameters().items() if '.shared' in k}
    saved = [(m, f, getattr(m, f)) for m in adapted.modules for f in ('A', 'B') if '.shared' in adapted.factor_name(m, f)]
    copies = {}
    for m, f, p in saved:
        c = nn.Parameter(p.detach().clone())
        setattr(m, f, c)
        copies.setdefault(adapted_name(names, p), []).append(c)
    adapted.install()
    try:
        for p in adapted.model.parameters():
            p.grad = None
        loss_fn(arch, forward(adapted, arch, batch), batch).backward()
        for name, cs in copies.items():
            total = sum(c.grad for c in cs)
            assert torch.allclose(total, grads[name], rtol=1e-5, atol=1e-7), f'{name}: shared gradient is not the sum over its uses'
    finally:
        for m, f, p in saved:
            setattr(m, f, p)
        adapted.install()


def adapted_name(names, p):
    return next(k for k, v in names.items() if v is p)


def lor2c_count(adapted, d, r):
    """LoR2C adapter parameters by the structure: own factors of every module, plus one per shared factor of each group."""
    own = sum(1 for m in adapted.modules for f in ('A', 'B') if adapted.group_of(m, f) is None)
    shared = sum(len(g.factors()) for g in adapted.groups)
    return (own + shared) * d * r


def check_formulas():
    """docs/method.md's parameter counts for RoBERTa-base (d 768, 12 blocks, r 8)."""
    d, L, r = 768, 12, 8
    assert 2 * d * r * L == 147_456
    assert d * r + L * d * r == 79_872
    assert 2 * 2 * d * r * L == 294_912
    assert 2 * 2 * d * (r // 2) == 2 * d * r  # Inject is parameter-neutral for d x d projections


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'spec', 'fixtures', 'reference')
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)  # reproducible reductions from run to run
    check_formulas()
    models = build_models()
    onnx_files = export(models, out)
    data = {}
    for arch, rows, pads in (('bert', make_bert_data(48, 7), {'input_ids': 0, 'attention_mask': 0, 'label': None}),
                             ('gpt2', make_gpt2_data(48, 8), {'input_ids': 0, 'labels': -100})):
        path = os.path.join(out, f'{arch}-data.jsonl')
        write_jsonl(path, rows)
        data[arch] = (rows, pads, os.path.basename(path))
    records = [run_scenario(sc, models, onnx_files, data, out) for sc in SCENARIOS]
    # The safetensors files read back (format check of the hand-written writer).
    for r in records:
        back = read_safetensors(os.path.join(out, r['init']))
        for k, v in r['init_values'].items():
            assert np.array_equal(back[k].reshape(-1), np.array(v['values'], dtype=np.float32)), k
    total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print(f'fixtures: {len(os.listdir(out))} files, {total} bytes in {os.path.relpath(out, ROOT)}')


if __name__ == '__main__':
    main()
