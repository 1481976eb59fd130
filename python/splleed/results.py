"""Benchmark results as Python objects.

A :class:`BenchmarkResults` is built from the results JSON that ``splleed run --json`` writes
(docs/results-format.md), produced by the same C++ code, so ``to_dict()`` and ``save("x.json")``
hold exactly what the CLI would have written; the CSV files and the console tables come from the
CLI's writers too.
"""

from __future__ import annotations

import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, TextIO, Union

from . import _core
from .errors import ConfigError

__all__ = [
    "Interval",
    "MetricSummary",
    "Summary",
    "Record",
    "RunResult",
    "BenchmarkResults",
    "load_results",
    "METRICS",
]

# Latency metric keys in report order (docs/metrics.md).
METRICS = (
    "ttft",
    "ttft_from_schedule",
    "schedule_lag",
    "ttst",
    "itl",
    "icl",
    "tpot",
    "e2e",
    "e2e_from_schedule",
    "stream_end",
    "worst_stall",
)

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Interval:
    """Distribution-free confidence interval of one percentile, in ms. ``lo``/``hi`` are None when
    the sample is too small for an interval at the level; ``min_samples`` is the size that gives
    one."""

    lo: Optional[float]
    hi: Optional[float]
    min_samples: int

    @property
    def supported(self) -> bool:
        return self.lo is not None


@dataclass(frozen=True)
class MetricSummary:
    """Summary of one latency metric's samples, in milliseconds (all 0 when ``count`` is 0).
    ``intervals`` holds the confidence intervals of p50, p90, p95, p99 and p999."""

    count: int
    mean: float
    std: float
    min: float
    p50: float
    p90: float
    p95: float
    p99: float
    p999: float
    max: float
    intervals: Dict[str, Interval]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "MetricSummary":
        intervals = {
            k: Interval(v["lo"], v["hi"], v["min_samples"])
            for k, v in d.get("intervals", {}).items()
        }
        return cls(
            count=d["count"], mean=d["mean"], std=d["std"], min=d["min"], p50=d["p50"],
            p90=d["p90"], p95=d["p95"], p99=d["p99"], p999=d["p999"], max=d["max"],
            intervals=intervals,
        )


class Summary:
    """The figures of one load level's measurement window (warm-up and ramp-up excluded).

    Latency metrics are attributes (``summary.ttft``, ``summary.tpot``, ...) and items of
    ``summary.metrics``; counts, throughputs and goodput follow the results JSON."""

    def __init__(self, d: Mapping[str, Any]) -> None:
        self._d = d
        self.metrics: Dict[str, MetricSummary] = {
            k: MetricSummary.from_dict(v) for k, v in d["metrics"].items()
        }

    def __getattr__(self, name: str) -> MetricSummary:
        metrics = self.__dict__.get("metrics", {})
        if name in metrics:
            return metrics[name]
        raise AttributeError(name)

    @property
    def requests_sent(self) -> int:
        return int(self._d["requests"]["sent"])

    @property
    def requests_ok(self) -> int:
        return int(self._d["requests"]["ok"])

    @property
    def requests_failed(self) -> int:
        return int(self._d["requests"]["failed"])

    @property
    def by_status(self) -> Dict[str, int]:
        return dict(self._d["requests"]["by_status"])

    @property
    def request_throughput(self) -> float:
        """Successful requests completed per second of the window."""
        return float(self._d["throughput"]["requests_per_s"])

    @property
    def output_token_throughput(self) -> float:
        return float(self._d["throughput"]["output_tokens_per_s"])

    @property
    def total_token_throughput(self) -> float:
        return float(self._d["throughput"]["total_tokens_per_s"])

    @property
    def output_tokens(self) -> int:
        return int(self._d["tokens"]["output"])

    @property
    def prompt_tokens(self) -> int:
        return int(self._d["tokens"]["prompt"])

    @property
    def token_source(self) -> str:
        """``"usage"`` (the server's counts) or ``"events"`` (counted from the stream)."""
        return str(self._d["tokens"]["source"])

    @property
    def window_s(self) -> float:
        return float(self._d["window"]["seconds"])

    @property
    def confidence(self) -> float:
        return float(self._d["confidence"])

    @property
    def goodput(self) -> Optional[float]:
        """Good requests per second (with an SLO), else None."""
        g = self._d.get("goodput")
        return None if g is None else float(g["requests_per_s"])

    @property
    def good_fraction(self) -> Optional[float]:
        g = self._d.get("goodput")
        return None if g is None else float(g["good_fraction"])

    @property
    def requests_good(self) -> Optional[int]:
        g = self._d.get("goodput")
        return None if g is None else int(g["requests_good"])

    def to_dict(self) -> Dict[str, Any]:
        return json.loads(json.dumps(self._d))

    def __repr__(self) -> str:
        return (
            f"Summary(sent={self.requests_sent}, ok={self.requests_ok}, "
            f"ttft_p50={self.metrics['ttft'].p50:.3f}ms, "
            f"requests_per_s={self.request_throughput:.3f})"
        )


