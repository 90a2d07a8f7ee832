"""The periodic report printed (print CSS, a PDF from Chromium), small counts kept out of the KPI
deltas, and the conformance section filled from a real conformance result of the year."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from miner.conformance.check import Conformance
from miner.report import render_report
from miner.report.charts import SUPPRESS_BELOW
from miner.report.sections import conformance_section


def _open(page: Any, path: Path) -> None:
    page.goto(path.as_uri())
    page.wait_for_load_state("load")


def test_print_hides_navigation_fits_the_map_and_makes_a_pdf(page: Any, t2_html: Path) -> None:
    _open(page, t2_html)
    assert page.locator("nav").first.is_visible()
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    assert not page.locator("nav").first.is_visible()
    box = page.locator("#process-map-svg").bounding_box()
    assert 0 < box["width"] <= 794
    assert page.evaluate(
        "getComputedStyle(document.querySelector('th')).position") == "static"
    pdf = page.pdf(format="A4", print_background=False)
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages >= 5, pages
    assert page.errors == []


def test_a_kpi_delta_does_not_reveal_a_small_count(page: Any, results: dict[str, Any],
                                                   tmp_path: Path) -> None:
    kpi = next(k for k in results["kpis"] if k["key"] == "foreigners")
    assert kpi["value"] >= SUPPRESS_BELOW
    kpi["previous"], kpi["delta"] = 7, kpi["value"] - 7
    path = tmp_path / "small.html"
    path.write_text(render_report(results), encoding="utf-8")
    _open(page, path)
    card = page.locator('.kpi[data-kpi="foreigners"]')
    assert card.get_attribute("data-suppressed") == "1"
    assert card.get_attribute("data-value") == "" and card.get_attribute("data-previous") == ""
    assert card.locator("[data-delta]").count() == 0
    text = card.inner_text()
    assert f"<{SUPPRESS_BELOW}" in text
    assert str(kpi["delta"]) not in text.replace(".", "").replace(",", "")
    # the other cards keep their values and deltas
    hours = page.locator('.kpi[data-kpi="hours_lost"]')
    assert float(hours.get_attribute("data-value")) == pytest.approx(
        next(k for k in results["kpis"] if k["key"] == "hours_lost")["value"])


def test_the_conformance_section_shows_a_real_result(page: Any, results: dict[str, Any],
                                                     year_conformance: Conformance,
                                                     tmp_path: Path) -> None:
    results["conformance"] = conformance_section(year_conformance.to_dict())
    path = tmp_path / "conformance.html"
    path.write_text(render_report(results), encoding="utf-8")
    _open(page, path)
    assert page.errors == []
    assert page.locator("section#conformance p.absent").count() == 0
    rows = page.locator("#conformance-counts tbody tr")
    assert rows.count() == len(year_conformance.counts)
    shown = rows.evaluate_all(
        "rows => rows.map(r => [r.dataset.category, r.cells[1].getAttribute('data-value'),"
        " r.cells[2].getAttribute('data-value')])")
    for (category, deviations, foreigners), count in zip(shown, year_conformance.counts,
                                                          strict=True):
        assert category == count.category
        for cell, value in ((deviations, count.deviations), (foreigners, count.foreigners)):
            if value >= SUPPRESS_BELOW or value == 0:
                assert int(cell) == value, category
            else:
                assert cell is None, category
    rates = page.locator("#conformance-rates tbody tr")
    assert rates.count() == len(year_conformance.rates)
    rate_text = page.locator("section#conformance .kpi-value").first.inner_text()
    assert rate_text == f"{100 * year_conformance.conformance_rate:.1f} %".replace(".", ",")
    # a row with fewer than 10 foreigners, deviating or conforming shows no rate and no exact
    # deviating count (either gives the small number away); the others show both exactly
    def small(r: Any) -> bool:
        return any(0 < n < SUPPRESS_BELOW for n in (r.foreigners, r.deviating, r.conforming))

    shown_rows = rates.evaluate_all(
        "rows => rows.map(r => [r.cells[0].textContent, r.dataset.suppressed || '',"
        " r.cells[3].getAttribute('data-value'), r.cells[4].getAttribute('data-value')])")
    want = sorted(year_conformance.rates, key=lambda r: (r.dimension, r.value))
    assert any(small(r) for r in want) and not all(small(r) for r in want)
    for (dimension, suppressed, deviating, rate), r in zip(shown_rows, want, strict=True):
        assert dimension == r.dimension
        if small(r):
            assert suppressed == "1" and rate is None and deviating is None, r
        else:
            assert suppressed == "" and float(rate) == pytest.approx(r.rate), r
            assert int(deviating) == r.deviating, r
