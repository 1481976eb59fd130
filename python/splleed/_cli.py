"""Locating and running the ``splleed`` CLI installed with the package."""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from typing import List, NoReturn, Optional


def find_cli() -> str:
    """The ``splleed`` executable of this environment: the scripts directory first (where the
    wheel installs it), then ``PATH``."""
    candidates = [
        os.path.join(sysconfig.get_path("scripts"), "splleed"),
        os.path.join(os.path.dirname(sys.executable), "splleed"),
    ]
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    found = shutil.which("splleed")
    if found:
        return found
    raise FileNotFoundError(
        "the splleed CLI is not installed in this environment (reinstall with pip install .)."
    )


def main(argv: Optional[List[str]] = None) -> NoReturn:
    args = sys.argv[1:] if argv is None else argv
    exe = find_cli()
    os.execv(exe, [exe, *args])
