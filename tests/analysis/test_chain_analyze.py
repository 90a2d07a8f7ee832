"""`miner analyze`: every chain analysis on the ingested simulated year, one JSON bundle that reads
back identically, and a workspace left as it was."""

from __future__ import annotations

import json
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
def test_every_analysis_runs_and_round_trips(ingested_year: Ingested) -> None:
    before = _counts(ingested_year.workspace)
    log = connect(ingested_year.workspace, read_only=True)
    try:
        result = analyze(log, period="2021")
    finally:
        log.close()
    assert set(result.results) == set(ANALYSES)
    assert result.period == "2021"
    data = json.loads(json.dumps(result.to_dict()))
    assert data["kind"] == "chain_analysis" and data["schema_version"] == 1
    again = ChainAnalysis.from_dict(data)
    assert again.results == result.results
    assert _counts(ingested_year.workspace) == before
    # the figures are the analyses' own: the bundle adds nothing and loses nothing
    for name, value in result.results.items():
        assert data["results"][name] == json.loads(json.dumps(value.to_dict())), name


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
