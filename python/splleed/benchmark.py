"""Benchmark: configure a run, execute it in C++, get :class:`~splleed.BenchmarkResults`."""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import time
from collections import deque
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _core
from .config import (
    OpenAIConfig,
    SamplingParams,
    SimBackend,
    SLOConfig,
    check_choice,
    check_int,
    check_number,
)
from .errors import BenchmarkError, ConfigError
from .prompts import dataset_prompts
from .results import BenchmarkResults, Record

__all__ = ["Benchmark", "Progress"]

# Python mode names (those of the original tool) and the CLI's, to the results JSON's.
_MODES = {
    "latency": "latency",
    "throughput": "concurrency",
    "serve": "rate",
    "concurrency": "concurrency",
    "rate": "rate",
}
_ARRIVALS = {"constant": "constant", "poisson": "poisson", "gamma": "gamma"}
_RAMP_SHAPES = {"linear": "linear", "exponential": "exponential"}

# How long the waiting thread blocks in C++ at a time: the bound on how late Ctrl-C, a callback
# or a progress snapshot can be.
_POLL_S = 0.1

# Request ids are UUID-shaped "RRRRRRRR-000W-4000-8000-IIIIIIIIIIII" in hex (load/runner.hpp): the
# run number counts levels times trials in plan order, W = 1 marks warm-up, I is the index.
_REQUEST_ID = re.compile(r"^([0-9a-f]{8})-000([01])-4000-8000-[0-9a-f]{12}$")

INTERRUPT_REASON = "interrupted by Ctrl-C"


@dataclass
class Progress:
    """A snapshot of a running benchmark, passed to ``on_progress``.

    ``level``/``trial`` say which load level (and trial) the latest finished request belonged to,
    ``phase`` whether it was ``"warmup"`` or ``"measure"``. ``phase_done``/``phase_total`` count
    that phase's finished requests (``phase_total`` is None when the phase is bounded by time or
    includes a ramp-up). ``completed`` counts every finished request so far (warm-up included), and
    ``ok``/``failed``/``by_status`` the measured ones. ``log`` holds the progress lines since the
    previous snapshot (one per phase, as the CLI prints)."""

    elapsed_s: float = 0.0
    level: str = ""
    level_index: int = 0
    levels: int = 0
    trial: int = 0
    trials: int = 1
    phase: str = ""
    phase_done: int = 0
    phase_total: Optional[int] = None
    completed: int = 0
    ok: int = 0
    failed: int = 0
    by_status: Dict[str, int] = field(default_factory=dict)
    finished: bool = False
    log: List[str] = field(default_factory=list)


def _workload_fields(
    workload: Optional[Mapping[str, Any]],
    tokenizer: Optional[str],
    prompts: List[str],
    seed: int,
    max_tokens: int,
    config_json: str = "",
    api_key: str = "",
) -> Dict[str, Any]:
    """The "config" fields of a workload built in C++ from ``splleed run``'s options.
    ``tokenizer="server"`` counts with the target of ``config_json`` (and ``api_key``)."""
    if workload is None:
        workload = {}
    if not isinstance(workload, Mapping):
        raise ConfigError(
            f"workload must be a dict of options (got {type(workload).__name__}).", "workload"
        )
    options: Dict[str, Any] = {}
    for key, value in workload.items():
        if not isinstance(key, str):
            raise ConfigError(f"workload keys must be strings (got {key!r}).", "workload")
        if not isinstance(value, (str, int, float, bool)):
            raise ConfigError(
                f"workload.{key} must be a string, number or bool (got {type(value).__name__}).",
                f"workload.{key}",
            )
        options[key] = value
    if tokenizer is not None and not isinstance(tokenizer, (str, os.PathLike)):
        raise ConfigError("tokenizer must be a path.", "tokenizer")
    try:
        text = _core.workload_config(
            json.dumps(options), "" if tokenizer is None else os.fspath(tokenizer), prompts,
            seed, max_tokens, config_json, api_key
        )
    except _core.ConfigError as e:
        message = str(e)
        field_name = message.split(":", 1)[0] if message.startswith(("workload", "tokenizer")) \
            else "workload"
        raise ConfigError(message, field_name) from None
    fields: Dict[str, Any] = json.loads(text)
    return fields


