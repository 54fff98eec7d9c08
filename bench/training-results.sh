#!/usr/bin/env bash
# Produces the numbers of docs/results/training.md (direct SNN training, snn-mnist-cnn, T = 4):
#   1. MNIST headline: LIF (τ = 2, soft reset), arctangent surrogate, TET, Adam 1e-3 cosine, no weight decay, batch 64,
#      7 epochs with random crops (4 pixels of padding), 10 % of the training set held out for validation (about
#      2 h alone on 2 AVX2 cores, 1 h on 2 AVX-512 cores). The first run (8 epochs, no augmentation: 99.40 %) overfit: validation accuracy flat
#      from epoch 5 while training accuracy reached 100 %;
#   2. Fashion-MNIST headline: the same, 7 epochs with horizontal flips only (about 2 h on 2 AVX2 cores). The first run (10 epochs,
#      crops and flips: 91.48 %) underfit: training accuracy on augmented images stayed below validation accuracy;
#   3. surrogates compared on one budget (3 epochs on the first 10 000 training images, 1 000 of them held out,
#      the full test set), MNIST and Fashion-MNIST, seeds 1-3: rectangle (a = 1), triangle (γ = 1), arctangent (α = 2),
#      Dspike with a fixed b = 3, and Dspike from b = 3 with the FDG temperature search after every epoch (32 sampled
#      first-layer weights, ε = 1e-2, Δb = 0.5): 30 runs, about 3 h on 2 AVX-512 cores, 6 h on 2 AVX2 cores;
#   4. the ε stability check of the search's finite differences, on part 1's final checkpoint (bench/fdg-eps.mjs).
# Each run writes into OUT/<name>; running the script again resumes unfinished runs and skips finished ones. Part 3's
# runs also record their log and final result in docs/results/training-cmp/<name>.{csv,json} (commit them): a run
# recorded there is skipped, so the 30 runs can span sessions on machines that do not keep OUT.
# usage: bash bench/training-results.sh OUT_DIR [1|2|3|4 ...]   (after npm run setup)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?output folder}; shift
parts=${*:-1 2 4 3}
S="node ${SNNKIT_DIST:-dist}/src/cli/main.js"
cmp=docs/results/training-cmp
headline=(--arch snn-mnist-cnn --T 4 --neuron lif --tau 2 --loss tet --optimizer adam --lr 1e-3 --weight-decay 0 --batch-size 64 --seed 0 --json)
compare=(--arch snn-mnist-cnn --T 4 --neuron lif --tau 2 --loss tet --optimizer adam --lr 1e-3 --weight-decay 0 --batch-size 64
  --epochs 3 --train-limit 10000 --val-size 1000 --json)
for p in $parts; do case $p in
  1) $S train-snn --dataset mnist --epochs 7 --surrogate atan:2 --augment crop "${headline[@]}" --out "$out/mnist-T4-crop" | tail -1 ;;
  2) $S train-snn --dataset fashion-mnist --epochs 7 --surrogate atan:2 --augment flip "${headline[@]}" --out "$out/fmnist-T4-flip" | tail -1 ;;
  3) for ds in fashion-mnist mnist; do for seed in 1 2 3; do
       for s in rectangle:1 triangle:1 atan:2 dspike:3 dspike:3:fdg; do
         name="cmp-$ds-${s//:/}-s$seed"
         [ -f "$cmp/$name.json" ] && continue
         fdg=(); [ "${s%:fdg}" != "$s" ] && fdg=(--fdg --fdg-weights 32 --fdg-eps 1e-2 --fdg-step 0.5)
         t0=$(date +%s)
         $S train-snn --dataset $ds --surrogate "${s%:fdg}" "${fdg[@]}" --seed $seed "${compare[@]}" --out "$out/$name" | tail -1 > "$out/$name.last"
         mkdir -p "$cmp" && cp "$out/$name/log.csv" "$cmp/$name.csv"
         node bench/stamp-result.mjs "$out/$name.last" "$t0" > "$cmp/$name.json"
         tail -1 "$cmp/$name.json"
       done
     done; done ;;
  4) node bench/fdg-eps.mjs --model "$out/mnist-T4-crop/last.safetensors" --dataset mnist | tee "$out/fdg-eps.md" | tail -1 ;;
  *) echo "unknown part $p" >&2; exit 2 ;;
esac; done
