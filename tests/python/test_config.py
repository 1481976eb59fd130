"""Configuration classes: validation names the field, defaults mirror the CLI, the configuration
maps onto the results JSON's "config" object."""

from __future__ import annotations

import json

import pytest

import splleed
from splleed import (
    Benchmark,
    ConfigError,
    LlamaCppConfig,
    OpenAIConfig,
    SamplingParams,
    SGLangConfig,
    SimBackend,
    SLOConfig,
    TGIConfig,
    VLLMConfig,
)

EP = "http://127.0.0.1:8000"


def field_of(excinfo: pytest.ExceptionInfo) -> str:
    assert isinstance(excinfo.value, ValueError)
    return excinfo.value.field


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"max_tokens": 0}, "sampling.max_tokens"),
        ({"max_tokens": 1.5}, "sampling.max_tokens"),
        ({"temperature": -1}, "sampling.temperature"),
        ({"top_p": 0}, "sampling.top_p"),
        ({"top_p": 1.5}, "sampling.top_p"),
        ({"ignore_eos": "yes"}, "sampling.ignore_eos"),
        ({"max_tokens": 4, "min_tokens": 5}, "sampling.min_tokens"),
        ({"extra_body": [1, 2]}, "sampling.extra_body"),
        ({"extra_body": {"x": object()}}, "sampling.extra_body"),
    ],
)
def test_sampling_params_rejects_bad_values(kwargs, field):
    with pytest.raises(ConfigError) as e:
        SamplingParams(**kwargs)
    assert field_of(e) == field
    assert field in str(e.value)


def test_slo_config_needs_positive_objectives():
    with pytest.raises(ConfigError) as e:
        SLOConfig()
    assert field_of(e) == "slo"
    with pytest.raises(ConfigError) as e:
        SLOConfig(ttft_ms=-5)
    assert field_of(e) == "slo.ttft_ms"
    assert SLOConfig(ttft_ms=500, tpot_ms=50).targets() == [
        {"metric": "ttft", "threshold_ms": 500.0},
        {"metric": "tpot", "threshold_ms": 50.0},
    ]


@pytest.mark.parametrize(
    "cls,engine",
    [(VLLMConfig, "vllm"), (TGIConfig, "tgi"), (SGLangConfig, "sglang"),
     (LlamaCppConfig, "llamacpp")],
)
def test_engine_configs_without_endpoint_are_managed_mode(cls, engine):
    cfg = cls(model="m")
    assert cfg.endpoint is None and cfg.launch == engine
    bench = Benchmark(cfg, prompts=["x"], engine_options={}, engine_args=["--flag"])
    spec = json.loads(bench._launch_json)
    assert spec["engine"] == engine and spec["model"] == "m" and spec["args"] == ["--flag"]
    # The run's model is the one the launched engine serves.
    assert bench.config["target"]["model"] == "" and bench.config["target"]["base_url"] == ""
    cfg = cls(endpoint=EP, model="m")
    assert cfg.wire_api == "openai-completions"


def test_managed_mode_options_are_checked():
    with pytest.raises(ConfigError, match="unknown engine to launch 'nope'"):
        Benchmark(launch="nope", prompts=["x"])
    with pytest.raises(ConfigError, match="bogus"):
        Benchmark(launch="sim", engine_options={"bogus": 1})
    with pytest.raises(ConfigError) as e:
        Benchmark(launch="sim", engine_port=70000)
    assert field_of(e) == "engine_port"
    with pytest.raises(ConfigError) as e:
        Benchmark(launch="sim", engine_timeout_s=0)
    assert field_of(e) == "engine_timeout_s"
    with pytest.raises(ConfigError) as e:
        Benchmark(OpenAIConfig(endpoint=EP), prompts=["x"], launch="sim")
    assert field_of(e) == "launch"
    with pytest.raises(ConfigError) as e:
        Benchmark(OpenAIConfig(endpoint=EP), prompts=["x"], engine_args=["--x"])
    assert field_of(e) == "engine_args"
    with pytest.raises(ConfigError, match="needs a model"):
        Benchmark(launch="vllm", prompts=["x"])
    spec = json.loads(Benchmark(launch="sim")._launch_json)
    assert spec["engine"] == "sim" and spec["model"] == ""


