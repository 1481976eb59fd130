"""splleed: measure how an LLM serving stack behaves under your traffic.

The benchmark runs in splleed's C++ engine (the same code as the ``splleed`` CLI, which this
package also installs); Python configures it, receives live callbacks and gets the results.

>>> from splleed import Benchmark, SamplingParams
>>> results = Benchmark(backend="sim", concurrency=[1, 4], runs=20,
...                     sampling=SamplingParams(max_tokens=16)).run_sync()
>>> results.print()
"""

from __future__ import annotations

from . import _core
from .benchmark import Benchmark, Progress
from .config import (
    LlamaCppConfig,
    OpenAIConfig,
    SamplingParams,
    SGLangConfig,
    SimBackend,
    SLOConfig,
    TGIConfig,
    VLLMConfig,
    sim_tokenizer,
)
from .errors import BenchmarkError, ConfigError, SplleedError
from .prompts import dataset_prompts, synthetic_prompts
from .results import (
    BenchmarkResults,
    Interval,
    MetricSummary,
    Record,
    RunResult,
    Summary,
    load_results,
)

__version__: str = _core.__version__
build_commit: str = _core.build_commit

__all__ = [
    "Benchmark",
    "Progress",
    "OpenAIConfig",
    "VLLMConfig",
    "TGIConfig",
    "SGLangConfig",
    "LlamaCppConfig",
    "SimBackend",
    "SamplingParams",
    "SLOConfig",
    "synthetic_prompts",
    "dataset_prompts",
    "sim_tokenizer",
    "BenchmarkResults",
    "RunResult",
    "Summary",
    "MetricSummary",
    "Interval",
    "Record",
    "load_results",
    "SplleedError",
    "ConfigError",
    "BenchmarkError",
    "cli_path",
]


def cli_path() -> str:
    """Path of the ``splleed`` CLI installed with this package."""
    from ._cli import find_cli

    return find_cli()
