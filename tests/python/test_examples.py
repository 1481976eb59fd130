"""The examples run against the embedded simulator, and Ctrl-C on a Python run stops it cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap

from conftest import EXAMPLES


def run_example(python, env, name, *args, cwd):
    proc = subprocess.run([python, str(EXAMPLES / name), "--sim", *args], capture_output=True,
                          text=True, timeout=300, env=env, cwd=cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_basic(python, child_env, tmp_path):
    out = run_example(python, child_env, "basic.py", "--runs", "6", "--out", "b.json",
                      cwd=tmp_path)
    doc = json.loads((tmp_path / "b.json").read_text())
    assert [r["label"] for r in doc["runs"]] == ["concurrency=1", "concurrency=2", "concurrency=4"]
    assert "TTFT" in out and "concurrency=4: 6/6 ok" in out
    assert "24 requests reported live" in out


def test_hf_dataset(python, child_env, tmp_path):
    out = run_example(python, child_env, "hf_dataset.py", "--samples", "4", cwd=tmp_path)
    assert "4 prompts, e.g. 'Natalia sold clips to 12" in out
    doc = json.loads((tmp_path / "hf_results.json").read_text())
    assert len(doc["config"]["prompts"]) == 4
    assert all(r["summary"]["requests"]["ok"] == 8 for r in doc["runs"])


def test_prefill_vs_decode(python, child_env, tmp_path):
    out = run_example(python, child_env, "prefill_vs_decode.py", "--prompt-tokens", "256",
                      "--output-tokens", "24", "--runs", "4", cwd=tmp_path)
    # The simulator reports exactly the asked prompt length, and every decode request ran to
    # max_tokens because of ignore_eos.
    assert out.count("prompt tokens per request as served: [256]") == 2
    assert out.count("output tokens per request: [24]") == 2


CHILD = textwrap.dedent("""
    import sys
    from splleed import Benchmark, SamplingParams, SimBackend

    def on_request(record):
        if on_request.first:
            on_request.first = False
            print("first record", flush=True)
    on_request.first = True

    results = Benchmark(SimBackend(ttft_ms=1, itl_ms=1), concurrency=[2, 4], runs=1_000_000,
                        warmup=0, sampling=SamplingParams(max_tokens=4),
                        on_request=on_request, output_file=sys.argv[1]).run_sync()
    print("interrupted", results.interrupted, results.stop_reason, flush=True)
    sys.exit(130 if results.interrupted else 0)
""")


def test_ctrl_c_in_a_child_process(python, child_env, tmp_path):
    out = tmp_path / "partial.json"
    proc = subprocess.Popen([python, "-c", CHILD, str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=child_env)
    try:
        line = proc.stdout.readline()  # the run is under way once a record has come back
        assert line == "first record\n", proc.stderr.read() if not line else line
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted True interrupted by Ctrl-C" in rest
    doc = json.loads(out.read_text())
    assert doc["interrupted"] and doc["stop_reason"] == "interrupted by Ctrl-C"
    assert len(doc["runs"]) == 1 and doc["runs"][0]["requests"]
