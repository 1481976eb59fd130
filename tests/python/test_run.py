"""Whole runs against the embedded simulator through the Python API."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import sys

import pytest

import splleed
from splleed import Benchmark, BenchmarkError, OpenAIConfig, SamplingParams, SLOConfig

TIME_FIELDS = ("scheduled_ns", "dispatched_ns", "headers_ns", "first_event_ns", "first_token_ns",
               "last_token_ns", "end_ns")


def small(fast_sim, **kwargs) -> Benchmark:
    kwargs.setdefault("concurrency", [1, 2])
    kwargs.setdefault("runs", 6)
    kwargs.setdefault("warmup", 1)
    kwargs.setdefault("sampling", SamplingParams(max_tokens=8, ignore_eos=True))
    return Benchmark(fast_sim, **kwargs)


def test_full_run_results(fast_sim):
    results = small(fast_sim, prompts=["alpha beta", "gamma delta epsilon"], seed=7).run_sync()
    assert not results.interrupted and results.stop_reason == ""
    assert [r.label for r in results.runs] == ["concurrency=1", "concurrency=2"]
    assert [r.concurrency for r in results.runs] == [1, 2]
    for run in results.runs:
        s = run.summary
        assert (s.requests_sent, s.requests_ok, s.requests_failed) == (6, 6, 0)
        assert s.by_status["ok"] == 6
        assert s.output_tokens == 6 * 8
        assert s.token_source == "usage"
        assert s.ttft.count == 6 and s.tpot.count == 6 and s.itl.count == 6 * 7
        assert 0 < s.ttft.min <= s.ttft.p50 <= s.ttft.max
        assert s.request_throughput > 0 and s.goodput is None
        assert set(s.metrics) == set(splleed.results.METRICS)
        assert s.ttft.intervals["p50"].min_samples > 0
        assert len(run.requests) == 7 and len(run.measured) == 6
        assert run.requests[0].warmup and not any(r.warmup for r in run.measured)
        for rec in run.requests:
            assert rec.ok and rec.output_tokens == 8 and rec.finish_reason == "length"
            assert rec.usage["completion_tokens"] == 8
            assert rec.prompt_tokens == (len(["alpha beta", "gamma delta epsilon"][rec.prompt_index]) + 3) // 4
            assert rec.ttft_ms is not None and rec.ttft_ms > 0
            assert rec.e2e_ms >= rec.ttft_ms
            assert len(rec.token_events) == 8
    cfg = results.config
    assert cfg["load"]["seed"] == 7 and cfg["prompts"] == ["alpha beta", "gamma delta epsilon"]
    assert results.environment["target_url"] == "embedded simulator"
    assert results.environment["served_model"] == "splleed-sim"
    assert results.to_dict() == json.loads(results.to_json())
    assert results.level("concurrency=2")[0] is results.runs[1]
    with pytest.raises(KeyError, match="concurrency=1"):
        results.level("concurrency=3")


def test_callbacks_receive_every_record_and_progress(fast_sim):
    live = []
    snapshots = []
    bench = small(fast_sim, on_request=live.append, on_progress=snapshots.append)
    results = bench.run_sync()
    final = {r.request_id: r for r in results.requests}
    assert len(live) == len(final) == 14
    assert {r.request_id for r in live} == set(final)
    # Live records carry the same content; their times count from the start of run(), which
    # differs from the result's time zero by one constant.
    offsets = set()
    for rec in live:
        want = final[rec.request_id].to_dict()
        got = rec.to_dict()
        # The engine's state over a request is joined once the run has ended: saved records only.
        want.pop("engine", None)
        assert got.keys() == want.keys()
        for k in want:
            if k in TIME_FIELDS:
                if want[k] is not None:
                    offsets.add(got[k] - want[k])
            elif k == "token_events":
                offsets.update(g[0] - w[0] for g, w in zip(got[k], want[k]))
                assert [g[1] for g in got[k]] == [w[1] for w in want[k]]
            else:
                assert got[k] == want[k], k
        assert rec.metrics() == final[rec.request_id].metrics()
    assert len(offsets) == 1
    last = snapshots[-1]
    assert last.finished and last.completed == 14
    assert last.ok == 12 and last.failed == 0 and last.by_status == {"ok": 12}
    assert last.levels == 2 and last.level == "concurrency=2" and last.phase == "measure"
    assert last.phase_done == last.phase_total == 6
    logs = [line for s in snapshots for line in s.log]
    assert any("warm-up" in line for line in logs)
    assert [s.completed for s in snapshots] == sorted(s.completed for s in snapshots)


def test_async_run(fast_sim):
    seen = []
    bench = small(fast_sim, concurrency=[2], on_request=seen.append)
    results = asyncio.run(bench.run())
    assert [r.label for r in results.runs] == ["concurrency=2"]
    assert results.runs[0].summary.requests_ok == 6
    assert len(seen) == 7
    assert bench.results is results


def test_save_load_print_and_csv(fast_sim, tmp_path):
    out = tmp_path / "auto.json"
    results = small(fast_sim, output_file=str(out)).run_sync()
    assert json.loads(out.read_text()) == results.to_dict()
    paths = results.save(tmp_path / "r.csv")
    assert [p.name for p in paths] == ["r.csv", "r.requests.csv"]
    summary = paths[0].read_text().splitlines()
    assert summary[0].startswith("run,label,concurrency,trial,metric,count,mean_ms")
    assert len(summary) == 1 + 2 * len(splleed.results.METRICS)
    assert len(paths[1].read_text().splitlines()) == 1 + 14
    results.save(tmp_path / "r.json")
    loaded = splleed.load_results(tmp_path / "r.json")
    assert loaded.to_dict() == results.to_dict()
    assert loaded.to_csv() == results.to_csv()
    buf = io.StringIO()
    results.print(file=buf)
    text = buf.getvalue()
    assert text == results.console()
    assert "concurrency=1" in text and "TTFT" in text
    with pytest.raises(splleed.ConfigError):
        results.save(tmp_path / "r.txt")


def test_print_goes_to_sys_stdout(fast_sim, capsys):
    results = small(fast_sim, concurrency=[1], runs=2, warmup=0).run_sync()
    results.print()
    assert "concurrency=1" in capsys.readouterr().out


def test_to_pandas(fast_sim):
    pd = pytest.importorskip("pandas")
    results = small(fast_sim).run_sync()
    df = results.to_pandas()
    assert isinstance(df, pd.DataFrame)
    assert len(df) == 2 * len(splleed.results.METRICS)
    assert set(df["label"]) == {"concurrency=1", "concurrency=2"}
    reqs = results.to_pandas("requests")
    assert len(reqs) == 14 and set(reqs["status"]) == {"ok"}


def test_to_pandas_without_pandas_says_what_to_install(fast_sim, monkeypatch):
    results = small(fast_sim, concurrency=[1], runs=1, warmup=0).run_sync()
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        results.to_pandas()


def test_slo_goodput_and_trials(fast_sim):
    results = small(fast_sim, concurrency=[2], trials=2,
                    slo=SLOConfig(ttft_ms=10_000, tpot_ms=10_000)).run_sync()
    assert [(r.label, r.trial) for r in results.runs] == [("concurrency=2", 0), ("concurrency=2", 1)]
    for run in results.runs:
        assert run.summary.requests_good == 6 and run.summary.good_fraction == 1.0
    assert len(results.aggregates) == 1 and results.aggregates[0]["trials"] == 2
    assert results.aggregates[0]["goodput"]["n"] == 2


def test_serve_mode(fast_sim):
    results = Benchmark(fast_sim, arrival_rate=[200], arrival_pattern="constant", runs=5,
                        warmup=0, sampling=SamplingParams(max_tokens=4)).run_sync()
    run = results.runs[0]
    assert run.label == "rate=200" and run.mode == "rate" and run.request_rate == 200
    assert run.summary.requests_ok == 5
    assert run.client_health["requested_rate"] == 200


def test_callback_error_stops_the_run_and_is_raised(fast_sim):
    calls = []

    def boom(rec):
        calls.append(rec)
        raise RuntimeError("callback failed")

    bench = small(fast_sim, concurrency=[1], runs=500, warmup=0, on_request=boom)
    with pytest.raises(RuntimeError, match="callback failed"):
        bench.run_sync()
    assert len(calls) == 1
    assert bench.results.interrupted
    assert "on_request" in bench.results.stop_reason or "boom" in bench.results.stop_reason
    assert len(bench.results.requests) < 500


def test_ctrl_c_returns_what_finished(fast_sim, tmp_path):
    # A real SIGINT to this process while the run is going: Python's handler raises
    # KeyboardInterrupt on this (main) thread, which stops the C++ run.
    sent = []

    def interrupt_once(rec):
        if not sent:
            sent.append(rec.request_id)
            signal.raise_signal(signal.SIGINT)

    out = tmp_path / "partial.json"
    bench = small(fast_sim, concurrency=[2, 4], runs=100_000, warmup=0,
                  on_request=interrupt_once, output_file=str(out))
    results = bench.run_sync()
    assert results.interrupted
    assert results.stop_reason == "interrupted by Ctrl-C"
    assert [r.label for r in results.runs] == ["concurrency=2"]
    assert 1 <= len(results.requests) < 100_000
    statuses = {r.status for r in results.requests}
    assert statuses <= {"ok", "incomplete", "cancelled"}
    saved = json.loads(out.read_text())
    assert saved["interrupted"] is True and len(saved["runs"][0]["requests"]) == len(results.requests)


def test_unreachable_target_raises_benchmark_error():
    bench = Benchmark(OpenAIConfig(endpoint="http://127.0.0.1:1", connect_timeout_s=2),
                      prompts=["p"], runs=1)
    with pytest.raises(BenchmarkError) as e:
        bench.run_sync()
    assert "127.0.0.1:1" in str(e.value)
    assert isinstance(e.value, RuntimeError)


def test_a_discarded_run_is_stopped_and_joined(fast_sim):
    bench = small(fast_sim, concurrency=[2], runs=1_000_000, warmup=0)
    handle = splleed._core.Run(bench._config_json, "", bench._sim_json)
    handle.start()
    while not handle.drain():  # wait for the first record: the load is running
        handle.wait(1.0)
    del handle  # stops the run and joins its thread; must neither hang nor crash


def test_result_is_taken_once(fast_sim):
    bench = small(fast_sim, concurrency=[1], runs=1, warmup=0)
    handle = splleed._core.Run(bench._config_json, "", bench._sim_json)
    handle.start()
    while not handle.finished():
        handle.wait(1.0)
        handle.drain()
    assert handle.result().to_json()
    with pytest.raises(RuntimeError, match="already taken"):
        handle.result()


def test_cancelling_the_async_run_stops_it_and_keeps_what_finished(fast_sim, tmp_path):
    out = tmp_path / "cancelled.json"

    async def main():
        task = None
        cancelled = []

        def cancel_once(rec):
            if not cancelled:
                cancelled.append(rec)
                task.cancel()

        bench = small(fast_sim, concurrency=[2], runs=1_000_000, warmup=0,
                      on_request=cancel_once, output_file=str(out))
        task = asyncio.ensure_future(bench.run())
        with pytest.raises(asyncio.CancelledError):
            await task
        return bench

    bench = asyncio.run(main())
    assert bench.results.interrupted
    assert bench.results.stop_reason == "the benchmark task was cancelled"
    assert 1 <= len(bench.results.requests) < 1_000_000
    assert json.loads(out.read_text())["interrupted"] is True


# ---- managed mode: `splleed sim` launched as a separate engine process ----


def test_launched_sim_records_engine_and_environment(tmp_path, cli):
    bench = Benchmark(
        OpenAIConfig(model="py-launched"),
        launch="sim",
        engine_binary=cli,
        engine_args=["--ttft-ms", "1", "--itl-ms", "0.5"],
        engine_log_dir=str(tmp_path),
        concurrency=2,
        runs=6,
        warmup=0,
        sampling=SamplingParams(max_tokens=8, ignore_eos=True),
    )
    results = bench.run_sync()
    assert not results.interrupted, results.stop_reason
    assert results.runs[0].summary.requests_ok == 6
    env = results.environment
    assert env["engine"]["engine"] == "sim"
    assert env["engine"]["served_model"] == "py-launched"
    assert "/v1/models" in env["engine"]["raw"]
    assert isinstance(env["gpus"], list)
    assert env["memory_total_bytes"] > 0
    launched = results.launched_engine
    assert launched is not None
    assert launched["engine"] == "sim" and launched["exit_status"] == "exit status 0"
    assert launched["argv"][0] == cli and "--ttft-ms" in launched["argv"]
    assert launched["log_path"].startswith(str(tmp_path))
    assert not launched["exited_during_run"]


def test_launch_that_cannot_start_is_a_benchmark_error(tmp_path):
    bench = Benchmark(launch="sim", engine_binary=str(tmp_path / "missing-engine"), runs=1,
                      engine_log_dir=str(tmp_path))
    with pytest.raises(BenchmarkError, match="missing-engine"):
        bench.run_sync()
    assert list(tmp_path.iterdir()) == []  # nothing was started, so no log either


def test_connect_mode_has_no_launched_engine(fast_sim):
    results = small(fast_sim, concurrency=1, runs=2).run_sync()
    assert results.launched_engine is None
    assert results.environment["engine"]["engine"] == "sim"


def test_engine_metrics_are_scraped_as_the_cli_does():
    # Slow enough that the 0.1 s scrapes see the run: 30 tokens at 10 ms each per request.
    sim = splleed.SimBackend(ttft_ms=2, itl_ms=10)
    res = Benchmark(sim, prompts=["hi"], concurrency=[2], runs=6, seed=3,
                    sampling=SamplingParams(max_tokens=30, ignore_eos=True),
                    scrape_interval_s=0.1, gpu_telemetry=False).run_sync()
    d = res.to_dict()
    assert d["engine"]["engine"] == "vllm"
    assert d["engine"]["scrapes_ok"] >= 2
    assert d["engine"]["gpu"] == "not asked for"
    assert "running_requests" in d["engine"]["timeline"]
    measured = [r for r in d["runs"][0]["requests"] if not r["warmup"]]
    assert all("engine" in r for r in measured)


def test_scraping_can_be_turned_off_and_its_options_are_checked(fast_sim):
    res = Benchmark(fast_sim, prompts=["hi"], runs=2, scrape_metrics=False).run_sync()
    assert "engine" not in res.to_dict()
    with pytest.raises(splleed.ConfigError) as e:
        Benchmark(fast_sim, prompts=["hi"], scrape_interval_s=0.01)
    assert e.value.field == "scrape_interval_s"
    with pytest.raises(splleed.ConfigError) as e:
        Benchmark(fast_sim, prompts=["hi"], gpu_metrics_url="")
    assert e.value.field == "gpu_metrics_url"


def test_profile_runs_the_engines_profiler_around_each_measurement(tmp_path):
    sim = splleed.SimBackend(ttft_ms=1, itl_ms=0.5)
    res = Benchmark(sim, prompts=["hi"], concurrency=[1, 2], runs=3, warmup=1,
                    sampling=SamplingParams(max_tokens=4, ignore_eos=True), scrape_metrics=False,
                    profile=True, profile_dir=str(tmp_path / "trace")).run_sync()
    runs = res.to_dict()["runs"]
    assert len(runs) == 2
    for run in runs:
        p = run["profile"]
        assert p["error"] == ""
        assert p["trace_location"] == str(tmp_path / "trace")
        measured = [r for r in run["requests"] if not r["warmup"]]
        assert p["started_ns"] <= min(r["dispatched_ns"] for r in measured)
        assert p["stop_requested_ns"] >= max(r["end_ns"] for r in measured)
    assert len(list((tmp_path / "trace").iterdir())) == 2


def test_profile_options_are_checked(fast_sim):
    with pytest.raises(splleed.ConfigError) as e:
        Benchmark(fast_sim, prompts=["hi"], profile_dir="/tmp/x")
    assert e.value.field == "profile_dir"
    with pytest.raises(splleed.ConfigError) as e:
        Benchmark(fast_sim, prompts=["hi"], profile="yes")
    assert e.value.field == "profile"
    for bad in [(2, 1), (-1, None), "0:1", (0,)]:
        with pytest.raises(splleed.ConfigError) as e:
            Benchmark(fast_sim, prompts=["hi"], profile=True, profile_window=bad)
        assert e.value.field == "profile_window"
