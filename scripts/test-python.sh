#!/usr/bin/env bash
# Builds and installs the Python package into .venv, then runs the Python tests (tests/python).
# The CMake build directory (build-python/) persists, so a second run only rebuilds what changed.
# Build requirements are installed into the venv and the build runs without isolation: an
# isolated build would put nanobind under a new temporary path each time and rebuild everything.
# pandas is installed so that to_pandas() is tested; the datasets package is faked in the tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-deps.sh"

venv="$root/.venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
py="$venv/bin/python"
if ! "$py" -c "import scikit_build_core, nanobind, pytest, pandas" 2>/dev/null; then
  "$py" -m pip install --quiet --disable-pip-version-check \
    "scikit-build-core>=0.10" "nanobind>=2.0" pytest pandas
fi
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
"$py" -m pip install --quiet --disable-pip-version-check --no-build-isolation "$root"
exec "$py" -m pytest -q tests/python "$@"