class Record:
    """One request as recorded: the fields of a ``requests`` entry of the results JSON
    (timestamps in ns from the run's time zero, or None) and its per-request metrics in ms
    (``ttft_ms``, ``tpot_ms``, ``e2e_ms``, ... None where undefined, docs/metrics.md).

    Records passed to ``on_request`` while a run is going count their timestamps from the start of
    ``run()``; in the finished result they count from the run's time zero, which the embedded
    simulator's start-up puts a little later. Durations and metrics are the same in both."""

    __slots__ = ("_d", "_m")

    def __init__(self, data: Mapping[str, Any], metrics: Mapping[str, Optional[float]]) -> None:
        self._d = data
        self._m = metrics

    # Identity and outcome.
    index = property(lambda self: int(self._d["index"]), doc="Order of issue within its level.")
    prompt_index = property(lambda self: int(self._d["prompt_index"]), doc="Prompt sent.")
    warmup = property(lambda self: bool(self._d["warmup"]), doc="Excluded from the figures.")
    ramp_up = property(lambda self: bool(self._d["ramp_up"]), doc="Sent during the ramp-up.")
    request_id = property(lambda self: str(self._d["request_id"]), doc="X-Request-Id sent.")
    response_id = property(lambda self: str(self._d["response_id"]), doc="Response `id`.")
    status = property(lambda self: str(self._d["status"]), doc="ok, http_error, timeout, ...")
    http_status = property(lambda self: int(self._d["http_status"]), doc="HTTP status (0: none).")
    error = property(lambda self: str(self._d["error"]), doc="Cause, for any status but ok.")
    finish_reason = property(lambda self: str(self._d["finish_reason"]), doc="As the server said.")
    client_prompt_tokens = property(
        lambda self: self._d.get("client_prompt_tokens"),
        doc="Prompt tokens as the client's tokenizer counted them (None: unknown).",
    )
    exact_output_tokens = property(
        lambda self: self._d.get("exact_output_tokens"),
        doc="The output length asked for exactly (None: max_tokens was only a cap).",
    )
    token_counts_disagree = property(
        lambda self: list(self._d.get("token_counts_disagree", [])),
        doc='"prompt" and/or "output" where the server\'s usage disagrees with the client\'s count.',
    )
    session = property(lambda self: self._d.get("session"), doc="Multi-turn conversation id.")
    turn = property(lambda self: self._d.get("turn"), doc="Multi-turn: 0-based turn.")

    # Timestamps (ns).
    scheduled_ns = property(lambda self: self._d["scheduled_ns"])
    dispatched_ns = property(lambda self: self._d["dispatched_ns"])
    headers_ns = property(lambda self: self._d["headers_ns"])
    first_event_ns = property(lambda self: self._d["first_event_ns"])
    first_token_ns = property(lambda self: self._d["first_token_ns"])
    last_token_ns = property(lambda self: self._d["last_token_ns"])
    end_ns = property(lambda self: self._d["end_ns"])
    token_events = property(
        lambda self: [tuple(e) for e in self._d["token_events"]],
        doc="(received_ns, tokens) per token-bearing stream event.",
    )

    # Tokens.
    usage = property(lambda self: dict(self._d["usage"]), doc="Token counts the server reported.")
    events = property(lambda self: int(self._d["events"]), doc="Stream events of any kind.")
    output_bytes = property(lambda self: int(self._d["output_bytes"]))
    output_tokens = property(
        lambda self: int(self._d["output_tokens"]),
        doc="Server usage.completion_tokens when sent, else the tokens of the token events.",
    )

    @property
    def prompt_tokens(self) -> Optional[int]:
        v = self._d["usage"]["prompt_tokens"]
        return None if v is None else int(v)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    # Per-request metrics (ms).
    ttft_ms = property(lambda self: self._m["ttft_ms"])
    ttft_from_schedule_ms = property(lambda self: self._m["ttft_from_schedule_ms"])
    schedule_lag_ms = property(lambda self: self._m["schedule_lag_ms"])
    ttst_ms = property(lambda self: self._m["ttst_ms"])
    tpot_ms = property(lambda self: self._m["tpot_ms"])
    e2e_ms = property(lambda self: self._m["e2e_ms"])
    e2e_from_schedule_ms = property(lambda self: self._m["e2e_from_schedule_ms"])
    stream_end_ms = property(lambda self: self._m["stream_end_ms"])
    worst_stall_ms = property(lambda self: self._m["worst_stall_ms"])

    def metrics(self) -> Dict[str, Optional[float]]:
        return dict(self._m)

    def to_dict(self) -> Dict[str, Any]:
        """The record as the results JSON writes it (without the derived metrics)."""
        return json.loads(json.dumps(self._d))

    def __repr__(self) -> str:
        ttft = self._m["ttft_ms"]
        return (
            f"Record({self.request_id!r}, status={self.status!r}, "
            f"output_tokens={self.output_tokens}, "
            f"ttft_ms={'None' if ttft is None else format(ttft, '.3f')})"
        )