def _listify(name: str, v: Any) -> List[Any]:
    if isinstance(v, (list, tuple)):
        if not v:
            raise ConfigError(f"{name} needs at least one value.", name)
        return list(v)
    return [v]


class Benchmark:
    """One benchmark: a backend, a workload, a load plan and statistics options.

    ``backend``: an :class:`OpenAIConfig` (or ``VLLMConfig``, ``TGIConfig``, ``SGLangConfig``,
    ``LlamaCppConfig``) with ``endpoint=``, a :class:`SimBackend`, or ``"sim"`` for the embedded
    simulated engine with its defaults.

    Workload: ``prompts`` (a list of strings), or ``dataset`` (a Hugging Face dataset name or
    object) with ``prompt_column``, ``num_samples``, ``dataset_split``, ``dataset_config``.
    Requests cycle through the prompts in a seeded order. ``workload`` takes the options of
    ``splleed run`` as a dict with underscores (``dataset``, ``dataset_format``, ``input_len``,
    ``output_len``, ``num_prompts``, ``shuffle``, ``prefix_groups``, ``prefix_len``,
    ``prefix_zipf``, ``turns``, ``think_time``, ``prompt_field``, ``output_field``, and every
    other key of ``--workload KEY=VALUE``), e.g. ``{"input_len": 512, "output_len": 128}``;
    ``tokenizer`` is a ``tokenizer.json``, ``tokenizer.model`` or a folder holding one (without
    it, synthetic lengths count words), or ``"server"``: the target's own tokenize endpoint, asked
    while the Benchmark is built (so only for an ``OpenAIConfig`` endpoint that is already up). ``prompts`` then become the workload's inline prompts.
    The workload's seed is ``seed``; its identity is ``results.workload``.

    Load: ``mode`` is ``"latency"`` (one request at a time), ``"throughput"`` (closed loop: each
    level of ``concurrency`` keeps that many requests in flight) or ``"serve"`` (open loop:
    ``arrival_rate`` requests/s per level, ``arrival_pattern`` constant|poisson|gamma,
    ``burstiness`` the gamma shape, ``max_concurrency`` a cap in flight, ``ramp_up_s`` a climb from
    ``ramp_start_rate``). The CLI's names ``"concurrency"`` and ``"rate"`` are accepted too.
    ``runs`` measured requests (or ``duration_s`` seconds) per level after ``warmup`` requests;
    ``trials`` repetitions of each level.

    Statistics: ``confidence_level`` of every interval; ``slo`` for goodput.

    Defaults are the CLI's: 100 requests per level, no warm-up, concurrency 1, 64 max tokens;
    against the simulator 32 requests, 2 warm-up, concurrency 1, 4, 16 and 32 max tokens.

    ``on_request(record)`` is called with each finished request's :class:`Record` (warm-up ones
    too) and ``on_progress(snapshot)`` with a :class:`Progress` at most every 0.1 s and at the end,
    both on the thread that called ``run_sync()`` (or the event loop of ``run()``). Records wait in
    an unbounded queue, so a slow callback never slows the load.

    ``output_file`` (``.json`` or ``.csv``) is written when the run ends, interrupted or not.

    Managed mode (``splleed run --launch``): splleed starts the engine, waits until it serves,
    runs, and stops it. An engine config without ``endpoint`` (``VLLMConfig(model=...)``) launches
    that engine; ``launch="sim"`` (or any engine name, with a backend without endpoint carrying the
    model and API) names it explicitly. ``engine_options`` are typed options (``{"max-num-seqs":
    64}``, as ``--engine-opt``), ``engine_args`` go to the engine verbatim, ``engine_binary``
    replaces its program, ``engine_port`` fixes its port, ``engine_log_dir`` holds its log
    (default: the folder of ``output_file``, else the current one), ``engine_timeout_s`` bounds the
    wait until it serves and ``engine_stop_grace_s`` the wait between SIGTERM and SIGKILL.
    """

    def __init__(
        self,
        backend: Union[OpenAIConfig, SimBackend, str, None] = None,
        prompts: Optional[Sequence[str]] = None,
        *,
        dataset: Any = None,
        prompt_column: str = "prompt",
        num_samples: Optional[int] = None,
        dataset_split: str = "train",
        dataset_config: Optional[str] = None,
        workload: Optional[Mapping[str, Any]] = None,
        tokenizer: Optional[str] = None,
        mode: Optional[str] = None,
        concurrency: Union[int, Sequence[int], None] = None,
        warmup: Optional[int] = None,
        runs: Optional[int] = None,
        duration_s: Optional[float] = None,
        trials: int = 1,
        confidence_level: float = 0.95,
        arrival_rate: Union[float, Sequence[float], None] = None,
        arrival_pattern: str = "poisson",
        burstiness: float = 1.0,
        max_concurrency: Optional[int] = None,
        ramp_up_s: Optional[float] = None,
        ramp_start_rate: float = 1.0,
        ramp_shape: str = "linear",
        sampling: Optional[SamplingParams] = None,
        slo: Optional[SLOConfig] = None,
        seed: int = 0,
        workers: int = 0,
        busy_poll_us: float = 0,
        output_file: Optional[str] = None,
        on_request: Optional[Callable[[Record], Any]] = None,
        on_progress: Optional[Callable[[Progress], Any]] = None,
        launch: Optional[str] = None,
        engine_options: Optional[Dict[str, Any]] = None,
        engine_args: Optional[Sequence[str]] = None,
        engine_binary: Optional[str] = None,
        engine_port: Optional[int] = None,
        engine_log_dir: Optional[str] = None,
        engine_timeout_s: float = 1200.0,
        engine_stop_grace_s: float = 15.0,
        scrape_metrics: bool = True,
        metrics_url: Optional[str] = None,
        scrape_interval_s: float = 1.0,
        gpu_telemetry: bool = True,
        gpu_metrics_url: Optional[str] = None,
        profile: bool = False,
        profile_dir: Optional[str] = None,
        profile_window: Optional[Tuple[float, Optional[float]]] = None,
    ) -> None:
        # Backend (managed mode: the engine to start).
        if launch is not None:
            if not isinstance(launch, str) or not launch:
                raise ConfigError("launch must be an engine name such as 'vllm' or 'sim'.", "launch")
            if backend is None:
                backend = OpenAIConfig()
            if not isinstance(backend, OpenAIConfig) or backend.endpoint is not None:
                raise ConfigError(
                    "launch= starts the server, so the backend must have no endpoint (e.g. "
                    "OpenAIConfig(model=...)).",
                    "launch",
                )
        elif isinstance(backend, OpenAIConfig) and backend.endpoint is None:
            if not backend.launch:
                raise ConfigError(
                    f"{type(backend).__name__}: endpoint is required, e.g. "
                    f"'http://localhost:8000' (or pass launch= to start a server).",
                    "backend.endpoint",
                )
            launch = backend.launch
        elif backend is None:
            raise ConfigError("give a backend (e.g. OpenAIConfig(endpoint=...)) or launch=.",
                              "backend")
        managed = launch is not None
        if not managed:
            for name, v in (("engine_options", engine_options), ("engine_args", engine_args),
                            ("engine_binary", engine_binary), ("engine_port", engine_port),
                            ("engine_log_dir", engine_log_dir)):
                if v is not None:
                    raise ConfigError(f"{name} needs a launched engine (launch=...).", name)
        if isinstance(backend, str):
            if backend != "sim":
                raise ConfigError(
                    f"backend must be a backend config (e.g. OpenAIConfig(endpoint=...)), a "
                    f"SimBackend or 'sim' (got {backend!r}).",
                    "backend",
                )
            backend = SimBackend()
        if not isinstance(backend, (OpenAIConfig, SimBackend)):
            raise ConfigError(
                f"backend must be OpenAIConfig, VLLMConfig, TGIConfig, SGLangConfig, "
                f"LlamaCppConfig, SimBackend or 'sim' (got {type(backend).__name__}).",
                "backend",
            )
        self.backend = backend
        # The simulator's defaults apply to the embedded one and to a launched one alike.
        sim = isinstance(backend, SimBackend) or launch == "sim"

        # Workload.
        if prompts is not None and dataset is not None:
            raise ConfigError("give prompts or dataset, not both.", "dataset")
        if dataset is not None:
            prompt_list = dataset_prompts(
                dataset, prompt_column, num_samples, dataset_split, dataset_config
            )
        elif prompts is not None:
            if isinstance(prompts, str) or not isinstance(prompts, Sequence):
                raise ConfigError("prompts must be a list of strings.", "prompts")
            prompt_list = list(prompts)
            for i, p in enumerate(prompt_list):
                if not isinstance(p, str):
                    raise ConfigError(
                        f"prompts[{i}] must be a string (got {type(p).__name__}).", "prompts"
                    )
            if not prompt_list:
                raise ConfigError("prompts must not be empty.", "prompts")
            if num_samples is not None:
                prompt_list = prompt_list[: check_int("num_samples", num_samples, 1)]
        elif workload is not None or tokenizer is not None:
            prompt_list = []  # the workload brings them
        elif sim:
            prompt_list = list(_core.default_sim_prompts())
        else:
            raise ConfigError("give prompts=[...], dataset=... or workload={...}.", "prompts")
        self.prompts: List[str] = prompt_list

        # Load plan.
        if mode is None:
            mode = "serve" if arrival_rate is not None else "throughput"
        wire_mode = check_choice("mode", mode, _MODES)
        self.mode = mode
        if concurrency is None:
            levels = [1, 4, 16] if sim else [1]
        else:
            levels = [check_int("concurrency", c, 1) for c in _listify("concurrency", concurrency)]
        rates: List[float] = []
        if arrival_rate is not None:
            rates = [
                check_number("arrival_rate", r, positive=True)
                for r in _listify("arrival_rate", arrival_rate)
            ]
        if wire_mode == "rate" and not rates:
            raise ConfigError("mode 'serve' needs arrival_rate (requests/s).", "arrival_rate")
        if wire_mode != "rate" and rates:
            raise ConfigError(
                f"arrival_rate applies to mode 'serve' only (mode is {mode!r}).", "arrival_rate"
            )
        if warmup is None:
            warmup = 2 if sim else 0
        check_int("warmup", warmup, 0)
        if duration_s is not None:
            check_number("duration_s", duration_s, positive=True)
        if runs is None and duration_s is None:
            runs = 32 if sim else 100
        if runs is not None:
            check_int("runs", runs, 1)
        check_int("trials", trials, 1)
        check_number("confidence_level", confidence_level, positive=True)
        if not confidence_level < 1:
            raise ConfigError(
                f"confidence_level must be between 0 and 1, e.g. 0.95 (got {confidence_level}).",
                "confidence_level",
            )
        arrival = check_choice("arrival_pattern", arrival_pattern, _ARRIVALS)
        check_number("burstiness", burstiness, positive=True)
        if max_concurrency is not None:
            check_int("max_concurrency", max_concurrency, 1)
        ramp = None
        if ramp_up_s is not None:
            if wire_mode != "rate":
                raise ConfigError("ramp_up_s applies to mode 'serve' only.", "ramp_up_s")
            ramp = {
                "start_rate": check_number("ramp_start_rate", ramp_start_rate, positive=True),
                "duration_s": check_number("ramp_up_s", ramp_up_s, positive=True),
                "shape": check_choice("ramp_shape", ramp_shape, _RAMP_SHAPES),
            }
        check_int("seed", seed, 0)
        check_int("workers", workers, 0)
        busy_poll = check_number("busy_poll_us", busy_poll_us, non_negative=True, maximum=10_000)

        if sampling is None:
            sampling = SamplingParams()
        if not isinstance(sampling, SamplingParams):
            raise ConfigError("sampling must be a SamplingParams.", "sampling")
        max_tokens = sampling.max_tokens
        if max_tokens is None:
            max_tokens = 32 if sim else 64
        if sampling.min_tokens is not None and sampling.min_tokens > max_tokens:
            raise ConfigError(
                f"sampling.min_tokens ({sampling.min_tokens}) must not exceed max_tokens "
                f"({max_tokens}).",
                "sampling.min_tokens",
            )
        if slo is not None and not isinstance(slo, SLOConfig):
            raise ConfigError("slo must be an SLOConfig.", "slo")
        if output_file is not None:
            suffix = str(output_file).lower().rsplit(".", 1)[-1]
            if suffix not in ("json", "csv"):
                raise ConfigError(
                    f"output_file must end in .json or .csv (got {output_file!r}).", "output_file"
                )
        for name, cb in (("on_request", on_request), ("on_progress", on_progress)):
            if cb is not None and not callable(cb):
                raise ConfigError(f"{name} must be callable.", name)

        self.sampling = sampling
        self.slo = slo
        self.output_file = output_file
        self.on_request = on_request
        self.on_progress = on_progress
        self.results: Optional[BenchmarkResults] = None  # the latest run's, interrupted or not

        # Engine metrics and GPU telemetry while measuring, as the CLI's --metrics-url,
        # --scrape-interval, --no-scrape, --no-gpu and --gpu-metrics-url.
        if not isinstance(scrape_metrics, bool):
            raise ConfigError("scrape_metrics must be True or False.", "scrape_metrics")
        if not isinstance(gpu_telemetry, bool):
            raise ConfigError("gpu_telemetry must be True or False.", "gpu_telemetry")
        if (isinstance(scrape_interval_s, bool) or not isinstance(scrape_interval_s, (int, float))
                or not scrape_interval_s >= 0.1):
            raise ConfigError(
                f"scrape_interval_s must be at least 0.1 (got {scrape_interval_s!r}).",
                "scrape_interval_s")
        for name, url in (("metrics_url", metrics_url), ("gpu_metrics_url", gpu_metrics_url)):
            if url is not None and (not isinstance(url, str) or not url):
                raise ConfigError(f"{name} must be a URL such as 'http://host:port/metrics'.", name)
        # The engine's own profiler around each measurement phase, as the CLI's --profile and
        # --profile-dir (with the embedded simulator the folder defaults to output_file's
        # folder's profile/).
        if not isinstance(profile, bool):
            raise ConfigError("profile must be True or False.", "profile")
        if profile_dir is not None and (not isinstance(profile_dir, str) or not profile_dir):
            raise ConfigError("profile_dir must be a folder path.", "profile_dir")
        if profile_dir is not None and not profile:
            raise ConfigError("profile_dir needs profile=True.", "profile_dir")
        window = (0.0, 0.0)
        if profile_window is not None:
            if not profile:
                raise ConfigError("profile_window needs profile=True.", "profile_window")
            ok = isinstance(profile_window, (tuple, list)) and len(profile_window) == 2
            if ok:
                lo, hi = profile_window
                num = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
                ok = num(lo) and lo >= 0 and (hi is None or (num(hi) and hi > lo))
            if not ok:
                raise ConfigError("profile_window must be (from_s, to_s) or (from_s, None) "
                                  "with 0 <= from_s < to_s.", "profile_window")
            window = (float(lo), float(hi or 0.0))
        if profile and profile_dir is None and isinstance(backend, SimBackend) and output_file:
            profile_dir = os.path.join(os.path.dirname(os.path.abspath(output_file)), "profile")
        self._observe_json: Optional[str] = None
        if scrape_metrics or profile:
            self._observe_json = json.dumps({
                "scrape": scrape_metrics,
                "metrics_url": metrics_url or "",
                "interval_s": float(scrape_interval_s),
                "gpu": gpu_telemetry,
                "gpu_metrics_url": gpu_metrics_url or "",
                "profile": profile,
                "profile_dir": profile_dir or "",
                "profile_from_s": window[0],
                "profile_to_s": window[1],
            })

        self._launch_json: Optional[str] = None
        if managed:
            self._launch_json = self._launch_spec(
                launch, backend, engine_options, engine_args, engine_binary, engine_port,
                engine_log_dir, engine_timeout_s, engine_stop_grace_s, output_file)
        if isinstance(backend, OpenAIConfig):
            target = {
                # A launched engine's URL is known once it serves; the model is the one it serves.
                "base_url": backend.endpoint or "",
                "api": backend.wire_api,
                "model": "" if managed else backend.model,
                "insecure": backend.insecure,
                "connect_timeout_ms": backend.connect_timeout_s * 1e3,
                "read_timeout_ms": backend.read_timeout_s * 1e3,
            }
            self._api_key = backend.resolved_api_key()
            self._sim_json: Optional[str] = None
        else:
            target = {
                "base_url": "",
                "api": "openai-completions",
                "model": "",
                "insecure": False,
                "connect_timeout_ms": 10_000.0,
                "read_timeout_ms": 120_000.0,
            }
            self._api_key = ""
            self._sim_json = backend.to_json()
        # The "config" object of the results JSON (docs/results-format.md).
        self._config: Dict[str, Any] = {
            "target": target,
            "sampling": {
                "max_tokens": max_tokens,
                "temperature": sampling.temperature,
                "top_p": sampling.top_p,
                "ignore_eos": sampling.ignore_eos,
                "min_tokens": sampling.min_tokens,
                "extra_body": None if sampling.extra_body is None else dict(sampling.extra_body),
            },
            "load": {
                "mode": wire_mode,
                "concurrency": levels,
                "num_requests": runs,
                "duration_s": None if duration_s is None else float(duration_s),
                "warmup": warmup,
                "seed": seed,
                "workers": workers,
                **({"busy_poll_us": float(busy_poll)} if busy_poll > 0 else {}),
                "request_rates": rates,
                "arrival": arrival,
                "burstiness": float(burstiness),
                "max_concurrency": max_concurrency,
                "ramp": ramp,
            },
            "prompts": prompt_list,
            "stats": {
                "confidence": float(confidence_level),
                "trials": trials,
                "slos": [] if slo is None else slo.targets(),
            },
        }
        if workload is not None or tokenizer is not None:
            self._config.update(
                _workload_fields(workload, tokenizer, prompt_list, seed, max_tokens,
                                 json.dumps(self._config), self._api_key)
            )
            self.prompts = list(self._config["prompts"])
        self._config_json = json.dumps(self._config)
        # The C++ validate() as a backstop: it names CLI options, so it comes after the checks
        # above, which name this class's fields.
        try:
            err = _core.check(self._config_json, self._api_key, self._sim_json, self._launch_json)
        except _core.ConfigError as e:
            raise ConfigError(str(e)) from None
        if err:
            raise ConfigError(err)

    @staticmethod
    def _launch_spec(
        launch: str,
        backend: OpenAIConfig,
        options: Optional[Dict[str, Any]],
        args: Optional[Sequence[str]],
        binary: Optional[str],
        port: Optional[int],
        log_dir: Optional[str],
        timeout_s: float,
        stop_grace_s: float,
        output_file: Optional[str],
    ) -> str:
        """The engine to launch as the JSON object _core reads."""
        if options is not None and not isinstance(options, dict):
            raise ConfigError("engine_options must be a dict of option -> value.", "engine_options")
        opts: Dict[str, str] = {}
        for key, value in (options or {}).items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            opts[str(key)] = str(value)
        if args is not None and (
            isinstance(args, str) or not all(isinstance(a, str) for a in args)
        ):
            raise ConfigError("engine_args must be a list of strings.", "engine_args")
        if binary is not None and not isinstance(binary, str):
            raise ConfigError("engine_binary must be a string.", "engine_binary")
        if port is not None:
            check_int("engine_port", port, 1)
            if port > 65535:
                raise ConfigError(f"engine_port must be at most 65535 (got {port}).", "engine_port")
        check_number("engine_timeout_s", timeout_s, positive=True)
        check_number("engine_stop_grace_s", stop_grace_s, non_negative=True)
        if log_dir is None:
            log_dir = str(Path(output_file).parent) if output_file is not None else "."
        if binary is None and launch == "sim":
            # The simulator is the CLI installed with this package (`splleed sim`).
            from ._cli import find_cli

            try:
                binary = find_cli()
            except (FileNotFoundError, OSError):
                binary = None
        return json.dumps({
            "engine": launch,
            "model": backend.model,
            "binary": binary or "",
            "options": opts,
            "args": list(args or []),
            "port": port or 0,
            "log_dir": str(log_dir),
            "timeout_s": float(timeout_s),
            "stop_grace_s": float(stop_grace_s),
        })

    # ---- introspection ----

    @property
    def config(self) -> Dict[str, Any]:
        """The configuration as the results JSON will record it (API key left out)."""
        return json.loads(self._config_json)

    def _plan(self) -> List[Tuple[str, int]]:
        """(label, trial) per run number, in the runner's order (levels outer, trials inner)."""
        load = self._config["load"]
        if load["mode"] == "rate":
            labels = [f"rate={r:g}" for r in load["request_rates"]]
        elif load["mode"] == "latency":
            labels = ["latency"]
        else:
            labels = [f"concurrency={c}" for c in load["concurrency"]]
        trials = self._config["stats"]["trials"]
        return [(label, t) for label in labels for t in range(trials)]

    # ---- running ----

    def run_sync(self) -> BenchmarkResults:
        """Runs the benchmark and returns its results. Ctrl-C stops it: requests in flight end
        as ``incomplete``, and the results so far are returned (and saved to ``output_file``)
        with ``interrupted`` set. Raises BenchmarkError when the target cannot be used."""
        handle, state = self._start()
        interrupted = False
        while True:
            try:
                while not handle.finished():
                    handle.wait(_POLL_S)
                    state.dispatch(handle.drain())
                break
            except KeyboardInterrupt:
                if interrupted:
                    raise  # a second Ctrl-C abandons the run; the handle stops it when collected
                interrupted = True
                handle.stop(INTERRUPT_REASON)
        return self._finish(handle, state)

    async def run(self) -> BenchmarkResults:
        """The asynchronous form of :meth:`run_sync`: waits in a worker thread of the event loop's
        default executor, and calls the callbacks on the event loop. Cancelling the task stops the
        run; what finished is saved to ``output_file`` and kept in ``self.results`` before the
        cancellation propagates."""
        loop = asyncio.get_running_loop()
        handle, state = self._start()
        try:
            while not handle.finished():
                await loop.run_in_executor(None, handle.wait, _POLL_S)
                state.dispatch(handle.drain())
        except (asyncio.CancelledError, KeyboardInterrupt):
            handle.stop("the benchmark task was cancelled")
            while not handle.finished():
                handle.wait(_POLL_S)
                state.dispatch(handle.drain())
            self._finish(handle, state)
            raise
        return self._finish(handle, state)

    def _start(self) -> Tuple["_core.Run", "_Dispatcher"]:
        try:
            handle = _core.Run(self._config_json, self._api_key, self._sim_json, self._launch_json,
                               self._observe_json)
        except _core.ConfigError as e:
            raise ConfigError(str(e)) from None
        state = _Dispatcher(self, handle)
        handle.start()
        return handle, state

    def _finish(self, handle: "_core.Run", state: "_Dispatcher") -> BenchmarkResults:
        state.dispatch(handle.drain())
        try:
            core = handle.result()
        except _core.SessionError as e:
            raise BenchmarkError(str(e)) from None
        results = BenchmarkResults(core)
        self.results = results
        if self.output_file is not None:
            results.save(self.output_file)
        state.final()
        if state.error is not None:
            raise state.error
        return results


