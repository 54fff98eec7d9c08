#!/usr/bin/env bash
# Produces the depth numbers of docs/results/hybrid.md: the shared CIFAR-10 ResNet-56 (ANN 92.6 % on test_first1000.bin),
# imported from ONNX, converted with binary IF neurons and calibrated with snnkit's defaults (the same as for ResNet-20),
# beside the authors' own code (github.com/yhhhli/SNN_Calibration) on the same network and data.
#   snnkit:    none, light, advanced at T = 32 (the reference defaults); ResNet-20 light and advanced at T = 32 and 8 for comparison;
#   authors:   their threshold search alone at T = 32 through bench/authors_calibration.py (needs AUTHORS=<checkout of
#              SNN_Calibration> and Debian's python3-torch), and snnkit's threshold step alone with their settings
#              (EMA over batches, the shift as a per-step bias), the pair that shows whether the two searches agree;
#   spikes:    light and advanced with the threshold searched by simulating each neuron (--threshold-source spikes),
#              on ResNet-56 at T = 32 and ResNet-20 at T = 8 and 32;
#   distill:   advanced + distill at T = 32 (the end-to-end step of calibrate, 8 epochs on the 1024 samples);
#   lowT:      advanced at T = 8 and 16;
#   qcfs:      the quantize step on the JPEG training set (48 000 images, 2 epochs, the last 500 held out for
#              validation) at L = 8 or 16 levels, then threshold, bias and potential, at T = 32 (no distill: a step
#              through 32 steps of 55 layers costs 10 s); L chosen on validation;
#   hybrid:    hybrid fine-tuning at T = 32 from the advanced calibration, with ResNet-20's settings unchanged (Adam 3e-4,
#              learnt thresholds, the ANN as teacher at λ = 1, batch 64), on the first 10 000 JPEG training images (the
#              next 1000 held out for validation), tested on the exact test_first1000.bin; each layer's RMS error
#              against the ANN before and after (eval --layer-errors, 128 test images).
# Every run records its JSON (with commit and wall time) in docs/results/depth/<name>.json and its report in docs/results/depth/<name>.md; a
# recorded run is skipped. OUT keeps the checkpoints and plots.
# usage: AUTHORS=/path/to/SNN_Calibration bash bench/depth-results.sh OUT_DIR [snnkit|authors|spikes|distill|lowT|qcfs|hybrid ...]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?output folder}; shift
mkdir -p "$out"
parts=${*:-snnkit authors spikes distill lowT qcfs}
S="node ${SNNKIT_DIST:-dist}/src/cli/main.js"
rec=docs/results/depth
m=../shared/models/cifar10-resnet56
exact=../shared/data/cifar10-exact-subset
common=(--dataset cifar10 --data $exact/test_first1000.bin --calib-data $exact/train_first4000.bin
  --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --json)
mkdir -p "$rec"
run() { # name, calibrate args... (the model: $M, default ResNet-56)
  local name=$1; shift
  [ -f "$rec/$name.json" ] && return 0
  local t0; t0=$(date +%s)
  $S calibrate --model "${M:-$m/cifar10-resnet56.onnx}" "${common[@]}" "$@" --out "$out/$name" | tail -1 > "$out/$name.last"
  node bench/stamp-result.mjs "$out/$name.last" "$t0" > "$rec/$name.json"
  cp "$out/$name/report.md" "$rec/$name.md"
  tail -c 300 "$rec/$name.json"; echo
}
hybrid() { # name, init checkpoint, train-snn args...
  local name=$1 init=$2; shift 2
  [ -f "$rec/$name.json" ] && return 0
  local t0; t0=$(date +%s)
  $S train-snn --init "$init" --dataset cifar10-jpeg --test-data $exact/test_first1000.bin --batch-size 64 --weight-decay 0 \
    --distill-weight 1 --lr 3e-4 --learn-threshold "$@" --out "$out/$name" --json | tail -1 > "$out/$name.last"
  cp "$out/$name/log.csv" "$rec/$name.csv"
  node bench/stamp-result.mjs "$out/$name.last" "$t0" > "$rec/$name.json"
  tail -c 300 "$rec/$name.json"; echo
}
errors() { # name, SNN checkpoint: its accuracy and per-layer errors (eval --layer-errors) recorded as <name>.json
  [ -f "$rec/$1.json" ] && return 0
  local t0; t0=$(date +%s)
  $S eval --model "$2" --dataset cifar10 --data $exact/test_first1000.bin --layer-errors 128 --json | tail -1 > "$out/$1.last"
  node bench/stamp-result.mjs "$out/$1.last" "$t0" > "$rec/$1.json"
}
for p in $parts; do case $p in
  snnkit)
    run r56-T32 --T 32 --pipeline none,light,advanced
    M=../shared/models/cifar10-resnet20/cifar10-resnet20.onnx run r20-T32 --T 32 --pipeline light,advanced
    M=../shared/models/cifar10-resnet20/cifar10-resnet20.onnx run r20-T8 --T 8 --pipeline light,advanced ;;
  authors)
    run r56-T32-thr-authorslike --T 32 --pipeline custom --steps threshold --threshold-aggregate ema --shift bias
    [ -f "$rec/authors-r56-T32-thr.json" ] || /usr/bin/python3 bench/authors_calibration.py "${AUTHORS:?checkout of SNN_Calibration}" \
      $m/resnet56-4bfd9763.th --depth 56 --T 32 --calib threshold --seed 0 --json "$rec/authors-r56-T32-thr.json" | grep -v Empirical ;;
  spikes)
    run r56-T32-spikes --T 32 --pipeline light,advanced --threshold-source spikes
    M=../shared/models/cifar10-resnet20/cifar10-resnet20.onnx run r20-spikes --T 8,32 --pipeline light,advanced --threshold-source spikes ;;
  distill) run r56-T32-distill --T 32 --pipeline custom --steps threshold,bias,potential,distill ;;
  lowT) run r56-lowT --T 8,16 --pipeline advanced ;;
  qcfs)
    q=(--T 32 --calib-data ../shared/data/cifar10-jpg/CIFAR-10-images-jpg.tar.gz --pipeline custom --steps quantize,threshold,bias,potential
      --quantize-samples 48000 --quantize-epochs 2 --val-size 500)
    run r56-qcfs-L8-T32 "${q[@]}" --quantize-levels 8
    run r56-qcfs-L16-T32 "${q[@]}" --quantize-levels 16 ;;
  hybrid)
    run r56-T32-adv --T 32 --pipeline advanced
    hybrid r56-hybrid-T32-10k "$out/r56-T32-adv/snn-T32-advanced.safetensors" --epochs 1 --train-limit 11000 --val-size 1000
    # the per-layer RMS error against the ANN before and after, on the first 128 test images
    errors r56-T32-adv-errors "$out/r56-T32-adv/snn-T32-advanced.safetensors"
    errors r56-hybrid-T32-10k-errors "$out/r56-hybrid-T32-10k/last.safetensors" ;;
  *) echo "unknown part $p" >&2; exit 2 ;;
esac; done
# the plot needs the reports of the parts snnkit and spikes (in OUT, not recorded)
[ -f "$out/r56-T32/report.json" ] && [ -f "$out/r56-T32-spikes/report.json" ] && [ -f "$out/r20-T32/report.json" ] || exit 0
node bench/depth-plot.mjs docs/results/img/depth-errors.svg "R56 before its step=$out/r56-T32:advanced:converted" "R56 advanced=$out/r56-T32:advanced" \
  "R56 adv., spikes=$out/r56-T32-spikes:advanced" "R20 advanced=$out/r20-T32:advanced"
