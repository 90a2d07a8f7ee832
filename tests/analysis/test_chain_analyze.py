"""`miner analyze`: every chain analysis on the ingested simulated year, one JSON bundle that reads
back identically, figures that do not depend on the order the analyses run in, and a workspace
left as it was."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import duckdb
import pytest

from miner.analysis.chain import ANALYSES, ChainAnalysis, analyze
from miner.cli import main
from miner.model.log import connect
from tests.conftest import Ingested

_TABLES = ("events", "event_attributes", "objects", "event_objects", "ingest_issues")


def _counts(path: Path) -> list[int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in _TABLES]
    finally:
        con.close()


@pytest.mark.slow
def test_every_analysis_runs_round_trips_and_does_not_depend_on_the_order(
        ingested_year: Ingested, tmp_path: Path) -> None:
    # on a writable copy: an analysis that wrote into the workspace would show in the counts
    copy = tmp_path / "year.duckdb"
    shutil.copy(ingested_year.workspace, copy)
    before = _counts(copy)
    log = connect(copy)
    try:
        result = analyze(log, period="2021")
    finally:
        log.close()
    assert _counts(copy) == before
    assert set(result.results) == set(ANALYSES)
    assert result.period == "2021"
    data = json.loads(json.dumps(result.to_dict()))
    assert data["kind"] == "chain_analysis" and data["schema_version"] == 1
    # lossless: read back and written again, the bundle is the same JSON
    assert json.loads(json.dumps(ChainAnalysis.from_dict(data).to_dict())) == data
    # run in the reverse order on a fresh connection, every analysis gives the same figures: none
    # depends on what another left behind (the journey, step tables, temp tables)
    log = connect(ingested_year.workspace, read_only=True)
    try:
        backwards = analyze(log, period="2021", only=list(reversed(ANALYSES)))
    finally:
        log.close()
    for name in ANALYSES:
        assert _same(json.loads(json.dumps(backwards.results[name].to_dict())),
                     data["results"][name]), name


def _same(a: object, b: object) -> bool:
    """Equal JSON values, floats to 1e-9 (DuckDB's parallel sums may differ in the last bit)."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(
            a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.slow
def test_cli_writes_the_bundle(ingested_year: Ingested, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "analyses.json"
    code = main(["analyze", "--workspace", str(ingested_year.workspace), "--period", "2021-T2",
                 "--only", "handoffs", "--only", "norms", "--json", str(out)])
    assert code == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["period"] == "2021-T2" and set(data["results"]) == {"handoffs", "norms"}
    assert "handoffs" in capsys.readouterr().out


def test_unknown_period_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["analyze", "--workspace", str(tmp_path / "ws.duckdb"), "--period", "2021-T4"])
    assert code == 3
    assert "period '2021-T4' is not YYYY, YYYY-MM, YYYY-T1..T3" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_segments_the_basics(ingested_year: Ingested, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "basics.json"
    code = main(["analyze", "--workspace", str(ingested_year.workspace), "--period", "2021-Q2",
                 "--only", "basics", "--spoor", "Spoor 1", "--spoor", "Spoor 2",
                 "--partner", "IND", "--json", str(out)])
    assert code == 0
    basics = json.loads(out.read_text(encoding="utf-8"))["results"]["basics"]
    assert basics["segment"] == {"spoor": ["Spoor 1", "Spoor 2"], "location": None,
                                 "nationality_group": None, "partner": ["IND"]}
    assert basics["cases"] > 0
    assert "segment applies to basics only" in capsys.readouterr().out
    code = main(["analyze", "--workspace", str(ingested_year.workspace), "--only", "basics",
                 "--location", "Amsterdam"])
    assert code != 0
    assert "unknown location" in capsys.readouterr().err
