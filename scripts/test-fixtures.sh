#!/usr/bin/env bash
# Writes the generated test fixtures (gitignored, never committed): the PyTorch checkpoints that test/formats/pytorch.test.ts
# and the fuzzer's PyTorch targets read, saved by Debian's PyTorch (python3-torch, installed by scripts/setup-bench.sh)
# into test/fixtures/torch-gen/. Idempotent: skipped when the files are newer than the script that writes them.
set -euo pipefail
cd "$(dirname "$0")/.."

out=test/fixtures/torch-gen
gen=scripts/write-torch-fixtures.py
if [ -f "$out/expected.json" ] && [ "$out/expected.json" -nt "$gen" ]; then exit 0; fi
bash scripts/setup-bench.sh
printf '[test-fixtures] writing %s with PyTorch\n' "$out" >&2
rm -rf "$out.tmp" && mkdir -p "$out.tmp"
/usr/bin/python3 "$gen" "$out.tmp"
rm -rf "$out" && mv "$out.tmp" "$out"
