"""PyTorch side of bench/engine.mjs: the same conv net, timed the same way, one mode per process.

Run with Debian's interpreter (/usr/bin/python3, which has python3-torch). bench/engine.mjs sets the environment:
OMP_WAIT_POLICY=passive, OMP_NUM_THREADS and glibc malloc tuning (MALLOC_MMAP_THRESHOLD_ and friends): the setup
PyTorch's reference numbers were measured with. Prints one JSON object as its last line.
"""
import argparse
import json
import platform
import resource
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F


def positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return n


def build_model() -> nn.Module:
    # Same layers and shapes as bench/engine.mjs; PyTorch's default initialisation.
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(1),
        nn.Linear(128 * 8 * 8, 10),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=positive, required=True)
    ap.add_argument("--iters", type=positive, required=True)
    ap.add_argument("--warmup", type=positive, default=3)
    ap.add_argument("--batch", type=positive, default=64)
    ap.add_argument("--mode", choices=["fwd", "fwdbwd"], required=True)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model()
    x = torch.randn(args.batch, 3, 32, 32)
    labels = torch.randint(0, 10, (args.batch,), dtype=torch.int64)

    if args.mode == "fwd":
        def step() -> None:
            with torch.no_grad():
                model(x)
    else:
        def step() -> None:
            loss = F.cross_entropy(model(x), labels)
            loss.backward()
            model.zero_grad(set_to_none=True)  # as snnkit's zeroGrad(), which sets each .grad to undefined

    for _ in range(args.warmup):
        step()
    faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    samples = []
    for _ in range(args.iters):
        t0 = time.perf_counter_ns()
        step()
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    usage = resource.getrusage(resource.RUSAGE_SELF)

    print(json.dumps({
        "engine": "pytorch",
        "allocator": "glibc (tuned by env)",
        "mode": args.mode,
        "threads": torch.get_num_threads(),
        "samples_ms": samples,
        "minor_faults_per_iter": (usage.ru_minflt - faults0) / args.iters,
        "max_rss_mb": usage.ru_maxrss / 1024,
        "cpu_ms": (usage.ru_utime + usage.ru_stime) * 1000,
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
    }))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
