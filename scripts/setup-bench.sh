#!/usr/bin/env bash
# What the benchmarks in bench/ need beyond `npm run setup`: PyTorch for Debian's own interpreter (/usr/bin/python3),
# the reference the engine benchmark compares against. Idempotent: a no-op when torch already imports.
set -euo pipefail

log() { printf '[setup-bench] %s\n' "$*" >&2; }
PY=/usr/bin/python3

if [ -x "$PY" ] && "$PY" -c 'import torch' 2>/dev/null; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  log "PyTorch is not importable with $PY and this is not a Debian/Ubuntu system: install PyTorch 1.13 for a Python 3"
  log "interpreter and run the benchmark with SNNKIT_BENCH_PYTHON=/path/to/python3."
  exit 1
fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
log "installing python3-torch with apt (the PyTorch reference of bench/engine.mjs)"
# A fresh machine may have no package lists yet: update only when apt does not know the package.
if ! apt-cache show python3-torch >/dev/null 2>&1; then
  $SUDO apt-get update -qq
fi
if ! $SUDO apt-get install -y -qq --no-install-recommends python3-torch >/dev/null; then
  log "apt-get install failed; retrying after apt-get update (the package lists may be stale)"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends python3-torch >/dev/null
fi
"$PY" -c 'import torch' || { log "python3-torch is installed but $PY still cannot import torch"; exit 1; }
log "PyTorch $("$PY" -c 'import torch; print(torch.__version__)') ready"
