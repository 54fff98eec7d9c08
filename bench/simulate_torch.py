"""PyTorch side of bench/simulate.mjs: a converted CIFAR ResNet-20 (option-A shortcuts, batch norm folded, IF neurons
with soft reset, spikes carrying V_th, membranes starting at V_th/2) simulated as the per-step loop the calibration
authors' code runs (SpikeModule: mem = mem + conv(x); spike = (mem >= th) * th; mem -= spike), over the same
converted weights snnkit wrote (a safetensors file: `<layer>.weight/.bias` for every conv/linear in network order,
`thresholds` one per IF layer, `mean`/`std` in the metadata). Variants a competent user would try, all timed in this process:
  plain       the authors' neuron as written (new tensors every step)
  inplace     the same with in-place updates (mem.add_, ge, mul_, sub_)
  script      the whole step TorchScript-scripted and frozen (Debian's PyTorch has no LLVM, so NNC cannot fuse
              elementwise ops on the CPU: it raises 'LLVM Backend not found')
  *-cl        the same with channels_last activations and weights (oneDNN without layout reorders)
Prints (last line) {runs: [{variant, batch, seconds, images_per_s, accuracy, sums_sha}, ...]}, progress on stderr.

usage: /usr/bin/python3 bench/simulate_torch.py WEIGHTS.safetensors TEST.bin --T 32 --threads 2 \
         [--limit 1000] [--batch 100] [--variants plain,inplace,script,plain-cl,inplace-cl,script-cl] [--sums OUT.f32]
"""
import argparse
import hashlib
import json
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument('weights')
p.add_argument('test')
p.add_argument('--T', type=int, default=32)
p.add_argument('--threads', type=int, default=2)
p.add_argument('--limit', type=int, default=1000)
p.add_argument('--batch', type=int, default=100)
p.add_argument('--variants', default='plain,inplace,script,plain-cl,inplace-cl,script-cl')
p.add_argument('--warmup', type=int, default=2, help='batches run untimed first, per variant (TorchScript profiles its first two runs)')
p.add_argument('--sums', default='', help='write the output sums at T of the last variant ([N, 10] float32) here')
a = p.parse_args()
torch.set_num_threads(a.threads)

def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        assert v['dtype'] == 'F32', (k, v['dtype'])
        s, e = v['data_offsets']
        out[k] = torch.from_numpy(np.frombuffer(data[s:e], dtype=np.float32).copy()).view(v['shape'])
    return out, header.get('__metadata__', {})


def read_cifar(path, limit):
    raw = np.fromfile(path, dtype=np.uint8).reshape(-1, 3073)[:limit]
    x = torch.from_numpy(raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0)
    return x, torch.from_numpy(raw[:, 0].astype(np.int64))


W, meta = read_safetensors(a.weights)
mean = torch.tensor([float(v) for v in meta['mean'].split(',')]).view(1, 3, 1, 1)  # the bench writes the model's
std = torch.tensor([float(v) for v in meta['std'].split(',')]).view(1, 3, 1, 1)  # normalisation into the metadata
TH = [float(t) for t in W['thresholds'].tolist()]
BLOCKS = sorted({k.rsplit('.', 2)[0] for k in W if k.startswith('layer')}, key=lambda n: [int(v) for v in n[5:].split('.')])
CONVS = ['conv1'] + [f'{b}.conv{c}' for b in BLOCKS for c in (1, 2)]


