"""PyTorch side of bench/bptt.mjs: one BPTT training step of the conv SNN as the per-step loop a PyTorch user writes.

Network (T = 8, direct encoding: the same image at every step): conv64-BN-LIF, conv64-BN-LIF, avg-pool 2,
conv128-BN-LIF, avg-pool 2, FC 10; loss = cross-entropy of the FC outputs averaged over T; SGD, momentum 0.9.
LIF: u = 0.5 v + x, s = H(u - 1) (arctangent surrogate, alpha 2), v = u - s (soft reset), v starts at 0.
`for t in range(T)` runs every layer on step t; each BatchNorm2d therefore normalizes over the N images of the step
(what a plain loop does; SpikingJelly's multi-step mode folds T into the batch instead). conv1 + bn1 run once before the
loop, since their input and so their output is the same at every step (--per-step-conv1: at every step, as until
2026-12-03; snnkit's SpikingClassifier runs its first conv once per image too).

--impl plain:  the LIF step as tensor ops and a surrogate spike autograd.Function (snnTorch, SpikingJelly's torch
               backend).
--impl script: the whole LIF step as one autograd.Function whose forward and backward are TorchScript functions with
               in-place ops, saving only u - 1 (the CPU fuser is switched on where this PyTorch has it: then each
               direction is one loop over memory). The fastest PyTorch neuron we know of without writing C++.

--mode time:    median wall time of a step after warm-up steps.
--mode mem:     RSS growth of one step: 'cold' = growth of the process's peak RSS over the first step (model, optimizer
                and batch already allocated), 'warm' = after a warm-up step, freed memory trimmed (malloc_trim), the
                peak-RSS mark reset (/proc/self/clear_refs), then the growth of the peak over one more step.
--mode profile: forward / backward / optimizer time, and the autograd profiler's table per op.
Prints one JSON object as its last line.
"""
import argparse, ctypes, gc, json, math, re, resource, time
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument('--impl', choices=['plain', 'script'], required=True)
p.add_argument('--mode', choices=['time', 'mem', 'profile'], default='time')
p.add_argument('--threads', type=int, required=True)
p.add_argument('--iters', type=int, default=5)
p.add_argument('--warmup', type=int, default=2)
p.add_argument('--T', type=int, default=8)
p.add_argument('--batch', type=int, default=64)
p.add_argument('--per-step-conv1', action='store_true', help='run conv1 and bn1 at every step (the runs before 2026-12-03)')
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
ALPHA, VTH, SG_ALPHA = 0.5, 1.0, 2.0


