"""The audit of the simulated year: the page's figures equal the conformance result, the annex
holds every finding once, the drill-down timelines equal the workspace's events, accepted
deviations stay apart, and the same input gives the same bytes (also re-rendered, also by the
CLI)."""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html

from miner.audit import build_audit_results, read_conformance_dir, render_audit
from miner.audit.cli import register
from miner.audit.comparison import comparison_section
from miner.audit.drilldown import sample_foreigners
from miner.audit.findings import ANNEX_COLUMNS, SIGNOFF_COLUMNS, finding_id, finding_ids, pseudonym
from miner.conformance.cli import write_outputs
from miner.conformance.compare import compare_models
from miner.conformance.deviations import CATEGORIES, Deviation, Evidence
from miner.errors import InputError
from miner.model.log import connect
from miner.report.datafiles import catalogue, layout
from miner.report.render import number
from tests.audit.conftest import Audit, recount
from tests.conftest import Ingested

SUPPRESS = 10


def _dom(path: Path) -> Any:
    return lxml_html.fromstring(path.read_bytes())


def _has(name: str) -> str:
    """XPath test: the element has class ``name``."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def _rows(dom: Any, table_id: str) -> list[Any]:
    return list(dom.xpath(f"//table[@id='{table_id}']/tbody/tr"))


def _cell_count(td: Any) -> int | None:
    """A count cell: its exact value, or None when it shows <10 (no value in the page)."""
    if "suppressed" in td.get("class", ""):
        assert td.text_content() == "<10" and td.get("data-value") is None
        return None
    return int(td.get("data-value"))


def _same_count(td: Any, value: int) -> None:
    shown = _cell_count(td)
    assert shown == value if shown is not None else 0 < value < SUPPRESS


def _small_rate(r: Any) -> bool:
    """A row of the rate tables whose rate the page hides: under 10 foreigners, or 1 to 9
    deviating or conforming."""
    return r.foreigners < SUPPRESS or any(0 < n < SUPPRESS for n in (r.deviating, r.conforming))


def _annex(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _audit_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["audit", *argv])
    code: int = args.func(args)
    return code


# --- figures ----------------------------------------------------------------------------------------

def test_page_figures_equal_the_conformance_result(audit: Audit) -> None:
    c = audit.conformance
    dom = _dom(audit.html)
    kpi = {k.get("data-kpi"): k.get("data-value") for k in dom.xpath(f"//div[{_has('kpi')}]")}
    assert int(kpi["foreigners"]) == c.foreigners > 50_000
    assert int(kpi["conforming"]) == c.conforming
    assert int(kpi["deviating"]) == c.foreigners - c.conforming
    assert float(kpi["conformance_rate"]) == pytest.approx(c.conformance_rate)
    assert float(kpi["replay_fitness"]) == pytest.approx(c.replay_fitness)
    assert float(kpi["precision"]) == pytest.approx(c.precision)
    assert int(kpi["findings"]) == len(c.deviations)
    assert int(kpi["accepted"]) == len(c.accepted) == 0
    for dim in ("month", "phase", "lane", "partner"):
        want = [r for r in c.rates if r.dimension == dim]
        rows = _rows(dom, f"rates-{dim}")
        assert [r.get("data-value") for r in rows] == [r.value for r in want] and want, dim
        for row, rate in zip(rows, want, strict=True):
            cells = row.xpath("./td")
            _same_count(cells[1], rate.foreigners)
            # a small row (tests/audit/test_rates.py) hides its rate and its counts of 10 or more
            small = _small_rate(rate)
            assert (row.get("data-suppressed") == "1") == small
            for cell, n in ((cells[2], rate.conforming), (cells[3], rate.deviating)):
                if small and n >= SUPPRESS:
                    assert cell.get("data-value") is None and cell.text_content() == "–"
                else:
                    _same_count(cell, n)
            if small:
                assert cells[4].get("data-value") is None and cells[4].text_content() == "–"
            else:
                assert float(cells[4].get("data-value")) == pytest.approx(rate.rate)
    # the chart has one bar per month, at the month's rate
    bars = dom.xpath("//figure[@id='rate-chart']//g[@class='month']")
    months = [r for r in c.rates if r.dimension == "month"]
    assert [b.get("data-month") for b in bars] == [r.value for r in months]
    for bar, r in zip(bars, months, strict=True):
        assert (bar.get("data-rate") == "") if _small_rate(r) else \
            float(bar.get("data-rate")) == pytest.approx(r.rate)
    categories = _rows(dom, "categories-table")
    assert [r.get("data-category") for r in categories] == list(CATEGORIES)
    for row, count in zip(categories, c.counts, strict=True):
        cells = row.xpath("./td")
        _same_count(cells[1], count.deviations)
        _same_count(cells[2], count.foreigners)
        _same_count(cells[3], count.accepted)
    assert sum(x.deviations for x in c.counts) == len(c.deviations)


def test_annex_has_every_finding_once_with_empty_signoff_columns(audit: Audit) -> None:
    c = audit.conformance
    rows = _annex(audit.annex)
    assert len(rows) == len(c.deviations) + len(c.accepted)
    assert tuple(rows[0]) == ANNEX_COLUMNS
    found = Counter(r["category"] for r in rows if r["accepted_by"] == "")
    assert {cat: found[cat] for cat in CATEGORIES} == {x.category: x.deviations for x in c.counts}
    assert len({r["finding_id"] for r in rows}) == len(rows)
    assert all(r[col] == "" for r in rows for col in SIGNOFF_COLUMNS)
    # in the conformance result's order, and the evidence as the deviations have it
    for row, d in zip(rows[::997], c.deviations[::997], strict=True):
        assert row["foreigner"] == pseudonym(d.foreigner) and row["category"] == d.category
        assert row["source_rows"] == ";".join(str(e.source_row) for e in d.evidence)
        assert row["finding_id"] == finding_id(d)
    assert not any(r["foreigner"].startswith("vreemdeling:") for r in rows[:100])


def test_finding_ids_are_stable_and_numbered_when_repeated() -> None:
    ev = (Evidence("indigo:M1", "indigo", 7, "2021-01-01T00:00:00+00:00"),)
    one = Deviation("vreemdeling:ab", "skipped", "A", "Task_A", "IND", None, None, "AA", "x", ev)
    other_detail = replace(one, detail="y", evidence=(*ev, ev[0]))
    moved = replace(one, evidence=(Evidence("indigo:M2", "indigo", 8, ev[0].ts),))
    assert re.fullmatch(r"[0-9a-f]{16}", finding_id(one))
    assert finding_id(other_detail) == finding_id(one)  # detail and later evidence: same finding
    assert finding_id(moved) != finding_id(one)
    assert finding_id(replace(one, category="inserted")) != finding_id(one)
    base = finding_id(one)
    assert finding_ids([one, moved, other_detail]) == [base, finding_id(moved), base + "-2"]


# --- drill-down ---------------------------------------------------------------------------------

def test_drilldown_is_the_first_pseudonyms_per_category(audit: Audit) -> None:
    per = layout()["audit"]["drilldown_per_category"]
    drill = audit.results["drilldown"]
    assert drill["per_category"] == per
    want = sample_foreigners(audit.conformance.deviations, per)
    assert [p["foreigner"] for p in drill["foreigners"]] == [pseudonym(f) for f in want]
    for category in CATEGORIES:
        having = sorted({d.foreigner for d in audit.conformance.deviations
                         if d.category == category})
        assert [f for f in want if category in want[f]] == having[:per]
    findings_shown = sum(len(p["findings"]) for p in drill["foreigners"])
    assert findings_shown == sum(1 for d in audit.conformance.deviations if d.foreigner in want)


def test_drilldown_timelines_equal_the_workspace_events(audit: Audit,
                                                        ingested_year: Ingested) -> None:
    dom = _dom(audit.html)
    people = audit.results["drilldown"]["foreigners"]
    assert len(people) >= 30
    log = connect(ingested_year.workspace, read_only=True)
    try:
        found = log.con.execute("""
            SELECT eo.object_id, e.event_id, e.event_type, e.source, e.source_file, e.source_row
            FROM event_objects eo JOIN events e USING (event_id)
            WHERE list_contains(?, eo.object_id) AND eo.qualifier = 'vreemdeling'
            ORDER BY eo.object_id, e.timestamp, e.seq""",
            [["vreemdeling:" + p["foreigner"] for p in people]]).fetchall()
    finally:
        log.close()
    of: dict[str, list[tuple[Any, ...]]] = {}
    for row in found:
        of.setdefault(pseudonym(row[0]), []).append(row[1:])
    mine: dict[str, list[Deviation]] = {}
    for d in audit.conformance.deviations:
        mine.setdefault(pseudonym(d.foreigner), []).append(d)
    details = {d.get("data-foreigner"): d for d in dom.xpath("//details[@data-foreigner]")}
    assert list(details) == [p["foreigner"] for p in people]
    for person in people:
        events = of[person["foreigner"]]
        box = details[person["foreigner"]]
        shown = box.xpath(".//table[@class='timeline']/tbody/tr")
        assert len(shown) == len(events) == len(person["events"]) > 0
        assert [r.get("data-event") for r in shown] == [e[0] for e in events]
        assert [r.xpath("./td[@class='activity']")[0].text_content() for r in shown] == \
            [e[1] for e in events]
        rows = {r.get("data-event"): r for r in shown}
        where = {e[0]: (e[2], e[3], e[4]) for e in events}
        articles = box.xpath(".//article[@class='finding']")
        assert [a.get("data-finding") for a in articles] == \
            [f["id"] for f in person["findings"]]
        # the foreigner's findings are exactly theirs in the conformance result
        assert [(f["category"], f["task"], f["activity"], f["lane"],
                 [e["event_id"] for e in f["evidence"]]) for f in person["findings"]] == [
            (d.category, d.task, d.activity, d.lane, [e.event_id for e in d.evidence])
            for d in mine[person["foreigner"]]]
        for article, finding in zip(articles, person["findings"], strict=True):
            assert article.xpath(".//span[@class='task']")[0].text_content() == \
                (finding["task"] or "–")
            assert [(r.get("data-event"), r.xpath("./td[@class='source']")[0].text_content(),
                     int(r.xpath(f"./td[{_has('source-row')}]")[0].text_content()))
                    for r in article.xpath(".//table[@class='evidence']/tbody/tr")] == [
                (e["event_id"], e["source"], e["source_row"]) for e in finding["evidence"]]
        for finding in person["findings"]:
            assert finding["evidence"] or finding["category"] == "unresolved"
            for ev in finding["evidence"]:
                source, file, row = where[ev["event_id"]]  # the evidence is in the timeline
                assert (ev["source"], ev["source_row"], ev["source_file"]) == (
                    source, row, file)
                tr = rows[ev["event_id"]]
                assert tr.xpath("./td[@class='source']")[0].text_content() == source
                assert int(tr.xpath(f"./td[{_has('source-row')}]")[0].text_content()) == row
                assert "has-finding" in tr.get("class", "")
                assert finding["id"] in tr.text_content()


def test_accepted_deviations_appear_only_in_the_accepted_section(allowed: Audit) -> None:
    c = allowed.conformance
    assert len(c.accepted) > 100 and {d.category for d in c.accepted} == {"wrong_lane"}
    assert c.count("wrong_lane") == 0
    dom = _dom(allowed.html)
    drill = dom.xpath("//section[@id='drilldown']")[0]
    assert drill.xpath(".//article[@class='finding']") and \
        not drill.xpath(".//article[@class='finding'][@data-category='wrong_lane']")
    ids = finding_ids([*c.deviations, *c.accepted])
    accepted_ids = set(ids[len(c.deviations):])
    text = re.sub(r"\s+", " ", drill.text_content())
    assert not any(fid in text for fid in list(accepted_ids))
    sample = dom.xpath("//section[@id='accepted']//tr[@class='accepted-deviation']")
    assert len(sample) == layout()["audit"]["accepted_sample"]
    assert {r.get("data-category") for r in sample} == {"wrong_lane"}
    assert {r.get("data-finding") for r in sample} <= accepted_ids
    entry = _rows(dom, "accepted-entries")
    assert [r.get("data-entry") for r in entry] == ["1"]
    assert int(entry[0].xpath("./td")[8].get("data-value")) == len(c.accepted)
    assert "<b>capacity</b> is short" in entry[0].text_content()  # escaped, shown as text
    assert [r.get("data-entry") for r in _rows(dom, "expired-entries")] == ["2"]
    kpi = dom.xpath("//div[@data-kpi='accepted']")[0]
    assert int(kpi.get("data-value")) == len(c.accepted)
    rows = _annex(allowed.annex)
    assert sum(r["accepted_by"] == "1" for r in rows) == len(c.accepted)
    assert Counter(r["category"] for r in rows if r["accepted_by"]) == {"wrong_lane":
                                                                        len(c.accepted)}
    assert allowed.results["provenance"]["allowlist"]["entries"] == 2


# --- determinism, languages, CLI ----------------------------------------------------------------

def test_same_results_give_the_same_bytes_also_rerendered_by_the_cli(audit: Audit,
                                                                       tmp_path: Path) -> None:
    html = audit.html.read_text(encoding="utf-8")
    assert render_audit(audit.results) == html == render_audit(audit.results)
    assert len(html.encode("utf-8")) < 5_000_000
    assert not re.search(r"https?://", html.replace("http://www.w3.org/2000/svg", ""))
    assert "vreemdeling:" not in html
    assert _audit_cli("--results", str(audit.results_file), "--out", str(tmp_path / "b.html")) == 0
    assert (tmp_path / "b.html").read_bytes() == audit.html.read_bytes()
    assert not (tmp_path / "b-annex.csv").exists()
    other = tmp_path / "other.results.json"
    other.write_text('{"kind": "report_results", "schema_version": 1}', encoding="utf-8")
    with pytest.raises(InputError, match="not audit results"):
        _audit_cli("--results", str(other), "--out", str(tmp_path / "c.html"))


def test_the_model_and_practice_section_shows_the_comparison(audit: Audit,
                                                              ingested_year: Ingested) -> None:
    """Section "Model en praktijk": per phase the first rows of the model comparison of the same
    workspace (miner.conformance.compare), the planted spoor-after-hearing among the forbidden
    flows of the aanmeldfase, the planted documents research by the Politie the RVT's lane
    move."""
    hearing, spoor = "Aanmeldgehoor (dag 3)", "Bepalen van spoor"
    shown = audit.results["comparison"]
    log = connect(ingested_year.workspace, read_only=True)
    try:
        section = comparison_section(compare_models(log), layout()["audit"]["compare_rows"])
        assert shown == json.loads(json.dumps(section))  # as saved: lists, not tuples
    finally:
        log.close()
    assert [p["phase"] for p in shown["phases"]] == [
        "aanmeldfase", "RVT", "AA", "VA", "beroep", "uitstroom", "vertrek"]
    dom = _dom(audit.html)
    assert dom.xpath("//section[@id='compare']/h2")[0].text_content() == "Model en praktijk"
    first = shown["phases"][0]
    rows = _rows(dom, "compare-aanmeldfase-forbidden")
    assert [(r.get("data-source"), r.get("data-target")) for r in rows] == [
        (x["source"] or "", x["target"] or "") for x in first["forbidden"]]
    assert len(rows) == 15 < first["forbidden_rows"]
    want = next(x for x in first["forbidden"] if (x["source"], x["target"]) == (hearing, spoor))
    assert want["foreigners"] > 400
    cells = next(r for r in rows if r.get("data-target") == spoor
                 and r.get("data-source") == hearing).xpath("./td")
    assert [c.text_content() for c in cells[:2]] == [hearing, spoor]
    _same_count(cells[2], want["frequency"])
    _same_count(cells[3], want["foreigners"])
    moves = _rows(dom, "compare-RVT-lanes")
    assert [(r.get("data-activity"), r.get("data-organisation")) for r in moves] == [
        ("Documentenonderzoek (Extern: KMar)", "Politie")]
    move = shown["phases"][1]["lane_moves"][0]
    assert float(moves[0].xpath("./td")[5].get("data-value")) == pytest.approx(move["share"])
    assert "Model and practice" in render_audit(audit.results, lang="en")


def test_english_uses_the_english_catalogue(audit: Audit) -> None:
    en, nl = catalogue("en")["audit"], catalogue("nl")["audit"]
    page = render_audit(audit.results, lang="en")
    assert '<html lang="en">' in page and en["title"] in page and en["sections"]["drilldown"] in page
    assert nl["sections"]["drilldown"] not in page and nl["title"] not in page
    assert number(audit.conformance.foreigners, "en") in page  # English separators
    dutch = audit.html.read_text(encoding="utf-8")
    assert '<html lang="nl">' in dutch and nl["sections"]["accepted"] in dutch


def test_the_audit_catalogues_have_the_same_keys() -> None:
    def keys(table: dict[str, Any], prefix: str = "") -> set[str]:
        found = set()
        for k, v in table.items():
            found.add(prefix + k)
            if isinstance(v, dict):
                found |= keys(v, prefix + k + ".")
        return found

    assert keys(catalogue("nl")["audit"]) == keys(catalogue("en")["audit"])
    assert set(catalogue("nl")["audit"]["categories"]) == set(CATEGORIES)


def test_cli_with_a_conformance_folder_writes_the_same_audit(allowed: Audit,
                                                             ingested_year: Ingested,
                                                             tmp_path: Path) -> None:
    # the first 400 foreigners of the allowlisted year (findings and accepted): a small folder
    c = allowed.conformance
    keep = set(sorted({d.foreigner for d in (*c.deviations, *c.accepted)})[:400])
    small = recount(c, [d for d in c.deviations if d.foreigner in keep],
                    [d for d in c.accepted if d.foreigner in keep])
    assert small.accepted and small.deviations
    folder = tmp_path / "conf"
    write_outputs(small, folder)
    assert read_conformance_dir(folder) == small
    out = tmp_path / "cli.html"
    assert _audit_cli("--workspace", str(ingested_year.workspace), "--conformance", str(folder),
                      "--allowlist", str(allowed.allowlist), "--lang", "en",
                      "--out", str(out)) == 0
    results = json.loads((tmp_path / "cli.results.json").read_text(encoding="utf-8"))
    assert results["provenance"]["conformance"]["file"] == "conformance.json"
    assert results == build_audit_results(ingested_year.workspace, small,
                                          allowlist=allowed.allowlist,
                                          conformance_source=folder)
    assert out.read_text(encoding="utf-8") == render_audit(results, lang="en")
    annex = _annex(tmp_path / "cli-annex.csv")
    assert len(annex) == len(small.deviations) + len(small.accepted)
    assert {r["foreigner"] for r in annex} == {pseudonym(f) for f in keep}
    with pytest.raises(InputError, match="--period: fixed by the conformance result"):
        _audit_cli("--workspace", str(ingested_year.workspace), "--conformance", str(folder),
                   "--period", "2021", "--out", str(out))
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[[accept]]\ncategory = "late"\nreason = "x"\nexpires = 2030-01-01\n',
                     encoding="utf-8")
    with pytest.raises(InputError, match="is not the allowlist of this conformance result"):
        _audit_cli("--workspace", str(ingested_year.workspace), "--conformance", str(folder),
                   "--allowlist", str(wrong), "--out", str(out))


def test_a_conformance_folder_that_does_not_add_up_is_refused(audit: Audit,
                                                               tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    small = replace(audit.conformance, deviations=audit.conformance.deviations[:50])
    write_outputs(small, folder)
    with pytest.raises(InputError, match=r"deviations.parquet: holds 50 findings, 0 accepted and 0 read"):
        read_conformance_dir(folder)
    with pytest.raises(InputError, match="cannot read a conformance result"):
        read_conformance_dir(tmp_path / "missing")


def test_an_audit_without_findings_or_rates_renders(audit: Audit) -> None:
    results = json.loads(json.dumps(audit.results))
    results["rates"] = {dim: [] for dim in ("month", "phase", "lane", "partner")}
    results["drilldown"]["foreigners"] = []
    results["accepted"] = {"total": 0, "foreigners": 0, "entries": [], "expired": []}
    results["headline"]["findings"] = 0
    page = render_audit(results, lang="en")
    texts = catalogue("en")["audit"]
    assert texts["drilldown_none"] in page and texts["accepted_none"] in page
    assert "0 of 0 findings" in page
    assert "<details" not in page
