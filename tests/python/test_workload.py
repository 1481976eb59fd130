"""Workload options through the Python API: the same names and results as `splleed run`."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request

import pytest

from splleed import Benchmark, ConfigError, OpenAIConfig, SamplingParams, SimBackend, sim_tokenizer


def four_char_tokenizer(path) -> str:
    """A tokenizer.json that makes every run of up to 4 characters one token: the embedded
    simulator's rule for ASCII text, so client and server counts agree exactly."""
    tok = {
        "version": "1.0",
        "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": ".{1,4}"}, "behavior": "Isolated",
             "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
             "use_regex": False},
        ]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>",
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": True, "byte_fallback": False, "vocab": {"<unk>": 0}, "merges": []},
    }
    file = path / "tokenizer.json"
    file.write_text(json.dumps(tok))
    return str(file)


def test_synthetic_workload_has_exact_lengths_and_an_identity(fast_sim, tmp_path):
    bench = Benchmark(fast_sim, workload={"input_len": 32, "output_len": 5, "num_prompts": 4},
                      tokenizer=four_char_tokenizer(tmp_path), concurrency=2, runs=6, warmup=0,
                      seed=3)
    assert len(bench.prompts) == 4
    assert bench.config["prompt_max_tokens"] == [5, 5, 5, 5]
    results = bench.run_sync()
    identity = results.workload
    assert identity["source"] == "synthetic"
    assert identity["seed"] == 3
    assert identity["approximate"] is False
    assert identity["input_tokens"]["min"] == identity["input_tokens"]["max"] == 32
    for rec in results.runs[0].measured:
        assert rec.ok
        assert rec.usage["prompt_tokens"] == 32
        assert rec.client_prompt_tokens == 32
        assert rec.output_tokens == 5
        assert rec.session is None and rec.turn is None


def test_checks_beside_the_figures(fast_sim, tmp_path):
    bench = Benchmark(fast_sim, workload={"input_len": 8, "output_len": 4, "num_prompts": 2},
                      tokenizer=four_char_tokenizer(tmp_path), concurrency=1, runs=4, warmup=0,
                      sampling=SamplingParams(ignore_eos=True))
    run = bench.run_sync().runs[0]
    assert run.output_length == {"checked": 4, "exact": 4, "shorter": 0, "longer": 0,
                                 "examples": []}
    assert run.token_counts["tpot_source"] == "usage"
    assert run.token_counts["prompt"] == {"compared": 4, "disagree": 0}
    assert run.by_turn == []  # no multi-turn sessions
    for rec in run.measured:
        assert rec.exact_output_tokens == 4
        assert rec.token_counts_disagree == []


def test_without_a_tokenizer_lengths_are_approximate(fast_sim):
    bench = Benchmark(fast_sim, workload={"dataset_format": "synthetic", "input_len": 6,
                                          "num_prompts": 2}, runs=2, concurrency=1, warmup=0)
    results = bench.run_sync()
    assert results.workload["approximate"] is True
    assert results.workload["input_tokens"] is None
    assert all(r.client_prompt_tokens is None for r in results.requests)


def test_inline_prompts_and_a_text_dataset(fast_sim, tmp_path):
    bench = Benchmark(fast_sim, prompts=["one two", "three"], workload={"output_len": 3},
                      runs=2, concurrency=1, warmup=0)
    assert bench.config["workload"]["source"] == "inline"
    assert bench.config["prompt_max_tokens"] == [3, 3]

    data = tmp_path / "prompts.txt"
    data.write_text("first prompt\n\nsecond prompt\nthird prompt\n")
    bench = Benchmark(fast_sim, workload={"dataset": str(data), "num_prompts": 2,
                                          "shuffle": True}, runs=2, concurrency=1, warmup=0)
    assert len(bench.prompts) == 2
    identity = bench.config["workload"]
    assert identity["source"] == "text" and identity["path"] == str(data)
    assert len(identity["sha256"]) == 64
    assert bench.run_sync().runs[0].summary.requests_ok == 2


@pytest.mark.parametrize(
    "workload, tokenizer, field",
    [
        ({"input_len": "uniform:1:x"}, None, "workload.input_len"),
        ({"num_prompts": 0, "input_len": 4}, None, "workload.num_prompts"),
        ({"bogus": 1}, None, "workload.bogus"),
        ({"seed": 4}, None, "workload.seed"),
        ({"input_len": [1, 2]}, None, "workload.input_len"),
        ({"input_len": 4}, "/nonexistent/tokenizer.json", "tokenizer"),
        ({"dataset": "/nonexistent/prompts.txt"}, None, "workload"),
    ],
)
def test_bad_workload_options_name_the_field(fast_sim, workload, tokenizer, field):
    with pytest.raises(ConfigError) as e:
        Benchmark(fast_sim, workload=workload, tokenizer=tokenizer)
    assert e.value.field == field, str(e.value)
    assert "\n" not in str(e.value)


def test_python_and_cli_build_the_same_workload(cli, tmp_path):
    tok = four_char_tokenizer(tmp_path)
    sim = SimBackend(ttft_ms=2, itl_ms=0.5, prefill_us_per_token=1, step_us_per_running=5)
    py = Benchmark(sim, workload={"input_len": "uniform:4:40", "output_len": "uniform:1:6",
                                  "num_prompts": 5, "prefix_groups": 2, "prefix_len": 8},
                   tokenizer=tok, runs=5, concurrency=1, warmup=0, seed=9,
                   sampling=SamplingParams(max_tokens=6))
    out = tmp_path / "cli.json"
    subprocess.run(
        [cli, "run", "--sim", "--sim-ttft-ms", "2", "--sim-itl-ms", "0.5", "--input-len",
         "uniform:4:40", "--output-len", "uniform:1:6", "--num-prompts", "5", "--prefix-groups",
         "2", "--prefix-len", "8", "--tokenizer", tok, "--num-requests", "5", "--concurrency",
         "1", "--warmup", "0", "--seed", "9", "--max-tokens", "6", "--no-scrape", "--json",
         str(out)],
        check=True, capture_output=True)
    cli_config = json.loads(out.read_text())["config"]
    for key in ("prompts", "prompt_max_tokens", "prompt_messages", "prompt_input_tokens",
                "workload"):
        assert py.config[key] == cli_config[key], key


@pytest.fixture
def sim_server(cli):
    """`splleed sim` as its own process, as a user would run it before `--tokenizer server`."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([cli, "sim", "--port", str(port), "--ttft-ms", "2", "--itl-ms", "0.5"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("splleed sim did not start: " + proc.stderr.read().decode())
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_servers_tokenizer_gives_prompts_it_counts_exactly(sim_server):
    bench = Benchmark(OpenAIConfig(endpoint=sim_server, model="splleed-sim"),
                      workload={"input_len": 24, "output_len": 3, "num_prompts": 3},
                      tokenizer="server", concurrency=1, runs=3, warmup=0)
    assert [len(sim_tokenizer(p)) for p in bench.prompts] == [24, 24, 24]
    results = bench.run_sync()
    assert results.workload["approximate"] is False
    for rec in results.runs[0].measured:
        assert rec.ok
        assert rec.usage["prompt_tokens"] == rec.client_prompt_tokens == 24


def test_the_servers_tokenizer_needs_a_running_server(fast_sim):
    with pytest.raises(ConfigError, match="needs a running server") as e:
        Benchmark(fast_sim, workload={"input_len": 8}, tokenizer="server")
    assert e.value.field == "tokenizer"
