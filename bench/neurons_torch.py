"""PyTorch side of bench/neurons.mjs: IF/LIF over [T, N, C, H, W] as a per-step loop of tensor ops with a surrogate
spike function (how SpikingJelly's torch backend and snnTorch run neurons). Prints one JSON line."""
import argparse, json, math, resource, time
import torch

p = argparse.ArgumentParser()
p.add_argument('--neuron', choices=['if', 'lif'], required=True)
p.add_argument('--mode', choices=['fwd', 'fwdbwd', 'mem'], required=True)
p.add_argument('--shape', default='8,64,64,32,32')
p.add_argument('--threads', type=int, required=True)
p.add_argument('--iters', type=int, default=5)
p.add_argument('--warmup', type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
shape = [int(s) for s in a.shape.split(',')]
ALPHA = 1.0 if a.neuron == 'if' else 0.5
VTH = 1.0


class SpikeAtan(torch.autograd.Function):
    """H(x) forward, arctangent surrogate (alpha = 2) backward, as SpikingJelly's surrogate.ATan."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (2 / 2) / (1 + (math.pi / 2 * 2 * x) ** 2)


def run(x):
    v = torch.zeros_like(x[0])
    out = []
    for t in range(x.shape[0]):
        u = ALPHA * v + x[t]
        s = SpikeAtan.apply(u - VTH)
        v = u - s * VTH
        out.append(s)
    return torch.stack(out)


x = torch.randn(shape) * 0.8 + 0.4
if a.mode == 'mem':
    x.requires_grad_(True)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run(x).sum().backward()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({'peak_mb': (peak - base) / 1024}))
    raise SystemExit
samples = []
for i in range(a.warmup + a.iters):
    if a.mode == 'fwd':
        t0 = time.perf_counter()
        with torch.no_grad():
            run(x)
    else:
        xg = x.detach().requires_grad_(True)
        t0 = time.perf_counter()
        run(xg).sum().backward()
    if i >= a.warmup:
        samples.append((time.perf_counter() - t0) * 1000)
samples.sort()
print(json.dumps({'ms': samples[len(samples) // 2]}))