def test_openai_config_checks_endpoint_and_api():
    with pytest.raises(ConfigError) as e:
        Benchmark(OpenAIConfig(model="m"), prompts=["x"])
    assert field_of(e) == "backend.endpoint"
    with pytest.raises(ConfigError) as e:
        OpenAIConfig(endpoint="localhost:8000")
    assert field_of(e) == "backend.endpoint"
    with pytest.raises(ConfigError) as e:
        OpenAIConfig(endpoint=EP, api="responses")
    assert field_of(e) == "backend.api"
    assert OpenAIConfig(endpoint=EP, api="chat").wire_api == "openai-chat"
    with pytest.raises(ConfigError) as e:
        OpenAIConfig(endpoint=EP, read_timeout_s=0)
    assert field_of(e) == "backend.read_timeout_s"


def test_sim_backend_checks_fields():
    with pytest.raises(ConfigError) as e:
        SimBackend(max_running=0)
    assert field_of(e) == "backend.max_running"
    with pytest.raises(ConfigError) as e:
        SimBackend(jitter=2)
    assert field_of(e) == "backend.jitter"


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"mode": "burst"}, "mode"),
        ({"mode": "serve"}, "arrival_rate"),
        ({"mode": "throughput", "arrival_rate": 5}, "arrival_rate"),
        ({"concurrency": [1, 0]}, "concurrency"),
        ({"concurrency": []}, "concurrency"),
        ({"runs": 0}, "runs"),
        ({"warmup": -1}, "warmup"),
        ({"trials": 0}, "trials"),
        ({"confidence_level": 1.5}, "confidence_level"),
        ({"arrival_rate": 0}, "arrival_rate"),
        ({"arrival_rate": 2, "arrival_pattern": "bursty"}, "arrival_pattern"),
        ({"arrival_rate": 2, "burstiness": 0}, "burstiness"),
        ({"duration_s": -1}, "duration_s"),
        ({"output_file": "out.txt"}, "output_file"),
        ({"prompts": []}, "prompts"),
        ({"prompts": "one prompt"}, "prompts"),
        ({"prompts": ["ok", 3]}, "prompts"),
        ({"prompts": ["a"], "dataset": [{"prompt": "b"}]}, "dataset"),
        ({"sampling": {"max_tokens": 3}}, "sampling"),
        ({"ramp_up_s": 5}, "ramp_up_s"),
        ({"on_request": 3}, "on_request"),
        ({"busy_poll_us": -1}, "busy_poll_us"),
        ({"busy_poll_us": 20_000}, "busy_poll_us"),
    ],
)
def test_benchmark_rejects_bad_values(kwargs, field):
    kwargs.setdefault("prompts", ["hello"])
    with pytest.raises(ConfigError) as e:
        Benchmark(OpenAIConfig(endpoint=EP), **kwargs)
    assert field_of(e) == field


def test_benchmark_rejects_unknown_backend():
    with pytest.raises(ConfigError) as e:
        Benchmark("vllm", prompts=["x"])
    assert field_of(e) == "backend"
    with pytest.raises(ConfigError):
        Benchmark(object(), prompts=["x"])


def test_connect_mode_defaults_mirror_the_cli():
    cfg = Benchmark(OpenAIConfig(endpoint=EP, model="m"), prompts=["p"]).config
    assert cfg["target"] == {
        "base_url": EP,
        "api": "openai-completions",
        "model": "m",
        "insecure": False,
        "connect_timeout_ms": 10000.0,
        "read_timeout_ms": 120000.0,
    }
    assert cfg["sampling"]["max_tokens"] == 64
    assert cfg["load"]["mode"] == "concurrency"
    assert cfg["load"]["concurrency"] == [1]
    assert cfg["load"]["num_requests"] == 100
    assert cfg["load"]["warmup"] == 0
    assert cfg["stats"] == {"confidence": 0.95, "trials": 1, "slos": []}


