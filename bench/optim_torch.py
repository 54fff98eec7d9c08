"""PyTorch side of bench/optim.mjs: times torch.optim steps over the given parameter shapes; prints one JSON line."""
import argparse, json, time
import torch

p = argparse.ArgumentParser()
p.add_argument('--shapes', required=True)
p.add_argument('--threads', type=int, required=True)
p.add_argument('--iters', type=int, default=200)
p.add_argument('--warmup', type=int, default=20)
a = p.parse_args()
torch.set_num_threads(a.threads)
shapes = json.loads(a.shapes)
out = {}
for name in ['sgd', 'adam', 'adamw']:
    params = [torch.randn(s, requires_grad=True) for s in shapes]
    for q in params:
        q.grad = torch.randn(q.shape)
    opt = {'sgd': lambda: torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=5e-4),
           'adam': lambda: torch.optim.Adam(params, lr=1e-3),
           'adamw': lambda: torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-2)}[name]()
    for _ in range(a.warmup):
        opt.step()
    samples = []
    for _ in range(a.iters):
        t0 = time.perf_counter()
        opt.step()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    out[name] = samples[len(samples) // 2]
out['torch'] = torch.__version__
print(json.dumps(out))