class RunResult:
    """One load level (one trial of it): its steady-state summary, optional ramp-up summary,
    the client's health and every request record (warm-up first, in issue order)."""

    def __init__(
        self, d: Mapping[str, Any], metrics: Sequence[Mapping[str, Optional[float]]]
    ) -> None:
        self._d = d
        self.label: str = d["label"]
        self.mode: str = d["mode"]
        self.concurrency: int = d["concurrency"]
        self.request_rate: Optional[float] = d["request_rate"]
        self.trial: int = d["trial"]
        self.summary = Summary(d["summary"])
        self.ramp_up: Optional[Summary] = None if d["ramp_up"] is None else Summary(d["ramp_up"])
        self.client_health: Dict[str, Any] = d["client_health"]
        # Checks beside the figures (docs/results-format.md): token counts side by side, the
        # exact output lengths asked against those produced (None when none was asked), and TTFT
        # per turn of multi-turn sessions (empty otherwise).
        self.token_counts: Dict[str, Any] = d.get("token_counts", {})
        self.output_length: Optional[Dict[str, Any]] = d.get("output_length")
        self.by_turn: List[Dict[str, Any]] = list(d.get("by_turn", []))
        self.requests: List[Record] = [Record(r, m) for r, m in zip(d["requests"], metrics)]

    @property
    def measured(self) -> List[Record]:
        """The records that count in the figures (neither warm-up nor ramp-up)."""
        return [r for r in self.requests if not r.warmup and not r.ramp_up]

    def to_dict(self) -> Dict[str, Any]:
        return json.loads(json.dumps(self._d))

    def __repr__(self) -> str:
        return f"RunResult({self.label!r}, trial={self.trial}, {self.summary!r})"


def _write_atomic(path: Path, text: str) -> None:
    # Through a temporary file and a rename, as the CLI writes, so no half file is ever left.
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


