"""Fixtures of the report tests: the report results of 2021-T2 (previous period 2021-T1) on the
ingested default year, built once per session, and a Chromium page (skipped without
/usr/bin/chromium)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from miner.report import build_report_results, render_report
from tests.conftest import Ingested

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


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


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """The Debian Chromium driven by playwright (skips when it is not installed)."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (Debian package 'chromium'; CI installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that records console errors (``page.errors``) and every request
    (``page.requests``)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda e: errors.append(str(e)))
    opened.on("request", lambda r: requests.append(r.url))
    opened.errors, opened.requests = errors, requests
    try:
        yield opened
    finally:
        context.close()
