"""Exports a tiny grouped-query-attention LM whose k/v heads are repeated with
torch.repeat_interleave, written the way hand-written GQA code sizes the heads
(`k.shape[-1] // head_dim`): torch's exporter cannot size that dim, so it writes
SplitToSequence + Loop + ConcatFromSequence. Also records a 12-step AdamW run of every
weight (full fine-tuning, mean cross-entropy of next-token logits over the batch) for
spec/compiler/passes/unroll-sequences.test.ts.

The heads are the LAST dim when repeated: torch 1.13 exports repeat_interleave over an
unsized dim with a Reshape that copies the wrong dims whenever dims follow the repeated one
(onnxruntime then refuses the torch export itself), so only a last-dim repeat is a model
both torch and onnxruntime compute.

Run: /usr/bin/python3 scripts/export-gqa-repeat-interleave.py (torch 1.13, onnx 1.12)
Writes spec/fixtures/sequences/gqa-opset{13,17}.onnx, gqa-data.jsonl and gqa-adamw.json.
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), '..', 'spec', 'fixtures', 'sequences')
D, HEADS, KV, VOCAB, T, B = 16, 4, 2, 11, 5, 2
STEPS, LR = 12, 1e-2


class GQA(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.hd = D // HEADS
        self.emb = torch.nn.Embedding(VOCAB, D)
        self.q = torch.nn.Linear(D, D, bias=False)
        self.k = torch.nn.Linear(D, KV * self.hd, bias=False)
        self.v = torch.nn.Linear(D, KV * self.hd, bias=False)
        self.o = torch.nn.Linear(D, D, bias=False)
        self.head = torch.nn.Linear(D, VOCAB)

    def forward(self, input_ids):
        x = self.emb(input_ids)
        b, t, _ = x.shape
        q = self.q(x).view(b, t, HEADS, self.hd).transpose(1, 2)
        k = self.k(x)
        k = k.view(b, t, self.hd, k.shape[-1] // self.hd)
        v = self.v(x)
        v = v.view(b, t, self.hd, v.shape[-1] // self.hd)
        k = torch.repeat_interleave(k, HEADS // KV, dim=3).permute(0, 3, 1, 2)
        v = torch.repeat_interleave(v, HEADS // KV, dim=3).permute(0, 3, 1, 2)
        a = torch.softmax(q @ k.transpose(-1, -2) / self.hd ** 0.5, dim=-1) @ v
        x = x + self.o(a.transpose(1, 2).reshape(b, t, D))
        return self.head(x)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    model = GQA()
    ids = torch.randint(0, VOCAB, (B, T))
    for opset in (13, 17):
        torch.onnx.export(model, (ids,), os.path.join(OUT, f'gqa-opset{opset}.onnx'), opset_version=opset,
                          input_names=['input_ids'], output_names=['logits'],
                          dynamic_axes={'input_ids': {0: 'batch', 1: 'seq'}})
    opt = torch.optim.AdamW(model.parameters(), lr=LR)
    losses = []
    for _ in range(STEPS):
        logits = model(ids)
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, VOCAB), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with open(os.path.join(OUT, 'gqa-data.jsonl'), 'w') as f:
        for row in ids.tolist():
            f.write(json.dumps({'input_ids': row, 'labels': row}) + '\n')
    json.dump({'input_ids': ids.tolist(), 'steps': STEPS, 'lr': LR, 'optimizer': 'AdamW defaults (betas 0.9/0.999, eps 1e-8, weight_decay 0.01)',
               'loss': losses}, open(os.path.join(OUT, 'gqa-adamw.json'), 'w'), indent=1)


if __name__ == '__main__':
    main()
