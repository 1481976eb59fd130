"""The Python API and `splleed run --json` give the same results for the same seeded run, in
everything that does not depend on timing."""

from __future__ import annotations

import json
import subprocess

import splleed
from splleed import Benchmark, SamplingParams, SimBackend

PROMPTS = ["The quick brown fox", "jumps over the lazy dog and keeps running", "Hello"]


def deterministic(doc: dict) -> dict:
    """The parts of a results document that a seeded run fixes. (Not output_bytes: the
    simulator's token text depends on the order in which concurrent requests reach it.)"""
    config = json.loads(json.dumps(doc["config"]))
    config["target"].pop("base_url")  # the embedded simulator's port
    runs = []
    for run in doc["runs"]:
        s = run["summary"]
        runs.append({
            "keys": list(run),
            "label": run["label"], "mode": run["mode"], "concurrency": run["concurrency"],
            "request_rate": run["request_rate"], "trial": run["trial"],
            "summary_keys": list(s),
            "requests": s["requests"], "tokens": s["tokens"],
            "metric_counts": {k: v["count"] for k, v in s["metrics"].items()},
            "records": [
                {k: r[k] for k in ("index", "prompt_index", "warmup", "ramp_up", "status",
                                   "http_status", "error", "finish_reason", "usage",
                                   "output_tokens", "events")}
                | {"token_counts": [e[1] for e in r["token_events"]], "keys": list(r),
                   "request_id": r["request_id"]}
                for r in run["requests"]
            ],
        })
    return {
        "keys": list(doc),
        "schema_version": doc["schema_version"],
        "splleed_version": doc["splleed_version"],
        "config": config,
        "environment": {k: doc["environment"][k] for k in ("target_url", "served_model",
                                                          "splleed_version", "build_commit")},
        "interrupted": doc["interrupted"],
        "definitions": doc["definitions"],
        "runs": runs,
        "aggregate_labels": [a["label"] for a in doc["aggregates"]],
    }


def test_python_and_cli_json_agree(cli, tmp_path):
    sim = SimBackend(ttft_ms=2, itl_ms=0.5, prefill_us_per_token=1, step_us_per_running=5)
    py = Benchmark(sim, prompts=PROMPTS, concurrency=[1, 3], runs=5, warmup=1, seed=11,
                   trials=2, sampling=SamplingParams(max_tokens=6, ignore_eos=True),
                   scrape_metrics=False).run_sync()
    out = tmp_path / "cli.json"
    cmd = [cli, "run", "--sim", "--sim-ttft-ms", "2", "--sim-itl-ms", "0.5",
           "--sim-prefill-us-per-token", "1", "--sim-step-us-per-running", "5",
           "--concurrency", "1,3", "--num-requests", "5", "--warmup", "1", "--seed", "11",
           "--trials", "2", "--max-tokens", "6", "--ignore-eos", "--no-scrape", "--json", str(out)]
    for p in PROMPTS:
        cmd += ["--prompt", p]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    cli_doc = json.loads(out.read_text())
    assert deterministic(py.to_dict()) == deterministic(cli_doc)
    # The console tables come from the same writer: the same table titles, in the same order.
    titles = lambda text: [line for line in text.splitlines() if line.startswith("concurrency=")]
    assert titles(py.console()) and len(titles(py.console())) == len(titles(proc.stdout))


def test_version_and_module_entry_point(cli, python):
    version = subprocess.run([cli, "--version"], capture_output=True, text=True, check=True).stdout
    assert splleed.__version__ in version and splleed.build_commit in version
    via_module = subprocess.run([python, "-m", "splleed", "--version"], capture_output=True,
                                text=True, check=True).stdout
    assert via_module == version


def test_precision_mode_reaches_the_config_and_measures_every_request(fast_sim):
    res = Benchmark(fast_sim, prompts=PROMPTS, concurrency=[2], runs=6, warmup=0,
                    busy_poll_us=50, sampling=SamplingParams(max_tokens=5, ignore_eos=True),
                    scrape_metrics=False).run_sync()
    assert res.to_dict()["config"]["load"]["busy_poll_us"] == 50.0
    assert all(r.ok and r.output_tokens == 5 for r in res.runs[0].measured)
    plain = Benchmark(fast_sim, prompts=PROMPTS, runs=1, warmup=0, scrape_metrics=False)
    assert "busy_poll_us" not in plain.config["load"]
