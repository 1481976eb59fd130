#!/usr/bin/env bash
# Builds and installs the Python package into .venv, then runs the Python tests (tests/python).
# Usage: scripts/test-python.sh [pytest args...]
# By default the CMake build directory is build-python/ (kept, so a second run only rebuilds what
# changed). With SPLLEED_PYTHON_BUILD_DIR=DIR the install reuses an existing build tree configured
# by scripts/build.sh with -DSPLLEED_PYTHON=ON (as scripts/test.sh does), so nothing compiled there
# is compiled twice. Build requirements live in the venv and the build runs without isolation: an
# isolated build would put nanobind under a new temporary path each time and rebuild everything.
# pandas is installed so that to_pandas() is tested; the datasets package is faked in the tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-deps.sh"
py=$("$root/scripts/python-env.sh")

pip_args=(--quiet --disable-pip-version-check --no-build-isolation)
if [ -n "${SPLLEED_PYTHON_BUILD_DIR:-}" ]; then
  # The same settings scripts/build.sh configured the tree with, so the reconfigure changes nothing.
  pip_args+=(-C "build-dir=$SPLLEED_PYTHON_BUILD_DIR" -C cmake.build-type=RelWithDebInfo
             -C cmake.define.SPLLEED_TESTS=ON -C cmake.define.SPLLEED_BENCH=ON
             -C cmake.define.SPLLEED_WERROR=ON)
fi
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
"$py" -m pip install "${pip_args[@]}" "$root"
exec "$py" -m pytest -q tests/python "$@"
