#!/usr/bin/env bash
# Produces the numbers of docs/results/events.md: snn-nmnist on N-MNIST small (../shared/data/nmnist-small: 1000
# training, 100 test recordings), T = 8 frames of equal event count, LIF (τ = 2, soft reset), arctangent surrogate,
# Adam 1e-3 cosine, no weight decay, batch 32.
#   select: the recipe chosen on a validation split (the last 100 of the 1000 training recordings; seed 0): cross-entropy
#           of the mean output, with or without random crops (4 pixels of padding), and TET with crops, 20 epochs each;
#   select-long: crops for 40 epochs instead of 20 (the 20-epoch runs were still improving on training and validation
#           loss at their end), on the same validation split;
#   final:  the chosen recipe (SELECT=name, default crop-e40, chosen in select-long) trained on all 1000, tested on the 100, seeds 1-3.
# Every run records its log and result in docs/results/events/<name>.{csv,json} (commit them); a recorded run is
# skipped, so the runs can span sessions. OUT keeps the checkpoints (an unfinished run resumes).
# usage: bash bench/events-results.sh OUT_DIR [select|select-long|final ...]   (after npm run setup)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?output folder}; shift
mkdir -p "$out"
parts=${*:-select final}
S="node ${SNNKIT_DIST:-dist}/src/cli/main.js"
rec=docs/results/events
base=(--dataset nmnist --arch snn-nmnist --T 8 --neuron lif --tau 2 --surrogate atan:2 --optimizer adam --lr 1e-3 --weight-decay 0
  --batch-size 32 --epochs 20 --json)
declare -A recipe=([ce]="--augment none" [crop]="--augment crop" [tet-crop]="--augment crop --loss tet" [crop-e40]="--augment crop --epochs 40")
one() { # name, extra args...
  local name=$1; shift
  [ -f "$rec/$name.json" ] && return 0
  local t0; t0=$(date +%s)
  $S train-snn "${base[@]}" "$@" --out "$out/$name" | tail -1 > "$out/$name.last"
  mkdir -p "$rec" && cp "$out/$name/log.csv" "$rec/$name.csv"
  node bench/stamp-result.mjs "$out/$name.last" "$t0" > "$rec/$name.json"
  tail -1 "$rec/$name.json"
}
for p in $parts; do case $p in
  select) for r in ce crop tet-crop; do one "select-$r" ${recipe[$r]} --val-size 100 --seed 0; done ;;
  select-long) one select-crop-e40 ${recipe[crop-e40]} --val-size 100 --seed 0 ;;
  final) r=${SELECT:-crop-e40}; for seed in 1 2 3; do one "final-$r-s$seed" ${recipe[$r]} --val-size 0 --seed $seed; done ;;
  *) echo "unknown part $p" >&2; exit 2 ;;
esac; done
