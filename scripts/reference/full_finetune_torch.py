#!/usr/bin/env python3
"""PyTorch reference for FULL fine-tuning (every weight trainable) of torch-exported models.

Issue 4 asks that, for models exported by PyTorch, the gradients and the loss over many AdamW
steps match PyTorch's autograd + torch.optim.AdamW to float32 precision. The adapter scenarios
(lor2c_torch.py, a-g) train adapters and a head only; these train every parameter of three
architectures, each exported at opsets 11, 14 and 17:

  h-bert-full   BERT-like classifier (post-LN, erf GELU, learned positions, padding mask, CLS
                pooler + tanh, 3 labels). Gradient clipping at global norm 1.0.
  i-gpt2-full   GPT-2-like LM (pre-LN, fused c_attn Conv1D, tanh GELU, head TIED to wte: one
                parameter used by the embedding Gather and by the head's MatMul). Gradient
                accumulation over 2 micro-batches.
  j-llama-full  LLaMA-style LM (RMSNorm, rotary embeddings, grouped-query attention, SwiGLU, no
                biases, untied head). Plain AdamW.

The module definitions are scripts/export-reference-models.py's (via lor2c_torch.py's BERT
classifier and GPT-2 LM), with 2 layers, d 32, 4 heads, ffn 64, vocabulary 50. Training is
torch.optim.AdamW itself over `model.parameters()` (buffers are not trained), with Hugging Face
Trainer's parameter groups (1-D tensors not decayed), get_linear_schedule_with_warmup's
multiplier, torch.nn.utils.clip_grad_norm_, and gradient accumulation the way Trainer does it
(each micro-batch's loss / N, backward, summed gradients).

Export: do_constant_folding=False, so every parameter keeps its torch name as its ONNX initializer
(with folding, torch stores each nn.Linear weight transposed as `onnx::MatMul_<n>` and the tied
GPT-2 head as a transposed COPY of wte beside wte itself, which would make the head and the
embedding two tensors; the script records that in each JSON's `export_notes`). So lor2c's --init
file is simply `model.state_dict()`'s parameters by name.

Writes spec/fixtures/reference/full/ (README.md there describes every file and convention).
Usage: /usr/bin/python3 scripts/reference/full_finetune_torch.py [OUT_DIR]
CI never runs it: its outputs are committed.
"""
import json
import os
import sys
import tempfile

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lor2c_torch as L  # noqa: E402  (helpers: data, collate, safetensors, schedule; module definitions)

ROOT = L.ROOT
ref = L.ref
# The module constructors read these globals: 2 layers and 16 positions (the data's longest example
# has 14 tokens) keep the fixtures small.
ref.LAYERS = 2
ref.MAX_POS = 16
assert ref.VOCAB == 50 and ref.D == 32
OPSETS = (11, 14, 17)
BATCH = 8
SEED = 42
OPT = {'kind': 'adamw', 'lr': 3e-3, 'betas': [0.9, 0.999], 'eps': 1e-8, 'weight_decay': 0.01}

SCENARIOS = [
    dict(name='h-bert-full', arch='bert', steps=16, warmup=3, clip=1.0, accumulate=1,
         about='full fine-tuning of the BERT-like classifier; gradient clipping at global norm 1.0'),
    dict(name='i-gpt2-full', arch='gpt2', steps=12, warmup=2, clip=None, accumulate=2,
         about='full fine-tuning of the GPT-2-like LM with its tied head (one tensor); gradient accumulation 2'),
    dict(name='j-llama-full', arch='llama', steps=16, warmup=2, clip=None, accumulate=1,
         about='full fine-tuning of the LLaMA-style LM (RMSNorm, rotary, GQA, SwiGLU); rotary tables and causal mask are buffers'),
]


def build(arch):
    torch.manual_seed(0)
    model = {'bert': L.BertClassifier, 'gpt2': L.Gpt2Lm, 'llama': ref.Llama}[arch]().eval()
    ref.randomize(model)
    return model


def inputs_of(arch):
    return ['input_ids', 'attention_mask'] if arch == 'bert' else ['input_ids']


