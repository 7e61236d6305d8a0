#!/usr/bin/env python3
"""PyTorch's figures for the step lor2c's benchmarks time: LoR2C on a frozen base, one adapter
per block (h_out += (alpha/r) Dropout(h_in) A^T B^T), AdamW on the adapters only.

The models are the hand-written BERT-like (post-LN), GPT-2-like and LLaMA-like modules of
scripts/export-reference-models.py, at the sizes asked. Prints the median step time (after
--warmup steps, default 2), tokens/s and the process's peak RSS, one line each, for bench
scripts to parse:

  /usr/bin/python3 bench/torch-step.py --arch bert --layers 12 --d 768 --heads 12 --ffn 3072 \\
      --vocab 30522 --batch 8 --seq 128 --steps 5 --rank 8 --threads 2
  /usr/bin/python3 bench/torch-step.py --arch llama --layers 22 --d 2048 --heads 32 --kv-heads 4 \\
      --ffn 5632 --vocab 32000 --batch 1 --seq 512 --steps 3

Needs Debian's python3-torch and libopenblas0-pthread (without OpenBLAS torch uses the
reference BLAS and is 20x slower). `--full` trains every weight of the base instead.
"""
import argparse
import importlib.util
import os
import resource
import statistics
import time

import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument('--arch', choices=['bert', 'gpt2', 'llama'], default='bert')
for name, default in [('layers', 12), ('d', 768), ('heads', 12), ('kv-heads', 4), ('ffn', 3072), ('vocab', 30522), ('batch', 8), ('seq', 128), ('steps', 5), ('warmup', 2), ('rank', 8), ('threads', 2)]:
    p.add_argument(f'--{name}', type=int, default=default)
p.add_argument('--full', action='store_true', help='full fine-tuning: every base weight trained')
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('models', os.path.join(here, '..', 'scripts', 'export-reference-models.py'))
models = importlib.util.module_from_spec(spec)
spec.loader.exec_module(models)
models.D, models.LAYERS, models.HEADS, models.FFN, models.VOCAB, models.MAX_POS = args.d, args.layers, args.heads, args.ffn, args.vocab, max(args.seq, 128)
models.LlamaAttention.KV_HEADS = args.kv_heads

model = {'bert': models.Bert, 'gpt2': models.Gpt2, 'llama': models.Llama}[args.arch]()
blocks = {'bert': lambda: model.encoder.layer, 'gpt2': lambda: model.transformer.h, 'llama': lambda: model.model.layers}[args.arch]()
for w in model.parameters():
    w.requires_grad_(args.full)

adapters = []
if not args.full:
    scale = 2.0  # alpha / r with alpha = 2r, as the lor2c benchmarks' specs
    for block in blocks:
        A = torch.nn.Parameter(torch.randn(args.rank, args.d) / args.d ** 0.5)
        B = torch.nn.Parameter(torch.zeros(args.d, args.rank))
        adapters += [A, B]
        kept = {}
        block.register_forward_pre_hook(lambda mod, inputs, kept=kept: kept.__setitem__('h', inputs[0]))
        block.register_forward_hook(lambda mod, inputs, out, kept=kept, A=A, B=B: out + scale * F.linear(F.linear(F.dropout(kept['h'], 0.1, True), A), B))
params = list(model.parameters()) if args.full else adapters
opt = torch.optim.AdamW(params, lr=1e-4)

ids = torch.randint(0, args.vocab, (args.batch, args.seq))
mask = torch.ones(args.batch, args.seq, dtype=torch.long)
labels = torch.randint(0, 2, (args.batch,))


def step():
    if args.arch == 'bert':
        loss = F.cross_entropy(model(ids, mask), labels)
    else:
        logits = model(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, args.vocab), ids[:, 1:].reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


times = []
for i in range(args.steps + args.warmup):
    t0 = time.perf_counter()
    step()
    if i >= args.warmup:
        times.append(time.perf_counter() - t0)
median = statistics.median(times)
print(f'torch step {median:.4f} s')
print(f'torch tokens/s {args.batch * args.seq / median:.0f}')
print(f'torch peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024} B')
