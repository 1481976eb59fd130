"""A real engine end to end: llama-cpp-python's OpenAI-compatible server on a tiny random GGUF model.

These tests run when SPLLEED_LLAMACPP_PYTHON (a Python with ``llama-cpp-python[server]``) and
SPLLEED_TINY_GGUF (a model from scripts/make-tiny-gguf.py) are set; ``tests/llamacpp/run.sh`` prepares both and sets
SPLLEED_REQUIRE_REAL_ENGINE=1, which turns a missing setup into a failure instead of a skip.

The tiny model's tokens each decode to visible ASCII text and it never emits end-of-sequence or
other control tokens (see the script), so every generation is exactly ``max_tokens`` tokens, one
stream chunk each: llama-cpp-python has no ``ignore_eos``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

import splleed
from splleed import Benchmark, OpenAIConfig, SamplingParams

ENGINE_PYTHON = os.environ.get("SPLLEED_LLAMACPP_PYTHON", "")
MODEL = os.environ.get("SPLLEED_TINY_GGUF", "")
REQUIRED = os.environ.get("SPLLEED_REQUIRE_REAL_ENGINE") == "1"

if not (ENGINE_PYTHON and MODEL):
    if REQUIRED:
        raise RuntimeError("SPLLEED_REQUIRE_REAL_ENGINE=1 but SPLLEED_LLAMACPP_PYTHON or "
                           "SPLLEED_TINY_GGUF is not set")
    pytest.skip("no real engine: set SPLLEED_LLAMACPP_PYTHON and SPLLEED_TINY_GGUF "
                "(tests/llamacpp/run.sh does)", allow_module_level=True)

N_CTX = 512
MAX_TOKENS = 12


def exact(max_tokens: int = MAX_TOKENS) -> SamplingParams:
    return SamplingParams(max_tokens=max_tokens, ignore_eos=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: dict) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One llama-cpp-python server for the connect-mode tests, as a user would start it."""
    port = free_port()
    log = tmp_path_factory.mktemp("engine") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [ENGINE_PYTHON, "-m", "llama_cpp.server", "--model", MODEL, "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", str(N_CTX), "--model_alias", "tiny",
             "--interrupt_requests", "False"],
            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                with urllib.request.urlopen(url + "/v1/models", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("llama-cpp-python did not start:\n" + log.read_text())
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measured(results) -> list:
    return [r for r in results.to_dict()["runs"][0]["requests"] if not r["warmup"]]


def check_exact_streams(records: list, max_tokens: int) -> None:
    for r in records:
        assert r["status"] == "ok", r
        assert r["finish_reason"] == "length", r
        events = r["token_events"]
        assert len(events) == max_tokens, r  # one visible piece per token
        assert sum(n for _, n in events) == max_tokens
        times = [t for t, _ in events]
        assert times == sorted(times)
        assert r["dispatched_ns"] <= r["first_token_ns"] == times[0]
        assert times[-1] == r["last_token_ns"] <= r["end_ns"]


@pytest.mark.parametrize("api", ["completions", "chat"])
def test_streams_are_measured_token_by_token(server, api):
    res = Benchmark(OpenAIConfig(endpoint=server, model="tiny", api=api),
                    prompts=["Hello there", "The quick brown fox"], concurrency=2, runs=4,
                    warmup=1, sampling=exact(), scrape_metrics=False).run_sync()
    records = measured(res)
    assert len(records) == 4
    check_exact_streams(records, MAX_TOKENS)
    summary = res.runs[0].summary
    assert summary.requests_ok == 4
    assert summary.requests_failed == 0
    if api == "chat":  # the role-only first chunk is an event but not a token; it may arrive
        # in the same read as the first token, and then shares its receive time
        assert all(r["first_event_ns"] <= r["first_token_ns"] for r in records)


def test_counted_tokens_match_the_servers_usage(server):
    # llama-cpp-python streams carry no usage; the same request unstreamed reports it.
    sampling = exact(9)
    status, body = post(server + "/v1/completions",
                        {"model": "tiny", "prompt": "Hello there", "max_tokens": 9})
    assert status == 200, body
    usage = json.loads(body)["usage"]
    res = Benchmark(OpenAIConfig(endpoint=server, model="tiny"), prompts=["Hello there"],
                    concurrency=1, runs=2, warmup=0, sampling=sampling,
                    scrape_metrics=False).run_sync()
    for r in measured(res):
        assert r["status"] == "ok"
        assert sum(n for _, n in r["token_events"]) == usage["completion_tokens"] == 9


def test_the_servers_own_tokenizer_builds_prompts_of_exact_length(server):
    # llama-cpp-python has no /tokenize; splleed falls back to its /extras/tokenize, which always
    # adds the BOS token: that is taken off the client's count and is in the server's usage.
    status, body = post(server + "/extras/tokenize", {"model": "tiny", "input": ""})
    assert status == 200, body
    forced = len(json.loads(body)["tokens"])
    bench = Benchmark(OpenAIConfig(endpoint=server, model="tiny"),
                      workload={"input_len": 20, "output_len": 3, "num_prompts": 3},
                      tokenizer="server", concurrency=1, runs=3, warmup=0,
                      scrape_metrics=False)
    assert len(bench.prompts) == 3
    for prompt in bench.prompts:
        status, body = post(server + "/v1/completions",
                            {"model": "tiny", "prompt": prompt, "max_tokens": 1})
        assert status == 200, body
        assert json.loads(body)["usage"]["prompt_tokens"] == 20 + forced, prompt
    results = bench.run_sync()
    assert results.workload["approximate"] is False
    for rec in results.runs[0].measured:
        assert rec.ok
        assert rec.client_prompt_tokens == 20


def test_a_prompt_past_the_context_is_a_failed_request_and_the_run_goes_on(server):
    too_long = "word " * (N_CTX + 100)
    res = Benchmark(OpenAIConfig(endpoint=server, model="tiny"),
                    prompts=["Hello there", too_long], concurrency=1, runs=4, warmup=0,
                    sampling=exact(4), scrape_metrics=False).run_sync()
    records = measured(res)
    by_prompt = {0: [], 1: []}
    for r in records:
        by_prompt[r["prompt_index"]].append(r)
    assert by_prompt[0] and by_prompt[1]
    assert all(r["status"] == "ok" for r in by_prompt[0]), \
        [(r["index"], r["status"], r["error"]) for r in records]
    for r in by_prompt[1]:
        assert r["status"] != "ok", r
        assert r["error"], r
        assert not r["token_events"]
    summary = res.runs[0].summary
    assert summary.requests_ok == len(by_prompt[0])
    assert summary.requests_failed == len(by_prompt[1])


def test_managed_mode_launches_benchmarks_and_stops_the_engine(tmp_path):
    res = Benchmark(OpenAIConfig(model=MODEL), launch="llamacpp-python",
                    engine_binary=ENGINE_PYTHON, engine_options={"n_ctx": N_CTX},
                    engine_log_dir=str(tmp_path), prompts=["Hello there"], concurrency=2,
                    runs=4, warmup=0, sampling=exact(6), scrape_metrics=False).run_sync()
    assert not res.interrupted, res.stop_reason
    check_exact_streams(measured(res), 6)
    launched = res.launched_engine
    assert launched["engine"] == "llamacpp-python"
    assert "--interrupt_requests" in launched["argv"]
    assert launched["argv"][launched["argv"].index("--interrupt_requests") + 1] == "False"
    assert not launched["exited_during_run"]
    assert Path(launched["log_path"]).is_file()
    assert res.environment["engine"]["engine"] == "llama-cpp-python"


def test_managed_mode_with_a_missing_model_fails_with_a_clear_message(tmp_path):
    missing = str(tmp_path / "no-such-model.gguf")
    bench = Benchmark(OpenAIConfig(model=missing), launch="llamacpp-python",
                      engine_binary=ENGINE_PYTHON, engine_log_dir=str(tmp_path),
                      prompts=["Hello there"], runs=1)
    with pytest.raises(splleed.BenchmarkError, match="no-such-model.gguf"):
        bench.run_sync()