class SpikeAtan(torch.autograd.Function):
    """H(x) forward, arctangent surrogate backward: (a/2) / (1 + (pi/2 a x)^2), as SpikingJelly's surrogate.ATan."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (SG_ALPHA / 2) / (1 + (math.pi / 2 * SG_ALPHA * x) ** 2)


def lif_plain(x, v):
    u = x if v is None else ALPHA * v + x
    s = SpikeAtan.apply(u - VTH)
    return s, u - s * VTH


@torch.jit.script
def _lif_fwd(x: torch.Tensor, v: torch.Tensor, alpha: float, vth: float):
    h = torch.add(x, v, alpha=alpha).sub_(vth)  # u - V_th
    s = (h >= 0).to(x.dtype)
    return s, torch.add(h, s, alpha=-vth).add_(vth), h


@torch.jit.script
def _lif_bwd(gs: torch.Tensor, gv: torch.Tensor, h: torch.Tensor, alpha: float, vth: float, a: float):
    sg = (h * h).mul_((math.pi / 2 * a) ** 2).add_(1).reciprocal_().mul_(a / 2)  # the surrogate at u - V_th
    gu = torch.add(gs, gv, alpha=-vth).mul_(sg).add_(gv)  # gs * sg + gv * (1 - V_th * sg)
    return gu, gu * alpha


class LIFStep(torch.autograd.Function):
    """One fused LIF step: (x, v) -> (s, v'), saving only h = u - V_th; both directions are fused TorchScript."""
    @staticmethod
    def forward(ctx, x, v):
        s, v2, h = _lif_fwd(x, v, ALPHA, VTH)
        ctx.save_for_backward(h)
        return s, v2

    @staticmethod
    def backward(ctx, gs, gv):
        (h,) = ctx.saved_tensors
        if gv is None:
            gv = torch.zeros_like(h)
        return _lif_bwd(gs, gv, h, ALPHA, VTH, SG_ALPHA)


def lif_script(x, v):
    return LIFStep.apply(x, torch.zeros_like(x) if v is None else v)


# TorchScript's CPU fusion (NNC) is off by default and needs a PyTorch built with LLVM (Debian's python3-torch is not).
FUSED = a.impl == 'script' and torch._C._llvm_enabled()
if FUSED:
    torch._C._jit_override_can_fuse_on_cpu(True)
lif = lif_plain if a.impl == 'plain' else lif_script


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64)
        self.conv2, self.bn2 = nn.Conv2d(64, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64)
        self.conv3, self.bn3 = nn.Conv2d(64, 128, 3, padding=1, bias=False), nn.BatchNorm2d(128)
        self.fc = nn.Linear(128 * 8 * 8, 10)

    def forward(self, x):
        v1 = v2 = v3 = None
        out = 0
        # The input is the same at every step, and so are conv1's output and its batch norm (over the N images of a
        # step): a competent user computes them once, as SpikingJelly's first tutorials did ('static_conv').
        c1 = None if a.per_step_conv1 else self.bn1(self.conv1(x))
        for _ in range(a.T):
            s, v1 = lif(self.bn1(self.conv1(x)) if c1 is None else c1, v1)
            s, v2 = lif(self.bn2(self.conv2(s)), v2)
            s, v3 = lif(self.bn3(self.conv3(F.avg_pool2d(s, 2))), v3)
            out = out + self.fc(F.avg_pool2d(s, 2).flatten(1))
        return out / a.T


net = Net()
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
x = torch.randn(a.batch, 3, 32, 32)
y = torch.randint(0, 10, (a.batch,))
times = {'fwd': [], 'bwd': [], 'opt': []}


def step():
    t0 = time.perf_counter()
    loss = F.cross_entropy(net(x), y)
    t1 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    t2 = time.perf_counter()
    opt.step()
    t3 = time.perf_counter()
    for k, d in (('fwd', t1 - t0), ('bwd', t2 - t1), ('opt', t3 - t2)):
        times[k].append(d * 1000)
    return loss.item()


def status_kb(field):
    return int(re.search(rf'{field}:\s+(\d+) kB', open('/proc/self/status').read()).group(1))


def cpu_ms():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return (u.ru_utime + u.ru_stime) * 1000


def median(xs):
    return sorted(xs)[len(xs) // 2]


if a.mode == 'mem':
    base = status_kb('VmHWM')
    step()
    cold = status_kb('VmHWM') - base
    gc.collect()
    ctypes.CDLL('libc.so.6').malloc_trim(0)
    base = status_kb('VmRSS')
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    step()
    warm = status_kb('VmHWM') - base
    print(json.dumps({'cold_mb': cold / 1024, 'warm_mb': warm / 1024, 'base_rss_mb': base / 1024, 'cpu_ms': cpu_ms()}))
    raise SystemExit
if a.mode == 'profile':
    for _ in range(a.warmup):
        step()
    for k in times:
        times[k].clear()
    for _ in range(a.iters):
        step()
    with torch.autograd.profiler.profile() as prof:
        step()
    print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=25))
    print(json.dumps({k: median(v) for k, v in times.items()}))
    raise SystemExit
samples, losses = [], []
for i in range(a.warmup + a.iters):
    t0 = time.perf_counter()
    losses.append(step())
    if i >= a.warmup:
        samples.append((time.perf_counter() - t0) * 1000)
n = a.warmup
print(json.dumps({'ms': median(samples), 'fwd_ms': median(times['fwd'][n:]), 'bwd_ms': median(times['bwd'][n:]), 'opt_ms': median(times['opt'][n:]),
                  'samples': samples, 'losses': losses, 'cpu_ms': cpu_ms(), 'fused': FUSED, 'torch': torch.__version__}))