def export(model, arch, path, opset, fold=False):
    names = inputs_of(arch)
    g = torch.Generator().manual_seed(5)
    args = tuple(torch.randint(1, ref.VOCAB, (2, 8), generator=g) if n == 'input_ids' else torch.ones(2, 8, dtype=torch.int64) for n in names)
    torch.onnx.export(model, args, path, opset_version=opset, input_names=names, output_names=['logits'],
                      dynamic_axes={n: {0: 'batch', 1: 'seq'} for n in names}, do_constant_folding=fold, export_params=True)


def check_export(model, path):
    """Every parameter is an initializer of its own name with its own values; the rest are buffers."""
    proto = onnx.load(path)
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    params = dict(model.named_parameters())
    for name, p in params.items():
        assert name in inits, f'{path}: parameter {name} is not an initializer'
        assert np.array_equal(inits[name], p.detach().numpy()), f'{path}: {name} differs'
    buffers = dict(model.named_buffers())
    others = sorted(n for n in inits if n not in params)
    for n in others:
        assert n in buffers, f'{path}: initializer {n} is neither a parameter nor a buffer'
    uses = {n: sum(n in node.input for node in proto.graph.node) for n in params}
    return others, uses


def folded_notes(model, arch, opset):
    """What constant folding would have done: parameters missing under their names, copies added."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'folded.onnx')
        export(model, arch, path, opset, fold=True)
        inits = {t.name: onnx.numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}
    params = {n: p.detach().numpy() for n, p in model.named_parameters()}
    missing = sorted(n for n in params if n not in inits)
    added = []
    for n, v in inits.items():
        if n in params or n in dict(model.named_buffers()):
            continue
        of = next((pn for pn, pv in params.items() if pv.ndim == 2 and pv.T.shape == v.shape and np.array_equal(pv.T, v)), None)
        added.append({'name': n, 'shape': list(v.shape), 'transposed_copy_of': of, 'original_also_kept': of in inits if of else None})
    return {'do_constant_folding': True, 'parameters_missing_under_their_names': len(missing), 'initializers_added': added}


def zero_gradient_elements(arch, params):
    """Elements whose gradient is exactly zero in exact arithmetic: attention KEY biases. Softmax is
    invariant to a constant added to one query's scores, and q . (k_j + b) = q . k_j + q . b adds the
    same q . b to every key j, so d loss / d b = 0. Both frameworks compute it as rounding noise
    (about 1e-11 here), and AdamW divides that by sqrt(v) + eps with eps = 1e-8 >> |g|: each update
    moves these elements by up to lr * |m| / eps in a direction the noise sets. Their trajectories
    cannot agree to float32 precision; the test bounds them instead (README.md)."""
    out = []
    for n, p in params.items():
        if arch == 'bert' and n.endswith('attention.self.key.bias'):
            out.append({'name': n, 'start': 0, 'end': p.numel()})
        if arch == 'gpt2' and n.endswith('attn.c_attn.bias'):  # fused [q | k | v] bias: the k third
            out.append({'name': n, 'start': ref.D, 'end': 2 * ref.D})
    return out


def forward(model, arch, batch):
    if arch == 'bert':
        return model(batch['input_ids'], batch['attention_mask'])
    return model(batch['input_ids'])


def loss_of(arch, logits, batch):
    return L.loss_fn('bert' if arch == 'bert' else 'lm', logits, batch)


def spec_text(sc, onnx_file):
    task = 'classify(logits "logits", labels "label")' if sc['arch'] == 'bert' else 'lm(logits "logits", labels "labels", ignore_index -100, shift true)'
    o = OPT
    lines = [f'# Reference scenario {sc["name"]}: {sc["about"]}.', '# Made by scripts/reference/full_finetune_torch.py; see README.md beside it.',
             f'model "{onnx_file}"', 'blocks auto', '', 'train {', f'  task {task}', '  trainable "*"',
             f'  optimizer adamw(lr {o["lr"]!r}, betas [{o["betas"][0]!r}, {o["betas"][1]!r}], eps {o["eps"]!r}, weight_decay {o["weight_decay"]!r})',
             f'  schedule linear(warmup {sc["warmup"]} steps)']
    if sc['clip'] is not None:
        lines.append(f'  clip {sc["clip"]!r}')
    lines.append(f'  batch {BATCH}')
    if sc['accumulate'] > 1:
        lines.append(f'  accumulate {sc["accumulate"]}')
    lines += [f'  steps {sc["steps"]}', f'  seed {SEED}', '  precision fp32', '}', '', 'target cpu', '']
    return '\n'.join(lines)


def run_scenario(sc, out, data):
    arch, name = sc['arch'], sc['name']
    model = build(arch)
    files, buffers, uses = [], None, None
    for opset in OPSETS:
        f = f'{arch}-opset{opset}.onnx'
        export(model, arch, os.path.join(out, f), opset)
        b, u = check_export(model, os.path.join(out, f))
        assert buffers is None or b == buffers
        buffers, uses = b, u
        files.append(f)
        print(f'exported {f} ({os.path.getsize(os.path.join(out, f))} bytes)')
    notes = folded_notes(model, arch, OPSETS[-1])
    if arch == 'gpt2':
        # The tie: one torch parameter, one initializer read by two nodes (Gather and the head's Transpose).
        assert model.transformer.wte.weight is dict(model.named_parameters())['transformer.wte.weight']
        assert uses['transformer.wte.weight'] == 2, uses['transformer.wte.weight']
        assert any(a['transposed_copy_of'] == 'transformer.wte.weight' and a['original_also_kept'] for a in notes['initializers_added'])

    rows, pads, data_file = data['bert' if arch == 'bert' else 'lm']
    n_batches = len(rows) // BATCH
    batches = [L.collate(rows[i * BATCH:(i + 1) * BATCH], pads) for i in range(n_batches)]

    params = dict(model.named_parameters())
    for p in params.values():
        p.requires_grad_(True)
    groups = [{'params': [p], 'weight_decay': OPT['weight_decay'] if p.dim() > 1 else 0.0, 'name': n} for n, p in params.items()]
    opt = torch.optim.AdamW(groups, lr=OPT['lr'], betas=tuple(OPT['betas']), eps=OPT['eps'], weight_decay=OPT['weight_decay'], foreach=False)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: L.linear_schedule(t, sc['warmup'], sc['steps']))
    init = {n: p.detach().clone() for n, p in params.items()}
    with torch.no_grad():
        base_logits = forward(model, arch, batches[0])

    losses, lrs, norms, coefs = [], [], [], []
    noise = zero_gradient_elements(arch, params)
    noise_max = 0.0
    grads0 = None
    micro = 0
    for step in range(1, sc['steps'] + 1):
        lrs.append(opt.param_groups[0]['lr'])  # the float torch uses for this update (lr_scale 1)
        opt.zero_grad(set_to_none=True)
        step_loss = 0.0
        for _ in range(sc['accumulate']):
            batch = batches[micro % n_batches]
            micro += 1
            loss = loss_of(arch, forward(model, arch, batch), batch)
            (loss / sc['accumulate']).backward()
            step_loss += loss.item()
        if sc['clip'] is not None:
            total = torch.nn.utils.clip_grad_norm_(list(params.values()), sc['clip'])
            norms.append(L.f32(total.item()))
            coefs.append(min(1.0, sc['clip'] / (total.item() + 1e-6)))
        for z in noise:
            noise_max = max(noise_max, params[z['name']].grad.detach().reshape(-1)[z['start']:z['end']].abs().max().item())
        if step == 1:
            # The gradient the first update consumes: mean over micro-batches, after clipping.
            grads0 = {n: p.grad.detach().clone() for n, p in params.items()}
        opt.step()
        sched.step()
        losses.append(L.f32(step_loss / sc['accumulate']))

    final = {n: p.detach().clone() for n, p in params.items()}
    with torch.no_grad():
        final_logits = forward(model, arch, batches[0])
    L.write_safetensors(os.path.join(out, f'{name}.init.safetensors'), init, {'scenario': name})
    L.write_safetensors(os.path.join(out, f'{name}.final.safetensors'), final, {'scenario': name, 'steps': sc['steps']})
    L.write_safetensors(os.path.join(out, f'{name}.grads0.safetensors'), grads0, {'scenario': name, 'at': 'initial values; the gradient update 1 consumed'})
    with open(os.path.join(out, f'{name}.lor2c'), 'w') as f:
        f.write(spec_text(sc, files[-1]))
    record = {
        'scenario': name,
        'about': sc['about'],
        'models': files,
        'spec': f'{name}.lor2c',
        'data': data_file,
        'task': ({'kind': 'classify', 'logits': 'logits', 'labels': 'label'} if arch == 'bert'
                 else {'kind': 'lm', 'logits': 'logits', 'labels': 'labels', 'ignore_index': -100, 'shift': True}),
        'settings': {
            'optimizer': OPT, 'schedule': {'kind': 'linear', 'warmup_steps': sc['warmup'], 'total_steps': sc['steps']},
            'clip': sc['clip'], 'accumulate': sc['accumulate'], 'batch_size': BATCH, 'shuffle': False, 'drop_last': True,
            'batches': f'update k uses micro-batches (k-1)*{sc["accumulate"]} .. k*{sc["accumulate"]}-1, micro-batch j = examples [(j mod {n_batches}) * {BATCH}, +{BATCH})',
            'steps': sc['steps'], 'seed': SEED,
            'weight_decay_applies_to': 'every parameter of 2 or more dimensions (embeddings included); 1-D parameters (biases, norm scales) are not decayed',
        },
        'trainable': [{'name': n, 'shape': list(p.shape)} for n, p in params.items()],
        'parameter_count': sum(p.numel() for p in params.values()),
        'buffers': buffers,
        'initializer_uses': uses,
        'export_notes': {'exported_with': 'do_constant_folding=False: every parameter is the initializer of its own torch name',
                         'with_folding': notes},
        'init': f'{name}.init.safetensors',
        # Logits of the first example of the probe batch (the batch of update 1), before and after.
        'probe_logits': {'example': 0, 'base': L.tensor_json(base_logits[0]), 'final': L.tensor_json(final_logits[0])},
        'results': {
            'loss': losses,
            'lr': lrs,
            **({'grad_norm': norms, 'clip_coef': coefs} if sc['clip'] is not None else {}),
            'final': f'{name}.final.safetensors',
            'grads0': f'{name}.grads0.safetensors',
            # Key-bias elements (zero_gradient_elements): torch's largest |gradient| of them over the run,
            # and the bound the test holds them to: sum_k lr_k * 0.1, Adam's largest total move when
            # |g| <= eps / 10 at every update.
            'zero_gradient': {'elements': noise, 'torch_max_abs_grad': noise_max, 'bound': 0.1 * sum(lrs)},
        },
    }
    with open(os.path.join(out, f'{name}.json'), 'w') as f:
        json.dump(record, f, indent=1, allow_nan=False)
        f.write('\n')
    assert noise_max < 1e-9, f'{name}: key-bias gradients reached {noise_max}'
    clipped = sum(c < 1 for c in coefs)
    print(f'{name}: {record["parameter_count"]} parameters, loss {losses[0]:.6f} -> {losses[-1]:.6f}'
          + (f'; grad norm {norms[0]:.3f} .. {norms[-1]:.3f}, clipped at {clipped} of {len(coefs)} updates' if coefs else ''))
    return record


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'spec', 'fixtures', 'reference', 'full')
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    parent = os.path.join(ROOT, 'spec', 'fixtures', 'reference')
    # The adapter scenarios' data files (same generator, same seeds): rewritten identically here so
    # this folder stands on its own.
    data = {}
    for kind, rows, pads in (('bert', L.make_bert_data(48, 7), {'input_ids': 0, 'attention_mask': 0, 'label': None}),
                             ('lm', L.make_gpt2_data(48, 8), {'input_ids': 0, 'labels': -100})):
        fname = f'{"bert" if kind == "bert" else "lm"}-data.jsonl'
        L.write_jsonl(os.path.join(out, fname), rows)
        data[kind] = (rows, pads, fname)
    with open(os.path.join(parent, 'bert-data.jsonl')) as a, open(os.path.join(out, 'bert-data.jsonl')) as b:
        assert a.read() == b.read(), 'the BERT data differs from the adapter scenarios\''
    for sc in SCENARIOS:
        run_scenario(sc, out, data)
    total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print(f'fixtures: {len(os.listdir(out))} files, {total} bytes in {os.path.relpath(out, ROOT)}')


if __name__ == '__main__':
    main()
