#!/usr/bin/env bash
# Produces the numbers of docs/results/conversion.md: the MNIST CNN (threshold max / 99.9th percentile, shift off / on)
# and the shared pretrained ResNet-20 without calibration, then the combined plots.
# usage: bash bench/conversion-results.sh MNIST_CHECKPOINT OUT_DIR   (MNIST_CHECKPOINT: best.safetensors of
#        snnkit train-ann --dataset mnist --arch mnist-cnn --epochs 12 --lr 0.05)
set -euo pipefail
cd "$(dirname "$0")/.."
mnist=${1:?MNIST checkpoint}; out=${2:?output folder}
S="node dist/src/cli/main.js"
shared=../shared
for th in max 99.9; do for sh in "" "--shift"; do
  $S convert --model "$mnist" --dataset mnist --T 4,8,16,32,64,128 --threshold $th $sh --samples 1024 --test-limit 2000 \
    --analyze-limit 256 --out "$out/mnist-$th${sh:+-shift}" --json | tail -1
done; done
for cfg in "max" "99.9 --shift"; do
  $S convert --model $shared/models/cifar10-resnet20/cifar10-resnet20.safetensors --arch cifar-resnet20 --dataset cifar10 \
    --data $shared/data/cifar10-exact-subset/test_first1000.bin --calib-data $shared/data/cifar10-exact-subset/train_first4000.bin \
    --T 16,32,64,128,256 --threshold $cfg --samples 1024 --analyze-limit 128 --out "$out/resnet20-${cfg// /}" --json | tail -1
done
node bench/conversion-plot.mjs "$out" docs/results/img
