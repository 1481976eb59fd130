#!/usr/bin/env bash
# A real engine end to end: llama-cpp-python serving a tiny random GGUF model
#   1. started and stopped by splleed's supervisor (tests/launch/real_engine_test.cpp),
#   2. benchmarked through the Python API, in connect and managed mode
#      (tests/python/test_real_engine.py: token counts, exact lengths, chat, a failure case),
#   3. checked by hand with curl, so a failure can be told apart from splleed's own code.
#
#   bash tests/llamacpp/run.sh [BUILD_DIR]     (BUILD_DIR defaults to build; it must hold
#                                               bin/splleed_launch_tests)
#
# Step 2 needs a Python with the splleed package installed: $SPLLEED_TEST_PYTHON, else the
# repository's .venv (scripts/test-python.sh installs it there); it is skipped, with a note, when
# neither has it.
#
# The versions are pinned so that pip reuses its cached wheel. First use builds llama.cpp from
# source inside `pip install llama-cpp-python` (minutes on a small
# machine; the wheel is kept in pip's cache, so later venvs install in seconds). Everything lives
# under build-llamacpp/ in the repository root. Exit status 0 when every check passes.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build}"
work="$root/build-llamacpp"
venv="$work/venv"
model="$work/tiny.gguf"
mkdir -p "$work"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import llama_cpp.server, gguf' 2>/dev/null; then
  echo "installing llama-cpp-python[server] and gguf into $venv (builds llama.cpp on first use)"
  start=$(date +%s)
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    "$venv/bin/pip" install --quiet 'llama-cpp-python[server]==0.3.36' 'gguf==0.19.0'
  echo "installed in $(( $(date +%s) - start )) s"
fi

"$venv/bin/python" "$root/scripts/make-tiny-gguf.py" "$model"

# 1. Through the supervisor: launch, health, engine info, streamed completion and chat, stop.
tests="$build/bin/splleed_launch_tests"
if [ -x "$tests" ]; then
  SPLLEED_LLAMACPP_PYTHON="$venv/bin/python" SPLLEED_TINY_GGUF="$model" \
    "$tests" --gtest_filter='RealEngine.*'
else
  echo "note: $tests not built; skipping the supervisor check" >&2
fi

# 2. Through the Python API (connect and managed mode).
test_python="${SPLLEED_TEST_PYTHON:-$root/.venv/bin/python}"
if [ -x "$test_python" ] && "$test_python" -c 'import splleed, pytest' 2>/dev/null; then
  SPLLEED_LLAMACPP_PYTHON="$venv/bin/python" SPLLEED_TINY_GGUF="$model" SPLLEED_REQUIRE_REAL_ENGINE=1 \
    "$test_python" -m pytest -q "$root/tests/python/test_real_engine.py"
else
  echo "note: no Python with splleed installed ($test_python); skipping the Python API checks" >&2
fi

# 3. By hand with curl.
port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log="$work/server.log"
"$venv/bin/python" -m llama_cpp.server --model "$model" --host 127.0.0.1 --port "$port" \
  --n_ctx 512 --model_alias tiny >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do  # bounded: 60 s
  if curl -fsS "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1; then break; fi
  if ! kill -0 $server 2>/dev/null; then echo "server exited; log:"; tail -20 "$log"; exit 1; fi
  sleep 0.1
done
completion=$(curl -fsS -N "http://127.0.0.1:$port/v1/completions" -H 'Content-Type: application/json' \
  -d '{"model":"tiny","prompt":"Hello","max_tokens":16,"stream":true}')
chat=$(curl -fsS -N "http://127.0.0.1:$port/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"model":"tiny","messages":[{"role":"user","content":"Hi"}],"max_tokens":16,"stream":true}')
fail=0
grep -q '^data: {' <<<"$completion" || { echo "completion stream has no data events"; fail=1; }
grep -q '\[DONE\]' <<<"$completion" || { echo "completion stream has no [DONE]"; fail=1; }
grep -q 'chat.completion.chunk' <<<"$chat" || { echo "chat stream has no chunks"; fail=1; }
grep -q '\[DONE\]' <<<"$chat" || { echo "chat stream has no [DONE]"; fail=1; }
echo "completion events: $(grep -c '^data: {' <<<"$completion"), chat events: $(grep -c '^data: {' <<<"$chat")"
if [ $fail -eq 0 ]; then echo "llama-cpp-python: streaming completions and chat OK"; fi
exit $fail
