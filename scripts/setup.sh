#!/usr/bin/env bash
# Installs what snnkit needs, idempotently and fast when already done:
#   1. system packages (libtorch, OpenBLAS with OpenMP threads, build tools, Fashion-MNIST) via apt,
#   2. npm dependencies, 3. the native addon, 4. the TypeScript build.
# LIBTORCH=/path/to/libtorch uses a downloaded CPU or CUDA libtorch instead of Debian's libtorch-dev.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

# --- 1. system packages --------------------------------------------------------------------------------------------
# libopenblas0-openmp, not -pthread: only the OpenMP build follows at::set_num_threads (measured, see docs/results/engine.md).
pkgs=(g++ make python3 libopenblas0-openmp dataset-fashion-mnist)
# libdnnl-dev: the headers of the oneDNN that libtorch-dev links (the 8-bit spike convolution)
[ -n "${LIBTORCH:-}" ] || pkgs+=(libtorch-dev libdnnl-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    log "missing: ${missing[*]}. This is not a Debian/Ubuntu system: install a C++17 compiler, make, python3,"
    log "OpenBLAS (OpenMP build) and libtorch 1.13+ (https://pytorch.org, then export LIBTORCH=/path/to/libtorch)."
    exit 1
  fi
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  log "installing with apt: ${missing[*]} (libtorch-dev is ~1 GB the first time)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# libblas.so.3 must resolve to OpenBLAS, not reference BLAS (15x slower matmul).
if command -v update-alternatives >/dev/null; then
  alt=/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3
  cur=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/{print $2}')
  if [ -e "$alt" ] && [ "$cur" != "$alt" ]; then
    log "pointing libblas.so.3 at OpenBLAS (OpenMP)"
    ${SUDO:-} update-alternatives --set libblas.so.3-x86_64-linux-gnu "$alt" >/dev/null || true
  fi
fi

# --- 2. npm dependencies -------------------------------------------------------------------------------------------
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] || { [ -f package-lock.json ] && [ package-lock.json -nt "$stamp" ]; }; then
  log "installing npm dependencies"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --ignore-scripts >&2; else npm install --no-audit --no-fund --ignore-scripts >&2; fi
fi

# --- 3. native addon -----------------------------------------------------------------------------------------------
bash scripts/build.sh addon

# --- 4. TypeScript -------------------------------------------------------------------------------------------------
bash scripts/build.sh ts
