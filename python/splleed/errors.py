"""Exceptions raised by the splleed Python API."""

from __future__ import annotations

from typing import Optional

__all__ = ["SplleedError", "ConfigError", "BenchmarkError"]


class SplleedError(Exception):
    """Base class of every splleed error."""


class ConfigError(SplleedError, ValueError):
    """A configuration value cannot be used. ``field`` names it (e.g. ``"sampling.max_tokens"``)
    when one field is at fault."""

    def __init__(self, message: str, field: Optional[str] = None) -> None:
        super().__init__(message)
        self.field = field


class BenchmarkError(SplleedError, RuntimeError):
    """The benchmark could not run: the target is unreachable or unusable. Nothing was sent."""
