"""Configuration classes: sampling, service-level objectives and backends.

Every class validates its fields when constructed and raises :class:`~splleed.ConfigError` (a
``ValueError``) naming the field. Defaults mirror ``splleed run``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Dict, List, Mapping, Optional

from .errors import ConfigError

__all__ = [
    "SamplingParams",
    "SLOConfig",
    "OpenAIConfig",
    "VLLMConfig",
    "TGIConfig",
    "SGLangConfig",
    "LlamaCppConfig",
    "SimBackend",
    "Backend",
    "sim_tokenizer",
]


# ---- field checks: each raises ConfigError naming `name` ------------------------------------


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def check_int(name: str, v: Any, minimum: Optional[int] = None) -> int:
    if not _is_int(v):
        raise ConfigError(f"{name} must be an integer (got {v!r}).", name)
    if minimum is not None and v < minimum:
        raise ConfigError(f"{name} must be at least {minimum} (got {v}).", name)
    return int(v)


def check_number(
    name: str,
    v: Any,
    *,
    positive: bool = False,
    non_negative: bool = False,
    maximum: Optional[float] = None,
) -> float:
    if not _is_number(v):
        raise ConfigError(f"{name} must be a finite number (got {v!r}).", name)
    if positive and not v > 0:
        raise ConfigError(f"{name} must be positive (got {v}).", name)
    if non_negative and v < 0:
        raise ConfigError(f"{name} must not be negative (got {v}).", name)
    if maximum is not None and v > maximum:
        raise ConfigError(f"{name} must be at most {maximum} (got {v}).", name)
    return float(v)


def check_bool(name: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(f"{name} must be True or False (got {v!r}).", name)
    return v


def check_choice(name: str, v: Any, choices: Mapping[str, str]) -> str:
    if not isinstance(v, str) or v not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ConfigError(f"{name} must be one of {options} (got {v!r}).", name)
    return choices[v]


# ---- sampling and SLOs ------------------------------------------------------------------------


@dataclass(frozen=True)
class SamplingParams:
    """What each request asks the engine for.

    ``max_tokens=None`` takes the CLI's default: 64, or 32 against the embedded simulator.
    ``extra_body`` is merged into every request body (its keys win).
    """

    max_tokens: Optional[int] = None
    temperature: Optional[float] = None
    top_p: Optional[float] = None
    ignore_eos: bool = False
    min_tokens: Optional[int] = None
    extra_body: Optional[Mapping[str, Any]] = None

    def __post_init__(self) -> None:
        if self.max_tokens is not None:
            check_int("sampling.max_tokens", self.max_tokens, 1)
        if self.temperature is not None:
            check_number("sampling.temperature", self.temperature, non_negative=True)
        if self.top_p is not None:
            check_number("sampling.top_p", self.top_p, positive=True, maximum=1)
        check_bool("sampling.ignore_eos", self.ignore_eos)
        if self.min_tokens is not None:
            check_int("sampling.min_tokens", self.min_tokens, 0)
            if self.max_tokens is not None and self.min_tokens > self.max_tokens:
                raise ConfigError(
                    f"sampling.min_tokens ({self.min_tokens}) must not exceed "
                    f"sampling.max_tokens ({self.max_tokens}).",
                    "sampling.min_tokens",
                )
        if self.extra_body is not None:
            if not isinstance(self.extra_body, Mapping):
                raise ConfigError(
                    f"sampling.extra_body must be a dict (got {type(self.extra_body).__name__}).",
                    "sampling.extra_body",
                )
            try:
                json.dumps(dict(self.extra_body))
            except (TypeError, ValueError) as e:
                raise ConfigError(
                    f"sampling.extra_body must be JSON-serialisable: {e}.", "sampling.extra_body"
                ) from None


# SLOConfig field -> metric key of docs/metrics.md.
_SLO_METRICS = {
    "ttft_ms": "ttft",
    "tpot_ms": "tpot",
    "itl_ms": "itl",
    "e2e_ms": "e2e",
    "e2e_from_schedule_ms": "e2e_from_schedule",
    "ttst_ms": "ttst",
    "icl_ms": "icl",
    "ttft_from_schedule_ms": "ttft_from_schedule",
    "stream_end_ms": "stream_end",
    "worst_stall_ms": "worst_stall",
}


@dataclass(frozen=True)
class SLOConfig:
    """Service-level objectives, in milliseconds. A request is *good* when it succeeded and met
    every objective set here; results then report goodput and the good fraction per level.
    ``itl_ms`` and ``icl_ms`` judge a request by its worst gap (docs/metrics.md)."""

    ttft_ms: Optional[float] = None
    tpot_ms: Optional[float] = None
    itl_ms: Optional[float] = None
    e2e_ms: Optional[float] = None
    e2e_from_schedule_ms: Optional[float] = None
    ttst_ms: Optional[float] = None
    icl_ms: Optional[float] = None
    ttft_from_schedule_ms: Optional[float] = None
    stream_end_ms: Optional[float] = None
    worst_stall_ms: Optional[float] = None

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if v is not None:
                check_number(f"slo.{f.name}", v, positive=True)
        if not self.targets():
            raise ConfigError("slo needs at least one objective, e.g. SLOConfig(ttft_ms=500).", "slo")

    def targets(self) -> List[Dict[str, Any]]:
        """The objectives as the results JSON writes them: ``[{"metric", "threshold_ms"}]``."""
        return [
            {"metric": _SLO_METRICS[f.name], "threshold_ms": float(getattr(self, f.name))}
            for f in fields(self)
            if getattr(self, f.name) is not None
        ]


# ---- backends ---------------------------------------------------------------------------------

_APIS = {
    "completions": "openai-completions",
    "chat": "openai-chat",
    "openai-completions": "openai-completions",
    "openai-chat": "openai-chat",
}


@dataclass(frozen=True)
class OpenAIConfig:
    """Any OpenAI-compatible server, reached at ``endpoint`` (connect mode).

    Without ``endpoint`` the server is started for the run (managed mode): an engine config
    (``VLLMConfig``, ``TGIConfig``, ``SGLangConfig``, ``LlamaCppConfig``) launches that engine with
    ``model`` as the model to load; a plain ``OpenAIConfig`` needs ``Benchmark(launch=...)``.

    ``api`` is ``"completions"`` (``/v1/completions``) or ``"chat"`` (``/v1/chat/completions``);
    both are streamed. ``model=""`` takes the first model the server lists. ``api_key=None`` reads
    ``$SPLLEED_API_KEY``; the key is sent as a Bearer token and never written to results.
    """

    endpoint: Optional[str] = None
    model: str = ""
    api: str = "completions"
    api_key: Optional[str] = field(default=None, repr=False)
    insecure: bool = False
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 120.0

    engine: ClassVar[str] = "OpenAI-compatible server"
    # The engine splleed starts when endpoint is None (managed mode); "" for none.
    launch: ClassVar[str] = ""

    def __post_init__(self) -> None:
        if self.endpoint is not None and (
            not isinstance(self.endpoint, str) or "://" not in self.endpoint
        ):
            raise ConfigError(
                f"backend.endpoint must be a URL such as 'http://localhost:8000' "
                f"(got {self.endpoint!r}).",
                "backend.endpoint",
            )
        if not isinstance(self.model, str):
            raise ConfigError(f"backend.model must be a string (got {self.model!r}).",
                              "backend.model")
        check_choice("backend.api", self.api, _APIS)
        if self.api_key is not None and not isinstance(self.api_key, str):
            raise ConfigError("backend.api_key must be a string.", "backend.api_key")
        check_bool("backend.insecure", self.insecure)
        check_number("backend.connect_timeout_s", self.connect_timeout_s, positive=True)
        check_number("backend.read_timeout_s", self.read_timeout_s, positive=True)

    @property
    def wire_api(self) -> str:
        return _APIS[self.api]

    def resolved_api_key(self) -> str:
        return self.api_key if self.api_key is not None else os.environ.get("SPLLEED_API_KEY", "")


@dataclass(frozen=True)
class VLLMConfig(OpenAIConfig):
    """A vLLM server's OpenAI-compatible API (``vllm serve``)."""

    engine: ClassVar[str] = "vLLM server"
    launch: ClassVar[str] = "vllm"