def test_sim_defaults_mirror_cli_sim():
    bench = Benchmark("sim")
    cfg = bench.config
    assert cfg["load"]["concurrency"] == [1, 4, 16]
    assert cfg["load"]["num_requests"] == 32
    assert cfg["load"]["warmup"] == 2
    assert cfg["sampling"]["max_tokens"] == 32
    assert cfg["prompts"] == list(splleed._core.default_sim_prompts())


def test_issue_example_configuration_maps_onto_results_config():
    bench = Benchmark(
        backend=OpenAIConfig(endpoint="http://localhost:8000", model="m"),
        prompts=["What is the capital of France?", "Explain quantum computing briefly."],
        mode="throughput",
        concurrency=[1, 2, 4],
        warmup=2,
        runs=50,
        trials=3,
        sampling=SamplingParams(max_tokens=100, temperature=0.0),
        slo=SLOConfig(ttft_ms=500, tpot_ms=50),
    )
    cfg = bench.config
    assert cfg["load"]["mode"] == "concurrency"
    assert cfg["load"]["concurrency"] == [1, 2, 4]
    assert cfg["load"]["warmup"] == 2
    assert cfg["load"]["num_requests"] == 50
    assert cfg["stats"]["trials"] == 3
    assert cfg["sampling"]["max_tokens"] == 100
    assert cfg["sampling"]["temperature"] == 0.0
    assert cfg["stats"]["slos"] == [
        {"metric": "ttft", "threshold_ms": 500.0},
        {"metric": "tpot", "threshold_ms": 50.0},
    ]
    # What C++ reads back and writes is what Python sent.
    import json

    canonical = json.loads(splleed._core.canonical_config(json.dumps(cfg), ""))
    assert canonical == cfg


def test_serve_mode_and_ramp():
    bench = Benchmark(
        OpenAIConfig(endpoint=EP),
        prompts=["p"],
        arrival_rate=[2.5, 10],
        arrival_pattern="gamma",
        burstiness=0.5,
        max_concurrency=8,
        ramp_up_s=3,
        ramp_start_rate=0.5,
        ramp_shape="exponential",
        duration_s=30,
    )
    load = bench.config["load"]
    assert load["mode"] == "rate"
    assert load["request_rates"] == [2.5, 10.0]
    assert load["arrival"] == "gamma"
    assert load["burstiness"] == 0.5
    assert load["max_concurrency"] == 8
    assert load["ramp"] == {"start_rate": 0.5, "duration_s": 3.0, "shape": "exponential"}
    assert load["duration_s"] == 30.0
    assert load["num_requests"] is None
    assert [label for label, _ in bench._plan()] == ["rate=2.5", "rate=10"]


def test_api_key_is_never_in_the_config(monkeypatch):
    monkeypatch.setenv("SPLLEED_API_KEY", "sk-from-env")
    cfg_obj = OpenAIConfig(endpoint=EP)
    assert cfg_obj.resolved_api_key() == "sk-from-env"
    assert "sk-from-env" not in repr(cfg_obj)
    bench = Benchmark(OpenAIConfig(endpoint=EP, api_key="sk-secret"), prompts=["p"])
    assert "sk-secret" not in str(bench.config)
    assert bench._api_key == "sk-secret"


def test_extra_body_and_sampling_reach_the_config():
    s = SamplingParams(max_tokens=8, top_p=0.9, ignore_eos=True, min_tokens=2,
                       extra_body={"seed": 1})
    cfg = Benchmark(OpenAIConfig(endpoint=EP), prompts=["p"], sampling=s).config["sampling"]
    assert cfg == {"max_tokens": 8, "temperature": None, "top_p": 0.9, "ignore_eos": True,
                   "min_tokens": 2, "extra_body": {"seed": 1}}


def test_num_samples_limits_prompts():
    bench = Benchmark(OpenAIConfig(endpoint=EP), prompts=["a", "b", "c"], num_samples=2)
    assert bench.prompts == ["a", "b"]
