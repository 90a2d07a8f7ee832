"""Shared fixtures: the real logs beside the project, and pm4py as the oracle."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pytest

REALLOGS = Path(__file__).resolve().parents[1].parent / "shared" / "reallogs"


def reallog(name: str) -> Path:
    path = REALLOGS / name
    if not path.exists():
        pytest.fail(f"{path} is missing: the real logs live in ../shared/reallogs beside the project")
    return path


def import_pm4py() -> Any:
    """pm4py, imported with its welcome banner kept off stdout."""
    with contextlib.redirect_stdout(io.StringIO()):
        import pm4py
    return pm4py
