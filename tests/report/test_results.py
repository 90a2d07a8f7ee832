"""The report results: KPI deltas against the analyses of both periods, the no-data error,
privacy, determinism and the catalogues."""

from __future__ import annotations

import json
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from miner.analysis.chain import analyze
from miner.analysis.period import Period
from miner.model.log import connect
from miner.report import NoDataError, build_report_results, render_report
from miner.report.render import count, number
from miner.report.sections import norms_met_share
from tests.conftest import Ingested


@pytest.fixture(scope="module")
def analyses(ingested_year: Ingested) -> dict[str, dict[str, Any]]:
    """The four KPI analyses of 2021-T1 and 2021-T2, run independently of the report."""
    log = connect(ingested_year.workspace, read_only=True)
    try:
        return {p: analyze(log, period=p, only=["bottlenecks", "handoffs", "duplicates", "norms"])
                .to_dict()["results"] for p in ("2021-T1", "2021-T2")}
    finally:
        log.close()


def test_kpi_deltas_equal_the_two_periods_analyses(t2_results: dict[str, Any],
                                                    analyses: dict[str, Any]) -> None:
    t1, t2 = analyses["2021-T1"], analyses["2021-T2"]
    kpis = {k["key"]: k for k in t2_results["kpis"]}
    assert t2_results["previous"]["label"] == "2021-T1"
    expected = {
        "foreigners": (t2["bottlenecks"]["foreigners"], t1["bottlenecks"]["foreigners"]),
        "hours_lost": (t2["duplicates"]["hours_lost"], t1["duplicates"]["hours_lost"]),
        "handoff_share": (t2["handoffs"]["handoff_share"], t1["handoffs"]["handoff_share"]),
        "norms_met_share": (norms_met_share(t2["norms"]), norms_met_share(t1["norms"])),
        "mean_lead_days": (
            t2["bottlenecks"]["lead_time_days"] / t2["bottlenecks"]["foreigners"],
            t1["bottlenecks"]["lead_time_days"] / t1["bottlenecks"]["foreigners"]),
    }
    for key, (now, before) in expected.items():
        assert kpis[key]["value"] == pytest.approx(now), key
        assert kpis[key]["previous"] == pytest.approx(before), key
        assert kpis[key]["delta"] == pytest.approx(now - before), key
    top = t2["bottlenecks"]["steps"][0]
    same_step = next(s for s in t1["bottlenecks"]["steps"] if s["activity"] == top["activity"])
    assert kpis["top_wait_days"]["activity"] == top["activity"]
    assert kpis["top_wait_days"]["delta"] == pytest.approx(top["wait_days"]
                                                           - same_step["wait_days"])
    # the ranking carries each step's change as well
    step = t2_results["bottlenecks"]["steps"][1]
    before = next(s for s in t1["bottlenecks"]["steps"] if s["activity"] == step["activity"])
    assert step["previous_rank"] == before["rank"]
    assert step["delta_wait_days"] == pytest.approx(step["wait_days"] - before["wait_days"])


def test_norms_met_share_is_met_over_decided() -> None:
    counts = {"met": 30, "late": 5, "early": 3, "ended_without": 2}
    assert norms_met_share({"norms": [{"counts": counts}, {"counts": counts}]}) == 0.75


def test_a_period_without_data_names_the_period_and_the_data_range(
        ingested_year: Ingested) -> None:
    with pytest.raises(NoDataError, match=r"period 2030-T2 .*holds no events: the data run from "
                                          r"\d{4}-\d\d-\d\d to 2022-01-0\d"):
        build_report_results(ingested_year.workspace, "2030-T2")


def test_results_hold_no_identifiers_and_small_counts_are_suppressed(
        t2_results: dict[str, Any]) -> None:
    text = json.dumps(t2_results, ensure_ascii=False)
    pseudonym = re.compile(r"vreemdeling:[0-9a-f]{8,}")
    assert not pseudonym.search(text) and "event_ids" not in text and "evidence" not in text
    html = render_report(t2_results)
    assert not pseudonym.search(html)
    assert count(7, "nl") == "<10" and count(10, "nl") == "10" and count(0, "en") == "0"


def test_a_small_count_shows_as_under_ten_and_its_value_is_not_in_the_page(
        results: dict[str, Any]) -> None:
    results["handoffs"]["matrix"] = [{"source": "Qsrc", "target": "Qdst", "handoffs": 7,
                                      "foreigners": 3, "median_s": 86400.0, "p90_s": 172800.0,
                                      "mean_s": 90000.0}]
    results["handoffs"]["organisations"] = ["Qdst", "Qsrc"]
    html = render_report(results)
    row = re.search(r"<tr><td>Qsrc</td><td>Qdst</td>(.*?)</tr>", html)
    assert row is not None
    assert row.group(1).count("&lt;10") == 2
    assert 'data-value="7"' not in row.group(1) and 'data-value="3"' not in row.group(1)