class Net(torch.nn.Module):
    """One time step of the converted ResNet-20; membranes passed in and out (so that TorchScript can script it)."""

    def __init__(self, inplace: bool):
        super().__init__()
        self.inplace = inplace
        self.w: list[torch.Tensor] = [W[f'{c}.weight'] for c in CONVS]
        self.b: list[torch.Tensor] = [W[f'{c}.bias'] for c in CONVS]
        self.fw = W['linear.weight']
        self.fb = W['linear.bias']
        self.th = TH
        # the first conv of a block that widens the channels has stride 2
        self.strides = [1] + [2 if (c == 1 and W[f'{b}.conv1.weight'].shape[0] != W[f'{b}.conv1.weight'].shape[1]) else 1
                              for b in BLOCKS for c in (1, 2)]
        self.blocks = len(BLOCKS)

    def neuron(self, mem: torch.Tensor, cur: torch.Tensor, th: float):
        if self.inplace:
            mem.add_(cur)
            spike = mem.ge(th).to(mem.dtype).mul_(th)
            mem.sub_(spike)
            return mem, spike
        mem = mem + cur
        spike = (mem >= th).to(mem.dtype) * th
        return mem - spike, spike

    def forward(self, x: torch.Tensor, mems: list[torch.Tensor]):
        new: list[torch.Tensor] = []
        m, h = self.neuron(mems[0], F.conv2d(x, self.w[0], self.b[0], 1, 1), self.th[0])
        new.append(m)
        k = 1
        for blk in range(self.blocks):
            planes = self.w[k].shape[0]
            m, o = self.neuron(mems[k], F.conv2d(h, self.w[k], self.b[k], self.strides[k], 1), self.th[k])
            new.append(m)
            cur = F.conv2d(o, self.w[k + 1], self.b[k + 1], 1, 1)
            if h.shape[1] != planes:
                cur = cur + F.pad(h[:, :, ::2, ::2], [0, 0, 0, 0, planes // 4, planes // 4])
            else:
                cur = cur + h
            m, h = self.neuron(mems[k + 1], cur, self.th[k + 1])
            new.append(m)
            k += 2
        out = F.linear(F.adaptive_avg_pool2d(h, 1).flatten(1), self.fw, self.fb)
        return out, new


def simulate(step, x, th, cl):
    """Runs T steps on one batch; returns the sum of the output over T."""
    with torch.no_grad():
        # membranes start at V_th/2 (the shift); their shapes come from one probe step
        if cl:
            x = x.contiguous(memory_format=torch.channels_last)
        shapes = probe_shapes(x.shape[0])
        mems = [torch.full(s, th[i] / 2) for i, s in enumerate(shapes)]
        if cl:
            mems = [m.contiguous(memory_format=torch.channels_last) for m in mems]
        total = None
        for _ in range(a.T):
            out, mems = step(x, mems)
            total = out if total is None else total + out
        return total


def probe_shapes(n):
    """The membrane shapes: each conv's output channels at the resolution of its stage (32, 16, 8)."""
    shapes = []
    for c in CONVS:
        planes = W[f'{c}.weight'].shape[0]
        hw = {16: 32, 32: 16, 64: 8}[planes]
        shapes.append((n, planes, hw, hw))
    return shapes


x_all, y_all = read_cifar(a.test, a.limit)
x_all = (x_all - mean) / std
sums = None
results = []
for variant in a.variants.split(','):
    base, cl = variant.removesuffix('-cl'), variant.endswith('-cl')
    net = Net(inplace=(base == 'inplace'))
    if cl:
        net.w = [w.contiguous(memory_format=torch.channels_last) for w in net.w]
    net.eval()
    step = torch.jit.freeze(torch.jit.script(net)) if base == 'script' else net
    batches = [(x_all[i:i + a.batch], y_all[i:i + a.batch]) for i in range(0, len(y_all), a.batch)]
    for i in range(a.warmup):
        simulate(step, batches[i % len(batches)][0], TH, cl)
    t0 = time.perf_counter()
    outs = [simulate(step, bx, TH, cl) for bx, _ in batches]
    secs = time.perf_counter() - t0
    total = torch.cat(outs)
    acc = (total.argmax(1) == y_all).float().mean().item()
    sums = total.contiguous().numpy().astype(np.float32)
    results.append({'variant': variant, 'batch': a.batch, 'seconds': secs, 'images_per_s': len(y_all) / secs,
                    'accuracy': acc, 'sums_sha': hashlib.sha256(sums.tobytes()).hexdigest()[:16]})
    print(json.dumps(results[-1]), file=sys.stderr, flush=True)
print(json.dumps({'runs': results}))
if a.sums and sums is not None:
    sums.tofile(a.sums)
