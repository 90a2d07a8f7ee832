"""Fixtures of the report tests: the report results of 2021-T2 (previous period 2021-T1) on the
ingested default year, built once per session. The Chromium ``browser``/``page`` fixtures are in
tests/conftest.py (shared with tests/audit)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from miner.report import build_report_results, render_report
from tests.conftest import Ingested


@pytest.fixture(scope="session")
def t2_results(ingested_year: Ingested) -> dict[str, Any]:
    """Report results of 2021-T2 (read-only: copy before changing)."""
    return build_report_results(ingested_year.workspace, "2021-T2")


@pytest.fixture
def results(t2_results: dict[str, Any]) -> dict[str, Any]:
    """A private deep copy of the 2021-T2 report results."""
    return copy.deepcopy(t2_results)


@pytest.fixture(scope="session")
def t2_html(t2_results: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2021-T2 report rendered (Dutch) to a file."""
    path = tmp_path_factory.mktemp("report") / "2021-T2.html"
    path.write_text(render_report(t2_results), encoding="utf-8")
    return path
