"""Shared fixtures: the real logs beside the project, and pm4py as the oracle."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pytest

import miner

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


#: sepsis.csv (a Disco export): semicolons, local Europe/Amsterdam times with milliseconds.
SEPSIS_MAPPING = miner.ColumnMapping(
    activity="Activity",
    timestamp="Complete Timestamp",
    objects={"Case ID": "case"},
    timestamp_format="%Y/%m/%d %H:%M:%S.%g",
    delimiter=";",
    timezone="Europe/Amsterdam",
)