class _Dispatcher:
    """Turns drained events into callback calls and progress snapshots, on the calling thread.
    A callback that raises stops the run; the exception is raised once the run has ended."""

    def __init__(self, bench: Benchmark, handle: "_core.Run") -> None:
        self.bench = bench
        self.handle = handle
        self.plan = bench._plan()
        load = bench._config["load"]
        self.warmup = load["warmup"]
        # A measured phase has a known size only when bounded by count without a ramp-up.
        self.measure_total = (
            load["num_requests"]
            if load["duration_s"] is None and load["ramp"] is None
            else None
        )
        self.start = time.monotonic()
        self.progress = Progress(levels=len({label for label, _ in self.plan}),
                                 trials=bench._config["stats"]["trials"])
        self.phase_key: Optional[Tuple[int, bool]] = None
        self.last_snapshot = -math.inf
        self.error: Optional[BaseException] = None
        self.pending: Deque[Tuple[str, Any]] = deque()

    def _call(self, cb: Callable[[Any], Any], arg: Any) -> None:
        if self.error is not None:
            return
        try:
            cb(arg)
        except KeyboardInterrupt:
            raise
        except Exception as e:  # noqa: BLE001 - handed back to the caller after the run ends
            self.error = e
            self.handle.stop(f"the {cb.__name__ if hasattr(cb, '__name__') else 'callback'} "
                             f"callback raised {type(e).__name__}")

    def _account(self, record: Record) -> None:
        p = self.progress
        m = _REQUEST_ID.match(record.request_id)
        if m:
            run_number, warm = int(m.group(1), 16), m.group(2) == "1"
            key = (run_number, warm)
            if key != self.phase_key:
                self.phase_key = key
                p.phase_done = 0
                if run_number < len(self.plan):
                    label, p.trial = self.plan[run_number]
                    p.level = label
                    labels = list(dict.fromkeys(lbl for lbl, _ in self.plan))
                    p.level_index = labels.index(label)
                p.phase = "warmup" if warm else "measure"
                p.phase_total = self.warmup if warm else self.measure_total
            p.phase_done += 1
        p.completed += 1
        if not record.warmup and not record.ramp_up:
            if record.status == "ok":
                p.ok += 1
            else:
                p.failed += 1
            p.by_status[record.status] = p.by_status.get(record.status, 0) + 1

    def dispatch(self, events: List[Tuple[str, Any]]) -> None:
        # Events wait in self.pending, so a Ctrl-C inside a callback loses none of the rest.
        self.pending.extend(events)
        changed = False
        while self.pending:
            kind, payload = self.pending.popleft()
            if kind == "log":
                self.progress.log.append(payload)
                changed = True
                continue
            metrics = payload.pop("metrics")
            record = Record(payload, metrics)
            self._account(record)
            changed = True
            if self.bench.on_request is not None:
                self._call(self.bench.on_request, record)
        now = time.monotonic()
        if changed and self.bench.on_progress is not None and now - self.last_snapshot >= _POLL_S:
            self._snapshot(now)

    def _snapshot(self, now: float) -> None:
        self.last_snapshot = now
        self.progress.elapsed_s = now - self.start
        snap = Progress(**{**self.progress.__dict__, "by_status": dict(self.progress.by_status),
                           "log": list(self.progress.log)})
        self.progress.log.clear()
        if self.bench.on_progress is not None:
            self._call(self.bench.on_progress, snap)

    def final(self) -> None:
        self.progress.finished = True
        if self.bench.on_progress is not None:
            self._snapshot(time.monotonic())
