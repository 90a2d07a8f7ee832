"""The audit in a real headless Chromium: offline, no console errors, every section, a drill-down
that opens, a sign-off that is kept and exported as CSV, and partner text shown as text."""

from __future__ import annotations

import copy
import csv
import io
from pathlib import Path
from typing import Any

from miner.audit import render_audit
from miner.audit.render import SECTIONS
from tests.audit.conftest import Audit

ARTEFACTS = Path(__file__).resolve().parents[2] / "reports" / "test-artefacts"


def _open(page: Any, path: Path) -> None:
    page.goto(path.as_uri())
    page.wait_for_load_state("load")


def _outside(page: Any) -> list[str]:
    """Requests to anything but the file itself or a Blob made in the page."""
    return [u for u in page.requests if not u.startswith(("file:", "blob:"))]


def test_audit_opens_offline_with_every_section_and_a_drilldown(page: Any, audit: Audit) -> None:
    _open(page, audit.html)
    assert page.errors == []
    assert page.requests == [audit.html.as_uri()]
    for section in SECTIONS:
        assert page.locator(f"section#{section} h2").count() == 1, section
    bars = page.locator("#rate-chart g.month rect")
    assert bars.count() == len(audit.results["rates"]["month"])
    assert page.locator("#rate-chart svg").bounding_box()["height"] > 100
    first = audit.results["drilldown"]["foreigners"][0]
    details = page.locator(f'details[data-foreigner="{first["foreigner"]}"]')
    timeline = details.locator("table.timeline")
    assert not timeline.is_visible()
    details.locator("summary").click()
    assert details.get_attribute("open") is not None and timeline.is_visible()
    assert timeline.locator("tbody tr").count() == len(first["events"])
    assert details.locator("tr.has-finding").count() >= 1
    # sortable: the month table sorted by rate
    table = page.locator("#rates-month")
    table.locator("thead th").nth(4).click()
    values = [float(v) for v in table.locator("tbody td:nth-child(5)").evaluate_all(
        "cells => cells.map(c => c.getAttribute('data-value')).filter(v => v)")]
    assert values == sorted(values) and len(values) > 10
    page.locator('button[data-details="open"]').click()
    assert page.locator("details.foreigner[open]").count() == len(
        audit.results["drilldown"]["foreigners"])
    page.locator('button[data-details="close"]').click()
    details.locator("summary").click()
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "audit.png"), full_page=True)
    assert (ARTEFACTS / "audit.png").stat().st_size > 10_000
    assert page.errors == [] and _outside(page) == []


def test_signoff_is_kept_in_the_page_and_exported_as_csv(page: Any, audit: Audit) -> None:
    _open(page, audit.html)
    person = audit.results["drilldown"]["foreigners"][1]
    finding = person["findings"][0]
    page.locator(f'details[data-foreigner="{person["foreigner"]}"] summary').click()
    form = page.locator(f'fieldset.signoff[data-finding="{finding["id"]}"]')
    page.locator("#signoff-reviewer").fill("A. Reviewer")
    form.locator('select[name="decision"]').select_option("unfounded")
    form.locator('input[name="comment"]').fill('=SUM(A1) "quoted", komma')
    assert form.locator('input[name="reviewer"]').input_value() == "A. Reviewer"
    assert len(form.locator('input[name="date"]').input_value()) == 10  # today, YYYY-MM-DD
    total = sum(len(p["findings"]) for p in audit.results["drilldown"]["foreigners"])
    assert page.locator("#signoff-progress").get_attribute("data-done") == "1"
    # kept over a reload (localStorage of the file's origin)
    page.reload()
    page.wait_for_load_state("load")
    form = page.locator(f'fieldset.signoff[data-finding="{finding["id"]}"]')
    assert form.locator('select[name="decision"]').input_value() == "unfounded"
    assert form.locator('input[name="reviewer"]').input_value() == "A. Reviewer"
    assert page.locator(f'article[data-finding="{finding["id"]}"]').get_attribute(
        "data-decision") == "unfounded"
    with page.expect_download() as info:
        page.locator("#signoff-export").click()
    download = info.value
    assert download.suggested_filename == "audit-signoff.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == total
    mine = [r for r in rows if r["finding_id"] == finding["id"]]
    assert len(mine) == 1
    assert mine[0]["decision"] == "unfounded" and mine[0]["reviewer"] == "A. Reviewer"
    assert mine[0]["comment"] == "'=SUM(A1) \"quoted\", komma"  # no formula in a spreadsheet
    assert mine[0]["foreigner"] == person["foreigner"] and mine[0]["category"] == \
        finding["category"]
    assert sum(1 for r in rows if r["decision"]) == 1
    assert page.errors == [] and _outside(page) == []


def test_a_script_label_from_a_partner_shows_as_text(page: Any, audit: Audit,
                                                     tmp_path: Path) -> None:
    evil = '<script>window.__pwned = 1</script>"><img src=x onerror="window.__pwned=2">'
    results = copy.deepcopy(audit.results)
    person = results["drilldown"]["foreigners"][0]
    person["events"][0]["activity"] = evil
    person["findings"][0]["detail"] = evil
    results["rates"]["partner"][0]["value"] = evil
    path = tmp_path / "evil.html"
    path.write_text(render_audit(results, lang="en"), encoding="utf-8")
    _open(page, path)
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator("#rates-partner tbody tr").first.locator("td").first.inner_text() == evil
    cell = page.locator(f'details[data-foreigner="{person["foreigner"]}"] td.activity').first
    assert cell.text_content() == evil
    assert page.locator("script").count() == 1
    assert page.errors == [] and page.requests == [path.as_uri()]


def test_dutch_details_and_suppressed_rates_as_chromium_shows_them(page: Any, audit: Audit) -> None:
    _open(page, audit.html)
    page.locator('button[data-details="open"]').click()
    cells = page.locator("section#drilldown dd.detail").all_inner_texts()
    assert len(cells) == sum(len(p["findings"]) for p in audit.results["drilldown"]["foreigners"])
    english = ("expected", "allowed", "event ", "day(s)", "still open", "before every")
    assert [c for c in cells if any(w in c for w in english)] == []
    assert any(c.startswith("verwacht vóór deze gebeurtenis") for c in cells)
    # the small rows of the month table: neither the rate nor the count of 10 or more that would
    # give the small one away is anywhere in the row's markup
    # (the year's: a handful deviating among many conforming, or the other way round)
    small = {r["value"]: r for r in audit.results["rates"]["month"]
             if 0 < r["conforming"] < 10 <= r["deviating"] or 0 < r["deviating"] < 10 <= r["conforming"]}
    assert small
    rows = page.locator("#rates-month tbody tr[data-suppressed]")
    shown = dict(zip(rows.evaluate_all("rows => rows.map(r => r.dataset.value)"),
                     rows.evaluate_all("rows => rows.map(r => r.outerHTML)"), strict=True))
    for value, r in small.items():
        markup = shown[value]
        large = max(r["deviating"], r["conforming"])
        assert f'"{large}"' not in markup and f">{large}<" not in markup
        assert str(r["rate"])[:6] not in markup
        bar = page.locator(f'#rate-chart g.month[data-month="{value}"]')
        assert bar.get_attribute("data-rate") == "" and bar.locator("rect.stub").count() == 1
    assert page.errors == [] and _outside(page) == []
