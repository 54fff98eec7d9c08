#!/usr/bin/env bash
# Builds the addon (when a native source changed) and the TypeScript (incrementally).
# usage: scripts/build.sh [addon|ts|all] [--force]
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}; force=${2:-}
log() { printf '[build] %s\n' "$*" >&2; }

if [ "$what" = addon ] || [ "$what" = all ]; then
  out=build/Release/snnkit.node
  stale=""
  if [ ! -f "$out" ] || [ "$force" = --force ]; then stale=1
  elif [ -n "$(find native binding.gyp scripts/torch-config.mjs -newer "$out" -type f 2>/dev/null | head -1)" ]; then stale=1
  elif [ "$(cat build/.libtorch 2>/dev/null)" != "${LIBTORCH:-system}" ]; then stale=1
  fi
  if [ -n "$stale" ]; then
    log "compiling the native addon (about 2 minutes on 2 cores)"
    # Incremental when only sources changed; a full rebuild when the build files or the libtorch choice changed.
    verb=build
    if [ ! -f build/Makefile ] || [ "$force" = --force ] || [ binding.gyp -nt build/Makefile ] ||
       [ "$(cat build/.libtorch 2>/dev/null)" != "${LIBTORCH:-system}" ]; then verb=rebuild; fi
    args=("$verb" -j "$(nproc)")
    [ -f /usr/include/node/node_api.h ] && args+=(--nodedir=/usr)
    npx --no-install node-gyp "${args[@]}" >build.log 2>&1 || { tail -n 60 build.log >&2; log "addon build failed (full log: build.log)"; exit 1; }
    echo "${LIBTORCH:-system}" > build/.libtorch
  fi
fi

if [ "$what" = ts ] || [ "$what" = all ]; then
  npx --no-install tsc -p tsconfig.json
  chmod +x dist/src/cli/main.js
fi
