"""Complementary suppression in the audit's rate tables and monthly chart: a row whose foreigners,
deviating or conforming number is 1 to 9 shows no rate and no deviating or conforming count of 10
or more (foreigners = conforming + deviating would give the small one away), and the page carries
the hidden figures nowhere, not in a data attribute, not in the chart."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from lxml import html as lxml_html

from miner.audit import render_audit
from miner.audit.chart import rate_bars
from miner.audit.rates import shown_headline, shown_rates, small_row
from miner.report.render import count
from tests.audit.conftest import Audit

SUPPRESS = 10
DIMENSIONS = ("month", "phase", "lane", "partner")


def _row(foreigners: int, deviating: int, value: str = "x") -> dict[str, Any]:
    conforming = foreigners - deviating
    return {"value": value, "foreigners": foreigners, "deviating": deviating,
            "conforming": conforming, "rate": conforming / foreigners if foreigners else None}


@pytest.mark.parametrize(("foreigners", "deviating", "shown"), [
    # (foreigners, deviating) -> (suppressed, conforming shown, deviating shown, rate shown)
    (1000, 400, (False, 600, 400, 0.6)),
    (500, 0, (False, 500, 0, 1.0)),          # 0 is not small: nothing to give away
    (500, 500, (False, 0, 500, 0.0)),
    (32, 31, (True, 1, None, None)),          # 1 conforming: the deviating 31 would give it away
    (200, 4, (True, None, 4, None)),          # 4 deviating: the conforming 196 would give it away
    (15, 8, (True, 7, 8, None)),              # both under 10: shown as <10, the rate hidden
    (6, 6, (True, 0, 6, None)),               # fewer than 10 foreigners
    (0, 0, (True, 0, 0, None)),               # no foreigners: no rate
])
def test_a_small_row_hides_its_rate_and_its_counts_of_10_or_more(
        foreigners: int, deviating: int, shown: tuple[Any, ...]) -> None:
    row = _row(foreigners, deviating)
    (got,) = shown_rates([row])
    assert (got["suppressed"], got["conforming"], got["deviating"], got["rate"]) == shown
    assert got["foreigners"] == foreigners and got["value"] == "x"
    assert small_row(row) == shown[0]
    bar = rate_bars([row])["bars"][0]
    assert bar["suppressed"] == shown[0]
    assert (bar["rate"] is None and bar["h"] == 3.0) if shown[0] else bar["rate"] == row["rate"]


def _attributes(element: Any) -> list[str]:
    """Every attribute value of ``element`` and its descendants."""
    return [v for e in element.iter() for v in e.attrib.values()]


def _hidden(row: dict[str, Any]) -> list[int]:
    """The counts a small row must not show."""
    return [row[k] for k in ("conforming", "deviating") if row[k] >= SUPPRESS]


def _leaks(tr: Any, row: dict[str, Any], lang: str) -> list[str]:
    """Where ``tr`` (the page's row of ``row``) shows a figure it must hide."""
    found = []
    values = _attributes(tr)
    cells = [td.text_content() for td in tr.xpath("./td")]
    for n in _hidden(row):
        found += [f"attribute {n}" for v in values if v == str(n)]
        found += [f"cell {n}" for c in cells[2:] if c == count(n, lang)]
    # (a rate of 0 or 1 goes with a count of 0 that is shown anyway)
    for v in values if row["rate"] not in (None, 0.0, 1.0) else ():
        try:
            if float(v) == pytest.approx(row["rate"]):
                found.append(f"rate {v}")
        except ValueError:
            pass
    return found


def _check_page(page: str, rates: dict[str, list[dict[str, Any]]], lang: str) -> int:
    """Check every rate table of ``page`` against ``rates`` (exact); the number of small rows."""
    dom = lxml_html.fromstring(page)
    small = 0
    for dim in DIMENSIONS:
        rows = dom.xpath(f"//table[@id='rates-{dim}']/tbody/tr")
        assert len(rows) == len(rates[dim])
        for tr, row in zip(rows, rates[dim], strict=True):
            cells = tr.xpath("./td")
            if not small_row(row):
                assert tr.get("data-suppressed") is None
                assert [c.get("data-value") for c in cells[1:4]] == [
                    str(row[k]) for k in ("foreigners", "conforming", "deviating")]
                assert float(cells[4].get("data-value")) == pytest.approx(row["rate"])
                continue
            small += 1
            assert tr.get("data-suppressed") == "1"
            assert cells[4].text_content() == "–" and cells[4].get("data-value") is None
            for cell, key in ((cells[2], "conforming"), (cells[3], "deviating")):
                n = row[key]
                if n >= SUPPRESS:
                    assert cell.text_content() == "–" and cell.get("data-value") is None
                elif n > 0:
                    assert cell.text_content() == "<10" and cell.get("data-value") is None
                else:
                    assert cell.get("data-value") == "0"
            assert _leaks(tr, row, lang) == [], (dim, row)
    # the chart: a small month is a stub without rate, height or title that tells it
    bars = dom.xpath("//figure[@id='rate-chart']//g[@class='month']")
    assert len(bars) == len(rates["month"])
    for g, row in zip(bars, rates["month"], strict=True):
        rect = g.xpath("./rect")[0]
        if small_row(row):
            assert g.get("data-rate") == "" and rect.get("class") == "stub"
            assert rect.get("height") == "3.0" and g.xpath("./title")[0].text_content().endswith(
                ": –")
            assert _leaks(g, row, lang) == []
        else:
            assert float(g.get("data-rate")) == pytest.approx(row["rate"])
            assert rect.get("class") == "bar"
    return small


def test_the_year_has_small_rows_and_the_page_hides_what_gives_them_away(audit: Audit) -> None:
    rates = audit.results["rates"]
    # the simulated year's first months: a handful deviating among up to a thousand conforming
    # (the initial stock, whose journeys began before every partner delivers)
    trigger = [r for r in rates["month"]
               if (0 < r["conforming"] < SUPPRESS and r["deviating"] >= SUPPRESS)
               or (0 < r["deviating"] < SUPPRESS and r["conforming"] >= SUPPRESS)]
    assert trigger, "the simulated year no longer has a month with a small count next to a large one"
    page = audit.html.read_text(encoding="utf-8")
    assert _check_page(page, rates, "nl") >= len(trigger)
    assert _check_page(render_audit(audit.results, lang="en"), rates, "en") >= len(trigger)
    # the large count beside the small one is not in the page's table (it is in the results)
    dom = lxml_html.fromstring(page)
    for r in trigger:
        (tr,) = dom.xpath(f"//table[@id='rates-month']/tbody/tr[@data-value='{r['value']}']")
        small_conforming = r["conforming"] < SUPPRESS
        assert [td.text_content() for td in tr.xpath("./td")][1:] == [
            count(r["foreigners"], "nl"), "<10" if small_conforming else "–",
            "–" if small_conforming else "<10", "–"]


def test_a_small_deviating_count_hides_the_conforming_count(audit: Audit) -> None:
    # made here, in a partner row and in the busiest month
    results = copy.deepcopy(audit.results)
    rates = results["rates"]
    rates["partner"][0].update(_row(200, 4, rates["partner"][0]["value"]))
    busiest = max(rates["month"], key=lambda r: r["foreigners"])
    busiest.update(_row(busiest["foreigners"], 3, busiest["value"]))
    assert busiest["conforming"] >= SUPPRESS
    page = render_audit(results)
    _check_page(page, rates, "nl")
    dom = lxml_html.fromstring(page)
    tr = dom.xpath("//table[@id='rates-partner']/tbody/tr")[0]
    assert [td.text_content() for td in tr.xpath("./td")][1:] == ["200", "–", "<10", "–"]
    assert "196" not in _attributes(tr) and "0.98" not in _attributes(tr)
    (bar,) = dom.xpath(f"//g[@class='month'][@data-month='{busiest['value']}']")
    assert bar.get("data-rate") == "" and bar.xpath("./rect")[0].get("class") == "stub"


def test_a_small_scope_hides_the_headline_rate_and_the_count_that_gives_it_away(
        audit: Audit) -> None:
    # an audit scope with 4 deviating foreigners of 200: conforming 196 and the rate would say 4
    results = copy.deepcopy(audit.results)
    results["headline"].update({"foreigners": 200, "conforming": 196, "deviating": 4,
                                "conformance_rate": 0.98})
    shown = shown_headline(results["headline"])
    assert (shown["conforming"], shown["deviating"], shown["conformance_rate"]) == (None, 4, None)
    assert shown_headline(audit.results["headline"]) == audit.results["headline"]  # the year: all
    dom = lxml_html.fromstring(render_audit(results))
    cards = {k.get("data-kpi"): k for k in dom.xpath("//section[@id='summary']//div[@class='kpi']")}
    assert cards["conforming"].get("data-value") == "" and cards["conformance_rate"].get("data-value") == ""
    assert cards["deviating"].xpath(".//div[@class='kpi-value']")[0].text_content() == "<10"
    assert cards["foreigners"].get("data-value") == "200"
    for part in (dom.get_element_by_id("headline"), dom.xpath("//div[@class='kpis']")[0]):
        assert "196" not in part.text_content() and "98" not in part.text_content()
        assert not {"196", "0.98", "4"} & set(_attributes(part))
