#!/usr/bin/env bash
# Creates .venv (if missing) with what building and testing the Python package needs, and prints
# the path of its interpreter.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
py="$venv/bin/python"
if ! "$py" -c "import scikit_build_core, nanobind, pytest, pandas" 2>/dev/null; then
  "$py" -m pip install --quiet --disable-pip-version-check \
    "scikit-build-core>=0.10" "nanobind>=2.0" pytest pandas >&2
fi
echo "$py"