def test_numbers_follow_the_language() -> None:
    assert number(1234567.3, "nl", 1) == "1.234.567,3"
    assert number(1234.5, "en", 1) == "1,234.5"
    assert number(None, "en") == "–"


def test_same_results_render_the_same_bytes_also_after_a_json_round_trip(
        t2_results: dict[str, Any]) -> None:
    first = render_report(t2_results, lang="en")
    again = json.loads(json.dumps(t2_results, sort_keys=True))
    assert render_report(again, lang="en") == first
    assert len(first.encode()) < 5_000_000
    assert not re.search(r"https?://", first.replace("http://www.w3.org/2000/svg", ""))


def test_the_two_catalogues_have_the_same_keys() -> None:
    def keys(lang: str) -> set[str]:
        text = (resources.files("miner") / "data" / "report" / f"{lang}.toml").read_text("utf-8")
        data = tomllib.loads(text)
        return {f"{section}.{key}" for section, table in data.items() for key in table}

    assert keys("nl") == keys("en")
    html_en = render_report_minimal("en")
    assert "Asylum chain bottleneck report" in html_en


def render_report_minimal(lang: str) -> str:
    """A report of empty results (also checks every section renders without data)."""
    return render_report(EMPTY, lang=lang)


EMPTY: dict[str, Any] = {
    "schema_version": 1, "kind": "report_results", "miner_version": "0",
    "period": {"label": "2021-T2", "kind": "tertaal", "start": "2021-05-01", "end": "2021-09-01"},
    "previous": {"label": "2021-T1", "kind": "tertaal", "start": "2021-01-01",
                 "end": "2021-05-01", "has_data": False},
    "data_range": {"first": "2021-01-01", "last": "2021-12-31"},
    "kpis": [], "bottlenecks": {"foreigners": 0, "lead_time_days": 0, "period_days": 0,
                                "steps": []},
    "process_map": {"cases": 0, "events": 0, "nodes": [], "edges": [], "edges_total": 0},
    "stock": {"first_day": "2021-05-01", "last_day": "2021-08-31", "unknown_end": 0,
              "steps": [], "locations": [], "locations_total": 0},
    "handoffs": {"handoffs": 0, "foreigners": 0, "handoff_share": None, "ping_pongs": 0,
                 "organisations": [], "matrix": []},
    "duplicates": {"foreigners": 0, "repeats": 0, "hours_lost": 0, "window_days": 365,
                   "findings": [], "purposes": []},
    "norms": {"as_of": "2022-01-01", "met_share": None, "norms": []},
    "conformance": None, "data_quality": {"partners": []},
    "provenance": {"files": [], "data_files": [], "parameters": {}},
}


def test_process_map_equals_the_basics_dfg(t2_results: dict[str, Any],
                                           ingested_year: Ingested) -> None:
    from miner.analysis.basics import basics
    from miner.catalogue import chain_catalogue

    log = connect(ingested_year.workspace, read_only=True)
    try:
        found = basics(log, period=Period.parse("2021-T2"), top=0).to_dict()
    finally:
        log.close()
    labels = {a.label for a in chain_catalogue().values()}
    expected = {(e["source"], e["target"]): (e["frequency"], e["median_days"])
                for e in found["edges"] if e["source"] in labels and e["target"] in labels}
    shown = t2_results["process_map"]
    assert {(e["source"], e["target"]): (e["frequency"], e["median_days"])
            for e in shown["edges"]} == expected
    assert shown["cases"] == found["cases"] and shown["events"] == found["events"]
    node = next(n for n in shown["nodes"] if n["activity_id"] == "A01")
    assert node["frequency"] == found["start_activities"].get(node["activity"], 0) + sum(
        f for (_, target), (f, _) in expected.items() if target == node["activity"])


def test_cli_saves_results_and_rerenders_them_to_the_same_bytes(
        t2_results: dict[str, Any], tmp_path: Path) -> None:
    from miner.cli import main
    from miner.report import write_report

    first = write_report(t2_results, tmp_path / "a.html", lang="en")
    saved = tmp_path / "a.results.json"
    assert json.loads(saved.read_text(encoding="utf-8")) == json.loads(json.dumps(t2_results))
    assert main(["report", "--results", str(saved), "--lang", "en",
                 "--out", str(tmp_path / "b.html")]) == 0
    assert (tmp_path / "b.html").read_bytes() == first.read_bytes()
    assert main(["report", "--results", str(tmp_path / "a.html"),
                 "--out", str(tmp_path / "c.html")]) == 3
