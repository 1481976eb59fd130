"""Shared fixtures: a fast embedded simulator and the paths of the installed CLI and examples."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import splleed

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@pytest.fixture
def fast_sim() -> splleed.SimBackend:
    """A simulator quick enough for tests: whole runs take well under a second."""
    return splleed.SimBackend(ttft_ms=2, itl_ms=0.5, prefill_us_per_token=1, step_us_per_running=5)


@pytest.fixture
def cli() -> str:
    return splleed.cli_path()


@pytest.fixture
def child_env() -> dict:
    """Environment for child Python processes: the same interpreter and package."""
    env = dict(os.environ)
    env.pop("SPLLEED_API_KEY", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def python() -> str:
    return sys.executable