class BenchmarkResults:
    """A finished benchmark: what was asked, where it ran, and one :class:`RunResult` per load
    level and trial (``runs``), plus statistics across trials (``aggregates``)."""

    def __init__(self, core: "_core.Result") -> None:
        self._core = core
        self._dict: Dict[str, Any] = json.loads(core.to_json())
        metrics = core.request_metrics()
        d = self._dict
        self.schema_version: int = d["schema_version"]
        self.config: Dict[str, Any] = d["config"]
        # Host, splleed, the engine (name, version, served model, context limit, raw info
        # bodies) and the GPUs ([] when there are none).
        self.environment: Dict[str, Any] = d["environment"]
        # The engine splleed started (managed mode): argv, log_path, exit_status, ...; else None.
        self.launched_engine: Optional[Dict[str, Any]] = d.get("launched_engine")
        self.clock: Dict[str, Any] = d["clock"]
        self.interrupted: bool = d["interrupted"]
        self.stop_reason: str = d["stop_reason"]
        self.definitions: Dict[str, str] = d["definitions"]
        self.runs: List[RunResult] = [RunResult(r, m) for r, m in zip(d["runs"], metrics)]
        self.aggregates: List[Dict[str, Any]] = d["aggregates"]
        # What names the workload (source, file SHA-256, options, length summaries), when it
        # was built from workload options; None for plain prompt lists.
        self.workload: Optional[Dict[str, Any]] = d["config"].get("workload")

    # ---- access ----

    def __iter__(self) -> Iterator[RunResult]:
        return iter(self.runs)

    def __len__(self) -> int:
        return len(self.runs)

    def level(self, label: str) -> List[RunResult]:
        """The runs (one per trial) of the load level ``label``, e.g. ``"concurrency=4"``."""
        found = [r for r in self.runs if r.label == label]
        if not found:
            labels = ", ".join(dict.fromkeys(r.label for r in self.runs))
            raise KeyError(f"no load level {label!r} (levels: {labels})")
        return found

    @property
    def requests(self) -> List[Record]:
        """Every request record of every run, in order."""
        return [rec for run in self.runs for rec in run.requests]

    # ---- conversions ----

    def to_dict(self) -> Dict[str, Any]:
        """The results JSON as a dict: the content of ``splleed run --json``."""
        return json.loads(json.dumps(self._dict))

    def to_json(self) -> str:
        """The results JSON text, byte for byte what ``splleed run --json`` writes."""
        return self._core.to_json()

    def to_csv(self) -> str:
        """The summary CSV (one row per run and metric) of ``splleed run --csv``."""
        return self._core.csv_summary()

    def requests_csv(self) -> str:
        """The per-request CSV (``NAME.requests.csv`` of ``splleed run --csv``)."""
        return self._core.csv_requests()

    def console(self) -> str:
        """The console tables of ``splleed run``."""
        return self._core.console()

    def print(self, file: Optional[TextIO] = None) -> None:
        """Prints the console tables of ``splleed run`` to ``file`` (default ``sys.stdout``)."""
        out = sys.stdout if file is None else file
        out.write(self._core.console())
        out.flush()

    def save(self, path: PathLike) -> List[Path]:
        """Writes the results by the name's suffix and returns the paths written: ``.json``, the
        results JSON; ``.csv``, the summary there and the per-request rows in
        ``NAME.requests.csv`` beside it (as ``splleed run --csv``)."""
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix == ".json":
            _write_atomic(p, self._core.to_json())
            return [p]
        if suffix == ".csv":
            requests = p.with_name(p.stem + ".requests.csv")
            _write_atomic(p, self._core.csv_summary())
            _write_atomic(requests, self._core.csv_requests())
            return [p, requests]
        raise ConfigError(
            f"save() writes .json or .csv files (got {str(path)!r}).", "path"
        )

    def to_pandas(self, what: str = "summary") -> Any:
        """A pandas DataFrame: ``"summary"`` has the rows of the summary CSV (one per run and
        metric), ``"requests"`` the rows of the per-request CSV. Needs pandas."""
        try:
            import pandas as pd  # type: ignore[import-not-found]
        except ImportError:
            raise ImportError(
                "to_pandas() needs pandas: pip install pandas (or pip install 'splleed[pandas]'). "
                "Without it, use to_dict(), save('x.csv') or to_csv()."
            ) from None
        if what == "summary":
            text = self._core.csv_summary()
        elif what == "requests":
            text = self._core.csv_requests()
        else:
            raise ConfigError(f"what must be 'summary' or 'requests' (got {what!r}).", "what")
        return pd.read_csv(io.StringIO(text))

    def __repr__(self) -> str:
        levels = ", ".join(dict.fromkeys(r.label for r in self.runs))
        note = ", interrupted" if self.interrupted else ""
        return f"BenchmarkResults({len(self.runs)} runs: {levels}{note})"


def load_results(path: PathLike) -> BenchmarkResults:
    """Reads a results JSON file written by ``splleed run --json`` or :meth:`BenchmarkResults.save`."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        core = _core.Result.from_json(text)
    except _core.ConfigError as e:
        raise ConfigError(str(e), "path") from None
    return BenchmarkResults(core)