@dataclass(frozen=True)
class TGIConfig(OpenAIConfig):
    """Hugging Face Text Generation Inference through its OpenAI-compatible API."""

    engine: ClassVar[str] = "TGI server"
    launch: ClassVar[str] = "tgi"


@dataclass(frozen=True)
class SGLangConfig(OpenAIConfig):
    """An SGLang server's OpenAI-compatible API."""

    engine: ClassVar[str] = "SGLang server"
    launch: ClassVar[str] = "sglang"


@dataclass(frozen=True)
class LlamaCppConfig(OpenAIConfig):
    """A llama.cpp ``llama-server``'s OpenAI-compatible API."""

    engine: ClassVar[str] = "llama.cpp server"
    launch: ClassVar[str] = "llamacpp"


@dataclass(frozen=True)
class SimBackend:
    """The simulated engine, started in-process for the run (``splleed run --sim``).

    Its timing follows a small continuous-batching model (docs/design/simulator.md): time to
    first token ``ttft_ms + prefill_us_per_token * prompt_tokens``, decode steps of
    ``itl_ms + step_us_per_running * running``, at most ``max_running`` requests decoding at
    once. It counts a prompt's tokens as ceil(UTF-8 bytes / 4) (see :func:`sim_tokenizer`).
    """

    ttft_ms: float = 40.0
    itl_ms: float = 8.0
    prefill_us_per_token: float = 20.0
    step_us_per_running: float = 50.0
    max_running: int = 16
    jitter: float = 0.0
    eos_probability: float = 0.0
    threads: int = 1
    seed: int = 0
    model: str = "splleed-sim"

    def __post_init__(self) -> None:
        for name in ("ttft_ms", "itl_ms", "prefill_us_per_token", "step_us_per_running"):
            check_number(f"backend.{name}", getattr(self, name), non_negative=True)
        check_number("backend.jitter", self.jitter, non_negative=True, maximum=1)
        check_number("backend.eos_probability", self.eos_probability, non_negative=True,
                     maximum=1)
        check_int("backend.max_running", self.max_running, 1)
        check_int("backend.threads", self.threads, 1)
        check_int("backend.seed", self.seed, 0)
        if not isinstance(self.model, str) or not self.model:
            raise ConfigError("backend.model must be a non-empty string.", "backend.model")

    def to_json(self) -> str:
        return json.dumps({f.name: getattr(self, f.name) for f in fields(self)})


Backend = Any  # OpenAIConfig (or an engine subclass), SimBackend, or the string "sim"


def sim_tokenizer(text: str) -> List[int]:
    """Token ids as the embedded simulator counts them: one per 4 UTF-8 bytes, rounded up.

    Useful with :func:`~splleed.synthetic_prompts` to make prompts of an exact length for the
    simulator; for a real server pass that model's tokenizer instead."""
    return list(range((len(text.encode("utf-8")) + 3) // 4))
