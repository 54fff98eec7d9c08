#!/usr/bin/env bash
# Produces the numbers of docs/results/calibration.md: the shared pretrained ResNet-20, imported from ONNX, calibrated
# on 1024 images of train_first4000.bin and tested on test_first1000.bin, for T = 8, 16, 32, 64.
#   1. none, light, advanced (the authors' pipelines; timed alone);
#   2. advanced + weight calibration (rate objective, Adam lr 1e-3, 1000 iterations a layer);
#   3. advanced + weight calibration + distill (snnkit's end-to-end step), T = 8, 16.
# usage: bash bench/calibration-results.sh OUT_DIR [1|2|3 ...]   (after npm run setup; about 45 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?output folder}; shift
parts=${*:-1 2 3}
S="node ${SNNKIT_DIST:-dist}/src/cli/main.js"
shared=../shared
common=(--model $shared/models/cifar10-resnet20/cifar10-resnet20.onnx --dataset cifar10
  --data $shared/data/cifar10-exact-subset/test_first1000.bin --calib-data $shared/data/cifar10-exact-subset/train_first4000.bin
  --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --json)
for p in $parts; do case $p in
  1) $S calibrate "${common[@]}" --T 8,16,32,64 --pipeline none,light,advanced --out "$out/authors" | tail -1 ;;
  2) $S calibrate "${common[@]}" --T 8,16,32,64 --pipeline custom --steps threshold,weight,bias,potential \
       --wc-lr 1e-3 --wc-iterations 1000 --out "$out/wc" | tail -1 ;;
  3) $S calibrate "${common[@]}" --T 8,16 --pipeline custom --steps threshold,weight,bias,potential,distill \
       --wc-lr 1e-3 --wc-iterations 1000 --out "$out/wc-distill" | tail -1 ;;
esac; done
node bench/calibration-plot.mjs docs/results/img/calibration-resnet20-accuracy.svg "$out/authors" "$out/wc" "$out/wc-distill"
