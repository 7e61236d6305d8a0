#!/usr/bin/python3
"""Reference values for lor2c's in-graph optimizers, LR schedules and clipping.

Runs a tiny classifier (Linear -> tanh -> Linear, cross-entropy) for a few steps with
torch.optim.AdamW / torch.optim.SGD, torch.optim.lr_scheduler.LambdaLR with Hugging Face's
schedule formulas, torch.nn.utils.clip_grad_norm_ and gradient accumulation, and writes
every input and result to optimizers.json. Run with Debian's torch 1.13:

    /usr/bin/python3 scripts/reference/optimizers.py

CI does not run this: the JSON is committed and spec/compiler/train/optimizers.test.ts reads it.
"""
import json
import math
import os

import numpy as np
import torch

torch.set_num_threads(1)


# Hugging Face transformers.optimization schedule lambdas (same formulas).
def linear(warmup, total):
    def f(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        return max(0.0, float(total - step) / float(max(1, total - warmup)))
    return f


def cosine(warmup, total, cycles=0.5):
    def f(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        progress = float(step - warmup) / float(max(1, total - warmup))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(cycles) * 2.0 * progress)))
    return f


def constant_with_warmup(warmup):
    def f(step):
        if step < warmup:
            return float(step) / float(max(1.0, warmup))
        return 1.0
    return f


def schedule_fn(spec):
    kind = spec["kind"]
    if kind == "constant":
        return lambda step: 1.0
    if kind == "linear":
        return linear(spec["warmupSteps"], spec["totalSteps"])
    if kind == "cosine":
        return cosine(spec["warmupSteps"], spec["totalSteps"])
    return constant_with_warmup(spec["warmupSteps"])


rng = np.random.default_rng(1234)
IN, HID, OUT, BATCH = 4, 5, 3, 6


def tensor(*shape):
    return rng.standard_normal(shape).astype(np.float32)


initial = {"w1": tensor(HID, IN), "b1": tensor(HID) * 0.1, "w2": tensor(OUT, HID), "b2": tensor(OUT) * 0.1}
batches = [{"x": tensor(BATCH, IN), "labels": rng.integers(0, OUT, BATCH).tolist()} for _ in range(8)]


def run(scenario):
    params = {k: torch.nn.Parameter(torch.tensor(v)) for k, v in initial.items()}
    groups = []
    for g in scenario["groups"]:
        group = {"params": [params[n] for n in g["params"]], "lr": scenario["optimizer"]["lr"] * g.get("lrScale", 1.0)}
        if "weightDecay" in g:
            group["weight_decay"] = g["weightDecay"]
        groups.append(group)
    o = scenario["optimizer"]
    if o["kind"] == "adamw":
        opt = torch.optim.AdamW(groups, lr=o["lr"], betas=tuple(o.get("betas", (0.9, 0.999))), eps=o.get("eps", 1e-8), weight_decay=o.get("weightDecay", 0.01))
    else:
        opt = torch.optim.SGD(groups, lr=o["lr"], momentum=o.get("momentum", 0), dampening=o.get("dampening", 0), nesterov=o.get("nesterov", False), weight_decay=o.get("weightDecay", 0))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule_fn(scenario["schedule"]))
    accumulation = scenario.get("accumulationSteps", 1)
    steps = []
    micro = 0
    for step in range(scenario["steps"]):
        losses = []
        for _ in range(accumulation):
            b = batches[micro % len(batches)]
            micro += 1
            x = torch.tensor(b["x"])
            h = torch.tanh(x @ params["w1"].T + params["b1"])
            logits = h @ params["w2"].T + params["b2"]
            loss = torch.nn.functional.cross_entropy(logits, torch.tensor(b["labels"]))
            losses.append(loss.item())
            (loss / accumulation).backward()
        record = {"losses": losses, "lr": opt.param_groups[0]["lr"]}
        if "maxGradNorm" in scenario:
            record["gradNorm"] = torch.nn.utils.clip_grad_norm_(list(params.values()), scenario["maxGradNorm"]).item()
        opt.step()
        sched.step()
        opt.zero_grad()
        record["params"] = {k: p.detach().numpy().reshape(-1).tolist() for k, p in params.items()}
        steps.append(record)
    return steps


all_params = ["w1", "b1", "w2", "b2"]
scenarios = [
    {
        "name": "adamw, linear warmup, clipping, head at lr/2, no decay on biases",
        "optimizer": {"kind": "adamw", "lr": 0.05, "betas": [0.9, 0.98], "eps": 1e-6, "weightDecay": 0.1},
        "schedule": {"kind": "linear", "warmupSteps": 2, "totalSteps": 10},
        "maxGradNorm": 0.5,
        "groups": [{"params": ["w1"]}, {"params": ["b1"], "weightDecay": 0.0}, {"params": ["w2"], "lrScale": 0.5}, {"params": ["b2"], "lrScale": 0.5, "weightDecay": 0.0}],
        "steps": 6,
    },
    {
        "name": "adamw defaults, cosine schedule, gradient accumulation 3",
        "optimizer": {"kind": "adamw", "lr": 0.02},
        "schedule": {"kind": "cosine", "warmupSteps": 1, "totalSteps": 5},
        "accumulationSteps": 3,
        "groups": [{"params": all_params}],
        "steps": 4,
    },
    {
        "name": "sgd nesterov momentum, weight decay, constant with warmup",
        "optimizer": {"kind": "sgd", "lr": 0.2, "momentum": 0.9, "nesterov": True, "weightDecay": 0.01},
        "schedule": {"kind": "constant_with_warmup", "warmupSteps": 2},
        "groups": [{"params": all_params}],
        "steps": 5,
    },
    {
        "name": "sgd momentum with dampening, constant",
        "optimizer": {"kind": "sgd", "lr": 0.1, "momentum": 0.8, "dampening": 0.3},
        "schedule": {"kind": "constant"},
        "groups": [{"params": all_params}],
        "steps": 4,
    },
    {
        "name": "plain sgd",
        "optimizer": {"kind": "sgd", "lr": 0.3},
        "schedule": {"kind": "constant"},
        "groups": [{"params": all_params}],
        "steps": 3,
    },
]
for s in scenarios:
    s["expected"] = run(s)

schedules = []
for spec in [{"kind": "linear", "warmupSteps": 3, "totalSteps": 10}, {"kind": "linear", "warmupSteps": 0, "totalSteps": 7},
             {"kind": "cosine", "warmupSteps": 2, "totalSteps": 9}, {"kind": "cosine", "warmupSteps": 0, "totalSteps": 4},
             {"kind": "constant_with_warmup", "warmupSteps": 4}, {"kind": "constant"}]:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule_fn(spec))
    lrs = []
    for _ in range(12):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    schedules.append({"spec": spec, "baseLr": 0.5, "lrs": lrs})

out = {
    "generator": "scripts/reference/optimizers.py (torch %s)" % torch.__version__,
    "model": "logits = tanh(x @ w1.T + b1) @ w2.T + b2; loss = cross_entropy(logits, labels)",
    "initial": {k: {"dims": list(v.shape), "data": v.reshape(-1).tolist()} for k, v in initial.items()},
    "batches": [{"x": b["x"].reshape(-1).tolist(), "dims": [BATCH, IN], "labels": b["labels"]} for b in batches],
    "scenarios": scenarios,
    "schedules": schedules,
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optimizers.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", path)
