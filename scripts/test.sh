#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with warnings as errors, runs every test,
# installs the Python package and runs its tests, runs the real-engine tests (llama-cpp-python),
# then runs the C++ tests again under AddressSanitizer + UBSan. SPLLEED_SKIP_PYTHON=1,
# SPLLEED_SKIP_REAL_ENGINE=1 and SPLLEED_SKIP_SANITIZERS=1 skip those parts.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
jobs=$(nproc)

# The Python extension module is built in the same tree, so the package install below reuses it.
python_args=()
if [ "${SPLLEED_SKIP_PYTHON:-0}" != 1 ]; then
  python_args=(-DSPLLEED_PYTHON=ON "-DPython_EXECUTABLE=$("$root/scripts/python-env.sh")")
fi
"$root/scripts/build.sh" "$root/build" "${python_args[@]}"
ctest --test-dir "$root/build" --output-on-failure -j"$jobs"

# The Python package: pip install into .venv, then pytest.
if [ "${SPLLEED_SKIP_PYTHON:-0}" != 1 ]; then
  SPLLEED_PYTHON_BUILD_DIR="$root/build" "$root/scripts/test-python.sh"
fi

# A real engine (llama-cpp-python on a tiny generated model): needs the Python package above.
# The first run on a machine builds llama.cpp inside pip; pip caches the wheel for later runs.
if [ "${SPLLEED_SKIP_PYTHON:-0}" != 1 ] && [ "${SPLLEED_SKIP_REAL_ENGINE:-0}" != 1 ]; then
  "$root/tests/llamacpp/run.sh" "$root/build"
fi

if [ "${SPLLEED_SKIP_SANITIZERS:-0}" != 1 ]; then
  "$root/scripts/build.sh" "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DSPLLEED_SANITIZE=ON -DSPLLEED_BENCH=OFF
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$root/build-asan" --output-on-failure -j"$jobs"
fi
