"""The report in a real headless Chromium: offline, no console errors, every section, charts with
a size, sortable tables, escaped labels, and the numbers of the page equal to the results."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from miner.report import render_report

SECTIONS = ("summary", "process-map", "bottlenecks", "stock", "handoffs", "duplicates", "norms",
            "conformance", "data-quality", "provenance", "definitions")
ARTEFACTS = Path(__file__).resolve().parents[2] / "reports" / "test-artefacts"


def _open(page: Any, path: Path) -> None:
    page.goto(path.as_uri())
    page.wait_for_load_state("load")


def test_report_opens_offline_with_every_section_and_sized_charts(page: Any,
                                                                  t2_html: Path) -> None:
    _open(page, t2_html)
    assert page.errors == []
    assert page.requests == [t2_html.as_uri()]
    for section in SECTIONS:
        assert page.locator(f"section#{section} h2").count() == 1, section
    box = page.locator("#process-map-svg").bounding_box()
    assert box["width"] > 1000 and box["height"] > 400
    assert page.locator("#process-map-svg g.node").count() >= 56
    assert page.locator("#process-map-svg g.edge").count() > 50
    charts = page.locator("#stock-steps figure.chart svg")
    assert charts.count() == 12
    for i in range(charts.count()):
        chart_box = charts.nth(i).bounding_box()
        assert chart_box["width"] > 100 and chart_box["height"] > 50
    assert page.locator("#stock-locations figure.chart").count() > 5
    # the first screen answers: where is the most time lost, and better or worse
    headline = page.locator("#headline")
    assert headline.bounding_box()["y"] < 1000
    # every node of the map is drawn inside the map, and no two nodes overlap
    nodes = page.locator("#process-map-svg g.node").evaluate_all(
        "gs => gs.map(g => { const r = g.getBoundingClientRect(); "
        "return [r.left, r.top, r.width, r.height]; })")
    for x, y, w, h in nodes:
        assert w > 0 and h > 0
        assert box["x"] - 1 <= x and x + w <= box["x"] + box["width"] + 1
        assert box["y"] - 1 <= y and y + h <= box["y"] + box["height"] + 1
    for i, a in enumerate(nodes):
        for b in nodes[i + 1:]:
            assert not (a[0] + 1 < b[0] + b[2] and b[0] + 1 < a[0] + a[2]
                        and a[1] + 1 < b[1] + b[3] and b[1] + 1 < a[1] + a[3]), (a, b)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)  # for a human to look at, not asserted
    page.screenshot(path=str(ARTEFACTS / "report-2021-T2.png"), full_page=True)


def test_sorting_by_a_header_orders_the_rows(page: Any, t2_html: Path) -> None:
    _open(page, t2_html)
    table = page.locator("#bottleneck-table")
    column = 6  # median wait, 0-based index 6

    def medians() -> list[float]:
        values = table.locator("tbody tr").evaluate_all(
            f"rows => rows.map(r => r.cells[{column}].getAttribute('data-sort'))")
        return [float(v) if v else -math.inf for v in values]

    before = medians()
    assert before != sorted(before)
    table.locator("thead th").nth(column).click()
    assert medians() == sorted(before)
    table.locator("thead th").nth(column).click()
    assert medians() == sorted(before, reverse=True)
    table.locator("thead th").nth(1).click()  # by step name, as text
    names = table.locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert names == sorted(names, key=str.lower)


def test_page_numbers_equal_the_results(page: Any, t2_html: Path,
                                        t2_results: dict[str, Any]) -> None:
    _open(page, t2_html)
    for kpi in t2_results["kpis"]:
        card = page.locator(f'.kpi[data-kpi="{kpi["key"]}"]')
        assert float(card.get_attribute("data-value")) == pytest.approx(kpi["value"])
        assert float(card.get_attribute("data-previous")) == pytest.approx(kpi["previous"])
        assert float(card.locator(".delta").get_attribute("data-delta")) == pytest.approx(
            kpi["delta"])
    foreigners = next(k for k in t2_results["kpis"] if k["key"] == "foreigners")
    shown = page.locator('.kpi[data-kpi="foreigners"] .kpi-value').inner_text()
    assert int(shown.replace(".", "")) == foreigners["value"]
    rows = page.locator("#bottleneck-table tbody tr")
    steps = t2_results["bottlenecks"]["steps"]
    assert rows.count() == len(steps)
    for i in (0, 1, 5):
        cells = rows.nth(i).locator("td")
        assert cells.nth(1).inner_text() == steps[i]["activity"]
        assert float(cells.nth(4).get_attribute("data-value")) == pytest.approx(
            steps[i]["wait_days"])
        assert cells.nth(4).inner_text() == f"{steps[i]['wait_days']:,.0f}".replace(",", ".")
    hours = {f["id"]: f["hours_lost"] for f in t2_results["duplicates"]["findings"]}
    for row in page.locator("#duplicate-table tbody tr").all():
        assert float(row.locator("td").nth(4).get_attribute("data-value")) == pytest.approx(
            hours[row.get_attribute("data-id")])
    assert "triple_identity" in hours
    norms = {n["id"]: n for n in t2_results["norms"]["norms"]}
    for row in page.locator("#norms-table tbody tr").all():
        norm = norms[row.get_attribute("data-id")]
        assert float(row.locator("td").nth(8).get_attribute("data-value")) == pytest.approx(
            norm["met_share"])
    partners = page.locator("#quality-table tbody tr")
    assert partners.count() == len(t2_results["data_quality"]["partners"]) >= 5
    assert page.locator("section#conformance p.absent").count() == 1


def test_a_script_label_from_a_partner_shows_as_text(page: Any, results: dict[str, Any],
                                                     tmp_path: Path) -> None:
    evil = '<script>window.__pwned = 1</script>"><img src=x onerror="window.__pwned=2">'
    results["bottlenecks"]["steps"][0]["activity"] = evil
    results["kpis"][0]["activity"] = evil
    node = results["process_map"]["nodes"][0]
    for edge in results["process_map"]["edges"]:
        for end in ("source", "target"):
            if edge[end] == node["activity"]:
                edge[end] = evil
    node["activity"] = evil
    path = tmp_path / "evil.html"
    path.write_text(render_report(results, lang="en"), encoding="utf-8")
    _open(page, path)
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator("#bottleneck-table tbody tr").first.locator("td").nth(1).inner_text() \
        == evil
    assert page.locator("#headline .step").inner_text() == evil
    assert page.evaluate(
        "label => [...document.querySelectorAll('#process-map-svg g.node')]"
        ".filter(n => n.getAttribute('data-activity') === label && n.textContent.includes('<'))"
        ".length", evil) == 1
    assert page.locator("script").count() == 1  # only the report's own
    assert page.errors == []
    assert page.requests == [path.as_uri()]


def test_conformance_summary_shows_the_given_figures(page: Any, results: dict[str, Any],
                                                     tmp_path: Path) -> None:
    from miner.report.sections import conformance_section

    results["conformance"] = conformance_section({
        "foreigners": 1200, "conforming": 900, "conformance_rate": 0.75, "replay_fitness": 0.91,
        "alignment_fitness": 0.88, "phases": [{"phase": "AA", "traces": 400,
                                               "replay_fitness": 0.95}],
        "counts": [{"category": "skipped", "deviations": 50, "foreigners": 4, "accepted": 0}],
        "rates": [{"dimension": "partner", "value": "IND", "foreigners": 800, "deviating": 200,
                   "rate": 0.25}], "deviations": [{"foreigner": "vreemdeling:abc"}]})
    path = tmp_path / "conformance.html"
    path.write_text(render_report(results, lang="en"), encoding="utf-8")
    _open(page, path)
    section = page.locator("section#conformance")
    assert "75.0 %" in section.inner_text() and "0.910" in section.inner_text()
    counts = section.locator("#conformance-counts tbody tr td")
    assert counts.nth(2).inner_text() == "<10"
    assert "vreemdeling:abc" not in path.read_text(encoding="utf-8")
