"""The authors' calibration code (github.com/yhhhli/SNN_Calibration, Li, Deng et al., ICML 2021) on the shared
option-A CIFAR ResNets, for comparing snnkit's `calibrate` against it layer by layer.

Their SpikeModule / SpikeBasicBlock / get_maximum_activation / bias_corr_model are used unchanged; this file only
builds Idelbayev's option-A ResNet (their repository has only option-B ResNets) with nn.ReLU modules where their
refactoring looks for them, reads the CIFAR-10 binary files, and prints per-layer thresholds and the accuracy.
As their main_cal_cifar.py: thresholds by the MSE search with flooring on 7 batches of 128 (EMA 0.9), bias or
potential correction on one batch of 128, the shift as a per-step bias V_th/2T. `--calib threshold` stops after the
threshold search (their light and advanced without the correction, which runs the whole SNN once per layer: about
3 minutes a layer for ResNet-56 at T = 32 on one shared core).

usage: /usr/bin/python3 bench/authors_calibration.py AUTHORS_REPO MODEL.th --T 32 --calib advanced --seed 0 \
         [--depth 56] [--json OUT.json]
(AUTHORS_REPO: a checkout of SNN_Calibration; Debian's python3-torch, which has no safetensors, reads the .th.)
"""
import argparse
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument('repo')
p.add_argument('model')
p.add_argument('--T', type=int, default=32)
p.add_argument('--calib', default='advanced', choices=['none', 'threshold', 'light', 'advanced'])
p.add_argument('--seed', type=int, default=0)
p.add_argument('--depth', type=int, default=56)
p.add_argument('--train', default='../shared/data/cifar10-exact-subset/train_first4000.bin')
p.add_argument('--test', default='../shared/data/cifar10-exact-subset/test_first1000.bin')
p.add_argument('--samples', type=int, default=1024)
p.add_argument('--threads', type=int, default=2)
p.add_argument('--json', default='')
a = p.parse_args()
sys.path.insert(0, a.repo)
torch.set_num_threads(a.threads)
from models.calibration import bias_corr_model  # noqa: E402
from models.CIFAR.models.resnet import SpikeBasicBlock  # noqa: E402
from models.fold_bn import search_fold_and_remove_bn  # noqa: E402
from models.spiking_layer import SpikeModel, SpikeModule, get_maximum_activation  # noqa: E402

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def read_cifar(path):
    raw = np.fromfile(path, dtype=np.uint8).reshape(-1, 3073)
    x = torch.from_numpy(raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0)
    return (x - MEAN) / STD, torch.from_numpy(raw[:, 0].astype(np.int64))


class ShortcutA(nn.Module):
    def __init__(self, planes):
        super().__init__()
        self.pad = planes // 4

    def forward(self, x):
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class Block(nn.Module):  # the attribute names their SpikeBasicBlock reads
    def __init__(self, inp, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.ReLU()
        self.downsample = ShortcutA(planes) if stride != 1 or inp != planes else None
        self.stride = stride

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(out + (x if self.downsample is None else self.downsample(x)))


class ResNetA(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        inp, stages = 16, []
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for i in range(n):
                blocks.append(Block(inp, planes, stride if i == 0 else 1))
                inp = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.linear = nn.Linear(64, 10)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x))))))
        return self.linear(F.adaptive_avg_pool2d(x, 1).flatten(1))


def accuracy(net, x, y, bs=100):
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), bs):
            correct += (net(x[i:i + bs]).argmax(1) == y[i:i + bs]).sum().item()
    return correct / len(x)


torch.manual_seed(a.seed)
ann = ResNetA((a.depth - 2) // 6)
sd = torch.load(a.model, map_location='cpu')
sd = sd.get('state_dict', sd)
ann.load_state_dict({k.replace('module.', ''): v for k, v in sd.items()})
ann.eval()
xt, yt = read_cifar(a.test)
xc, _ = read_cifar(a.train)
g = torch.Generator().manual_seed(a.seed)
xc = xc[torch.randperm(len(xc), generator=g)[:a.samples]]
loader = [(xc[i:i + 128], None) for i in range(0, len(xc), 128)]
t0 = time.time()
ann_acc = accuracy(ann, xt, yt)
search_fold_and_remove_bn(ann)
snn = SpikeModel(model=ann, sim_length=a.T, specials={Block: SpikeBasicBlock})
snn.eval()
t1 = time.time()
get_maximum_activation(loader, model=snn, momentum=0.9, iters=5, mse=a.calib != 'none', percentile=None,
                       sim_length=a.T, channel_wise=False)
if a.calib in ('light', 'advanced'):
    bias_corr_model(model=snn, train_loader=loader, correct_mempot=a.calib == 'advanced')
t2 = time.time()
snn.set_spike_state(use_spike=True)
acc = accuracy(snn, xt, yt)
t3 = time.time()
layers = [(n, float(m.threshold)) for n, m in snn.named_modules() if isinstance(m, SpikeModule)]
res = {'T': a.T, 'calib': a.calib, 'seed': a.seed, 'depth': a.depth, 'ann': ann_acc, 'accuracy': acc,
       'seconds': {'calibration': t2 - t1, 'simulation': t3 - t2}, 'thresholds': layers}
print(json.dumps({k: v for k, v in res.items() if k != 'thresholds'}))
if a.json:
    with open(a.json, 'w') as f:
        json.dump(res, f, indent=1)
