#!/usr/bin/env bash
# One command for a newcomer: install what is missing, build, and benchmark the embedded simulator.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build"
exec "$root/build/bin/splleed" run --sim "$@"
