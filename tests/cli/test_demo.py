"""`miner demo`, the README's main job: one command from nothing to both reports. Its files must
equal what the separate steps give on its own workspace, and both reports must open offline in a
real Chromium without an error."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from miner.cli import main
from miner.demo import STEPS
from miner.report import build_report_results


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "demo"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["demo", "--out", str(out)]) == 0
    return out, printed.getvalue()


@pytest.mark.slow
def test_demo_prints_every_step_and_writes_every_file(demo: tuple[Path, str]) -> None:
    out, printed = demo
    for number, step in enumerate(STEPS, start=1):
        assert f"[{number}/{len(STEPS)}] {step}" in printed, step
    for name in ("report.html", "report.results.json", "audit.html", "audit.results.json",
                 "conformance/conformance.json", "conformance/deviations.parquet",
                 "chain.duckdb", "demo.key", "exports/summary.json"):
        assert (out / name).stat().st_size > 0, name


@pytest.mark.slow
def test_demo_results_equal_the_separate_steps(demo: tuple[Path, str]) -> None:
    out, _ = demo
    saved = json.loads((out / "report.results.json").read_text(encoding="utf-8"))
    assert saved["period"]["label"] == "2021-T3" and saved["previous"]["label"] == "2021-T2"
    again = build_report_results(out / "chain.duckdb", "2021-T3")
    for key in ("kpis", "bottlenecks", "handoffs", "duplicates", "norms"):
        assert json.loads(json.dumps(again[key])) == saved[key], key
    conformance = json.loads((out / "conformance" / "conformance.json").read_text("utf-8"))
    assert saved["conformance"]["foreigners"] == conformance["foreigners"]
    assert saved["conformance"]["conformance_rate"] == conformance["conformance_rate"]
    audit = json.loads((out / "audit.results.json").read_text(encoding="utf-8"))
    assert json.dumps(audit, sort_keys=True).count(conformance["model"]) >= 1
    annex = next(out.glob("audit*.csv"))
    with annex.open(encoding="utf-8", newline="") as f:
        rows = sum(1 for _ in csv.DictReader(f))
    counts = conformance["counts"]
    assert rows == sum(c["deviations"] + c["accepted"] for c in counts)


@pytest.mark.slow
def test_demo_reports_open_offline(page: Any, demo: tuple[Path, str]) -> None:
    out, _ = demo
    for name in ("report.html", "audit.html"):
        path = out / name
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        assert page.locator("section h2").count() >= 6, name
    assert page.errors == []
    assert page.requests == [(out / n).as_uri() for n in ("report.html", "audit.html")]
