"""PyTorch side of bench/train.mjs: the mnist-cnn of snnkit's zoo, trained with the same data pipeline
(uint8 MNIST in memory -> float / 255 -> normalize, shuffled batches from a DataLoader with one worker process),
SGD with momentum. Prints one JSON line: images/s over the timed epochs."""
import argparse, gzip, json, os, time
import numpy as np
import torch
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument('--images', required=True)
p.add_argument('--labels', required=True)
p.add_argument('--threads', type=int, required=True)
p.add_argument('--limit', type=int, default=12800)
p.add_argument('--epochs', type=int, default=2)
p.add_argument('--batch', type=int, default=128)
p.add_argument('--workers', type=int, default=1)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

def idx(path):
    raw = open(path, 'rb').read()
    if raw[:2] == b'\x1f\x8b':
        raw = gzip.decompress(raw)
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)

x = torch.from_numpy(idx(a.images)[: a.limit].copy()).unsqueeze(1)
y = torch.from_numpy(idx(a.labels)[: a.limit].astype(np.int64))

class Data(torch.utils.data.Dataset):
    def __len__(self): return len(y)
    def __getitem__(self, i): return (x[i].float() / 255 - 0.1307) / 0.3081, y[i]

def block(i, o): return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(), nn.AvgPool2d(2)]
model = nn.Sequential(*block(1, 32), *block(32, 64), *block(64, 128), nn.Flatten(), nn.Linear(128 * 9, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
loader = torch.utils.data.DataLoader(Data(), batch_size=a.batch, shuffle=True, num_workers=a.workers, persistent_workers=a.workers > 0)
loss_fn = nn.CrossEntropyLoss()

def epoch():
    n = 0
    t = time.perf_counter()
    for xb, yb in loader:
        loss = loss_fn(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        n += len(yb)
    return n / (time.perf_counter() - t)

epoch()  # warm-up (also starts the worker)
rates = [epoch() for _ in range(a.epochs)]
print(json.dumps({'images_per_s': float(np.median(rates)), 'epochs': rates, 'torch': torch.__version__}))
