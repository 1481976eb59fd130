#!/usr/bin/env bash
# Configures and builds splleed. Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# Compiles through ccache when it is installed; paths are hashed relative to the checkout, so a
# fresh clone of the same sources (CI) reuses objects compiled in another checkout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build}
shift || true
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
fi
cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPLLEED_WERROR=ON \
  "${launcher[@]}" "$@" >/dev/null
cmake --build "$dir"
