"""Reference values for test/optim/*.test.ts, produced by PyTorch 1.13 in float64.

Regenerate the fixture from the repository root with Debian's Python (the one that has torch):
    /usr/bin/python3 test/optim/reference.py > test/optim/fixtures.json

The problem must stay in step with problem() in test/optim/helpers.ts:
    loss = mean((tanh(x @ W + b) - y) ** 2) + 0.05 * sum(W ** 4)
"""
import json
import warnings

import torch

warnings.filterwarnings("ignore")
torch.set_default_dtype(torch.float64)

X = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [-0.75, 1.0, 0.3], [0.2, -0.4, 1.1]]
Y = [[0.1, -0.2], [0.3, 0.5], [-0.6, 0.05], [0.4, -0.1]]
W0 = [[0.3, -0.2], [0.1, 0.4], [-0.5, 0.25]]
B0 = [0.05, -0.1]
STEPS = 5


def params():
    w = torch.tensor(W0, requires_grad=True)
    b = torch.tensor(B0, requires_grad=True)
    return w, b


def loss_of(w, b):
    x, y = torch.tensor(X), torch.tensor(Y)
    return ((torch.tanh(x @ w + b) - y) ** 2).mean() + 0.05 * (w ** 4).sum()


def flat(t):
    return t.detach().reshape(-1).tolist()


def run(make, steps=STEPS):
    """Returns [W, b] (flattened) after each step."""
    w, b = params()
    opt = make(w, b)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss_of(w, b).backward()
        opt.step()
        out.append([flat(w), flat(b)])
    return out


O = torch.optim
optimizers = {
    "sgd_plain": lambda w, b: O.SGD([w, b], lr=0.1),
    "sgd_momentum": lambda w, b: O.SGD([w, b], lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
    "sgd_nesterov": lambda w, b: O.SGD([w, b], lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.001),
    "sgd_maximize": lambda w, b: O.SGD([w, b], lr=0.01, momentum=0.5, maximize=True),
    "sgd_groups": lambda w, b: O.SGD([{"params": [w], "momentum": 0.9}, {"params": [b], "lr": 0.01}], lr=0.1),
    "adam": lambda w, b: O.Adam([w, b], lr=0.01),
    "adam_wd_amsgrad": lambda w, b: O.Adam([w, b], lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1, amsgrad=True),
    "adam_maximize": lambda w, b: O.Adam([w, b], lr=0.01, maximize=True),
    "adam_groups": lambda w, b: O.Adam([{"params": [w]}, {"params": [b], "lr": 0.05, "betas": (0.5, 0.9)}], lr=0.01),
    "adamw": lambda w, b: O.AdamW([w, b], lr=0.01, weight_decay=0.1),
    "adamw_amsgrad": lambda w, b: O.AdamW([w, b], lr=0.03, weight_decay=0.5, amsgrad=True),
}


def lrs(make, steps):
    """get_last_lr() after construction and after each step, for two groups with lr 0.1 and 0.02."""
    w, b = params()
    opt = O.SGD([{"params": [w]}, {"params": [b], "lr": 0.02}], lr=0.1)
    sched = make(opt)
    out = [sched.get_last_lr()]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append(sched.get_last_lr())
    return out


S = O.lr_scheduler
schedules = {
    "step": lambda o: S.StepLR(o, step_size=3, gamma=0.5),
    "cosine": lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=0.001),
    "warmup": lambda o: S.LinearLR(o, start_factor=0.25, total_iters=4),
    "warmup_cosine": lambda o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.25, total_iters=4), S.CosineAnnealingLR(o, T_max=6, eta_min=0.001)], [4]),
    "warmup_step": lambda o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.5, total_iters=3), S.StepLR(o, step_size=2, gamma=0.5)], [3]),
}

G1 = [[0.3, -1.2, 0.5], [2.0, -0.1, 0.7]]
G2 = [-0.4, 0.9, 1.5, -2.2]


def clip(max_norm, norm_type):
    p1, p2 = torch.zeros(2, 3, requires_grad=True), torch.zeros(4, requires_grad=True)
    p1.grad, p2.grad = torch.tensor(G1), torch.tensor(G2)
    total = torch.nn.utils.clip_grad_norm_([p1, p2], max_norm, norm_type)
    # JSON has no Infinity: the inf-norm travels as the string "inf".
    kind = "inf" if norm_type == float("inf") else norm_type
    return {"maxNorm": max_norm, "normType": kind, "total": total.item(), "grads": [flat(p1.grad), flat(p2.grad)]}


def clip_value(v):
    p1, p2 = torch.zeros(2, 3, requires_grad=True), torch.zeros(4, requires_grad=True)
    p1.grad, p2.grad = torch.tensor(G1), torch.tensor(G2)
    torch.nn.utils.clip_grad_value_([p1, p2], v)
    return {"clip": v, "grads": [flat(p1.grad), flat(p2.grad)]}


def dump(obj, depth=0):
    """The top level and its children one per line, deeper values compact: a short, diffable fixture."""
    if isinstance(obj, dict) and depth < 2:
        pad = "  " * (depth + 1)
        items = [pad + json.dumps(k) + ": " + dump(v, depth + 1) for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


print(dump({
    "generator": "/usr/bin/python3 test/optim/reference.py > test/optim/fixtures.json",
    "torch": torch.__version__,
    "problem": {"x": X, "y": Y, "w0": W0, "b0": B0},
    "optimizers": {k: run(v) for k, v in optimizers.items()},
    "schedules": {
        "step": lrs(schedules["step"], 12),
        "cosine": lrs(schedules["cosine"], 15),
        "warmup": lrs(schedules["warmup"], 8),
        "warmup_cosine": lrs(schedules["warmup_cosine"], 16),
        "warmup_step": lrs(schedules["warmup_step"], 10),
    },
    "clip": {
        "grads": [G1, G2],
        "norm": [clip(1.0, 2.0), clip(0.5, 1.0), clip(0.8, float("inf")), clip(3.0, 3.0), clip(100.0, 2.0)],
        "value": [clip_value(0.3), clip_value(1.0)],
    },
}))
