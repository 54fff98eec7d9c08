#!/usr/bin/env bash
# Produces the numbers of docs/results/calibration.md: the shared pretrained ResNet-20, imported from ONNX, calibrated
# on 1024 images of train_first4000.bin and tested on test_first1000.bin, for T = 8, 16, 32, 64.
#   1. none, light, advanced (the authors' pipelines; timed alone), IF neurons;
#   2. advanced + weight calibration (rate objective, Adam lr 1e-3, 1000 iterations a layer);
#   3. quantize + advanced + weight calibration + distill (snnkit's end-to-end steps), T = 8, 16;
#   4. none with the shift as a per-step bias V_th/2T (as the authors' code adds it);
#   5. none, light, advanced with signed IF neurons (timed alone);
#   6. signed IF, advanced + weight calibration, T = 8, 16;
#   7. signed IF, quantize + advanced, T = 8, 16;
#   8. the spread over draws of the calibration samples: light and advanced at T = 32, IF and signed, seeds 1-4;
#   9. part 3 with 48 distill epochs instead of 16, T = 8 and T = 16 (13 and about 30 minutes).
# usage: bash bench/calibration-results.sh OUT_DIR [1|2|3|4|5|6|7|8|9 ...]   (after npm run setup; about 2 h 10 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?output folder}; shift
parts=${*:-1 5 4 6 7 3 2 8 9}
S="node ${SNNKIT_DIST:-dist}/src/cli/main.js"
shared=../shared
common=(--model $shared/models/cifar10-resnet20/cifar10-resnet20.onnx --dataset cifar10
  --data $shared/data/cifar10-exact-subset/test_first1000.bin --calib-data $shared/data/cifar10-exact-subset/train_first4000.bin
  --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --json)
for p in $parts; do case $p in
  1) $S calibrate "${common[@]}" --T 8,16,32,64 --pipeline none,light,advanced --out "$out/authors" | tail -1 ;;
  2) $S calibrate "${common[@]}" --T 8,16,32,64 --pipeline custom --steps threshold,weight,bias,potential \
       --wc-lr 1e-3 --wc-iterations 1000 --out "$out/wc" | tail -1 ;;
  3) $S calibrate "${common[@]}" --T 8,16 --pipeline custom --steps quantize,threshold,weight,bias,potential,distill \
       --wc-lr 1e-3 --wc-iterations 1000 --distill-epochs 16 --out "$out/wc-distill" | tail -1 ;;
  4) $S calibrate "${common[@]}" --T 8,16,32,64 --pipeline none --shift bias --out "$out/none-bias" | tail -1 ;;
  5) $S calibrate "${common[@]}" --T 8,16,32,64 --pipeline none,light,advanced --signed --out "$out/signed" | tail -1 ;;
  6) $S calibrate "${common[@]}" --T 8,16 --pipeline custom --steps threshold,weight,bias,potential --signed \
       --wc-lr 1e-3 --wc-iterations 1000 --out "$out/signed-wc" | tail -1 ;;
  7) $S calibrate "${common[@]}" --T 8,16 --pipeline custom --steps quantize,threshold,bias,potential --signed \
       --out "$out/signed-quantize" | tail -1 ;;
  8) for seed in 1 2 3 4; do
       $S calibrate "${common[@]}" --T 32 --pipeline light,advanced --seed $seed --out "$out/seed$seed" | tail -1
       $S calibrate "${common[@]}" --T 32 --pipeline light,advanced --signed --seed $seed --out "$out/signed-seed$seed" | tail -1
     done ;;
  9) for T in 8 16; do
       $S calibrate "${common[@]}" --T $T --pipeline custom --steps quantize,threshold,weight,bias,potential,distill \
         --wc-lr 1e-3 --wc-iterations 1000 --distill-epochs 48 --out "$out/wc-distill48-T$T" | tail -1
     done ;;
esac; done
node bench/calibration-plot.mjs docs/results/img/calibration-resnet20-accuracy.svg "$out/authors" "$out/none-bias" "$out/wc" \
  "$out/wc-distill48-T8" "$out/wc-distill48-T16"
node bench/calibration-plot.mjs docs/results/img/calibration-resnet20-accuracy-signed.svg "$out/signed" "$out/signed-wc" "$out/signed-quantize"
