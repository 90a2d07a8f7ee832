"""The findings' detail texts in the audit's language: the Dutch audit shows every detail of the
simulated year in Dutch (pattern table ``[[audit.details]]`` of nl.toml), the English audit shows
the check's texts, and the stored results (results JSON, annex) keep the English."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from lxml import html as lxml_html

from miner.audit import render_audit
from miner.audit.details import compile_patterns, detail_text, patterns, translated, untranslated
from miner.conformance.check import Conformance
from miner.errors import InputError
from tests.audit.conftest import Audit

#: English words that must not be left in a Dutch detail.
RESIDUE = ("expected", "allowed", "event ", "day(s)", "still open", "the model", "before every",
           "partner's", " -> ", "stayed with", "is not in the lane", "alignment exceeded")


def _details(page: str) -> list[str]:
    """The texts of the page's detail cells (drill-down and accepted samples)."""
    dom = lxml_html.fromstring(page)
    return [e.text_content() for e in dom.xpath(
        "//*[contains(concat(' ', normalize-space(@class), ' '), ' detail ')]")]


def _shown(results: dict[str, Any]) -> list[str | None]:
    """The details the page shows, in page order: the drill-down's, then the accepted samples'."""
    found = [f["detail"] for p in results["drilldown"]["foreigners"] for f in p["findings"]]
    return found + [f["detail"] for e in results["accepted"]["entries"] for f in e["sample"]]


@pytest.mark.parametrize(("english", "dutch"), [
    ("not allowed here by the model", "niet toegestaan op deze plek volgens het model"),
    ("expected before this event", "verwacht vóór deze gebeurtenis"),
    ("expected after this event (the last)", "verwacht na deze gebeurtenis (de laatste)"),
    ("event 3 of 7; the model has it before event 2",
     "gebeurtenis 3 van 7; het model verwacht deze vóór gebeurtenis 2"),
    ("expected before this event, before the data of this step begins (2021-01-07)",
     "verwacht vóór deze gebeurtenis, vóór het begin van de gegevens van deze stap"
     + " (2021-01-07)"),
    ("expected after this event (the last), before the data of this step begins (2021-01-07)",
     "verwacht na deze gebeurtenis (de laatste), vóór het begin van de gegevens van deze"
     + " stap (2021-01-07)"),
    ("N01: 4 day(s) after the last allowed day 2021-03-05",
     "N01: 4 dag(en) na de laatste toegestane dag 2021-03-05"),
    ("beslistermijn_6_maanden: 123 day(s) after the last allowed day 2021-11-30",
     "beslistermijn_6_maanden: 123 dag(en) na de laatste toegestane dag 2021-11-30"),
    ("N01: still open after the last allowed day 2021-03-05",
     "N01: nog open na de laatste toegestane dag 2021-03-05"),
    ("Politie is not in the lane of this task", "Politie hoort niet bij de baan van deze taak"),
    ("GZA -> Politie", "overdracht van GZA naar Politie"),
    ("Aanmelden -> Registreren stayed with COA",
     "Aanmelden → Registreren bleef bij COA, zonder overdracht"),
    ("the model has no task A-ADN-BESCH", "het model heeft geen taak A-ADN-BESCH"),
    ("alignment exceeded the budget of 40 s", "de alignment overschreed de tijdslimiet van 40 s"),
    ("alignment failed: ValueError: no path", "de alignment is mislukt: ValueError: no path"),
])
def test_a_detail_with_placeholders_gives_the_exact_dutch_text(english: str, dutch: str) -> None:
    assert detail_text(english, "nl") == dutch
    assert detail_text(english, "en") == english


def test_an_unknown_detail_is_shown_unchanged_never_half_translated() -> None:
    for text in ("a reason nobody foresaw",
                 # a known suffix after an unknown text: the whole stays English
                 "a reason nobody foresaw, before the data of this step begins (2021-01-07)",
                 "expected before this event!", ""):
        assert detail_text(text, "nl") == text
    assert detail_text(None, "nl") is None
    assert untranslated(["expected before this event", "a reason nobody foresaw", None],
                        "nl") == ["a reason nobody foresaw"]


def test_the_table_is_tried_in_order_and_checked_when_compiled() -> None:
    table = compile_patterns([{"en": "{a} -> {b} stayed with {c}", "nl": "{a}/{b} bij {c}"},
                              {"en": "{a} -> {b}", "nl": "{a} naar {b}"}], "nl")
    assert translated("X -> Y stayed with Z", table) == "X/Y bij Z"
    assert translated("X -> Y stayed with Z", table[::-1]) == "X naar Y stayed with Z"
    assert translated("1 + 1 (x)", compile_patterns([{"en": "{n} + 1 (x)", "nl": "{n}+1"}],
                                                    "nl")) == "1+1"  # literal text is escaped
    with pytest.raises(InputError, match="uses b, which the English text does not have"):
        compile_patterns([{"en": "{a} late", "nl": "{b} te laat"}], "nl")
    with pytest.raises(InputError, match="a placeholder twice"):
        compile_patterns([{"en": "{a} or {a}", "nl": "{a}"}], "nl")
    with pytest.raises(InputError, match="needs the texts 'en' and 'nl'"):
        compile_patterns([{"en": "x"}], "nl")
    assert patterns("en") == () and patterns("nl") and patterns("nl") is patterns("nl")


def test_every_detail_of_the_year_has_a_dutch_pattern(year_conformance: Conformance) -> None:
    every = [*year_conformance.deviations, *year_conformance.accepted]
    texts = sorted({d.detail for d in every if d.detail is not None})
    # the list of the year's details without a translation: it must be empty
    assert untranslated(texts, "nl") == []
    categories = {d.category for d in every if d.detail is not None}
    assert {"skipped", "inserted", "late", "before_log", "wrong_lane", "unexpected_handoff",
            "not_in_model"} <= categories
    for text in texts:
        dutch = detail_text(text, "nl")
        assert dutch is not None and dutch != text
        assert not [w for w in RESIDUE if w in dutch], (text, dutch)
        # the numbers and dates of the English text come back unchanged (dates stay ISO)
        assert re.findall(r"\d+(?:-\d\d-\d\d)?", dutch) == re.findall(r"\d+(?:-\d\d-\d\d)?", text)


def test_the_dutch_audit_shows_every_detail_in_dutch(audit: Audit) -> None:
    page = audit.html.read_text(encoding="utf-8")
    cells = _details(page)
    shown = _shown(audit.results)
    assert len(cells) == len(shown) > 100
    assert cells == [detail_text(d, "nl") or "–" for d in shown]
    residue = {w: c for c in cells for w in RESIDUE if w in c}
    assert residue == {}
    assert any(c.startswith("verwacht vóór deze gebeurtenis, vóór het begin van de gegevens van "
                            "deze stap (") for c in cells)
    assert any("dag(en) na de laatste toegestane dag" in c for c in cells)


def test_the_english_audit_shows_the_checks_texts(audit: Audit, allowed: Audit) -> None:
    shown = _shown(audit.results)
    english = render_audit(audit.results, lang="en")
    assert _details(english) == [d or "–" for d in shown]
    assert any("before the data of this step begins" in d for d in shown if d)
    # the allowlisted audit (English): accepted samples too
    cells = _details(allowed.html.read_text(encoding="utf-8"))
    assert cells == [d or "–" for d in _shown(allowed.results)]
    assert "Politie is not in the lane of this task" in cells


def test_accepted_deviations_show_their_detail_in_dutch_too(allowed: Audit) -> None:
    dutch = lxml_html.fromstring(render_audit(allowed.results))
    cells = [td.text_content() for td in dutch.xpath(
        "//section[@id='accepted']//tr[@class='accepted-deviation']/td[@class='detail']")]
    assert cells and all(c.endswith(" hoort niet bij de baan van deze taak") for c in cells)


def test_the_stored_results_and_the_annex_keep_the_english(audit: Audit) -> None:
    c = audit.conformance
    saved = json.loads(audit.results_file.read_text(encoding="utf-8"))
    shown = _shown(saved)
    mine = {d.detail for d in c.deviations}
    assert shown and set(shown) <= mine
    text = audit.results_file.read_text(encoding="utf-8")
    assert "expected before this event" in text and "verwacht vóór" not in text
    with audit.annex.open(encoding="utf-8-sig") as f:
        annex = f.read()
    assert "not allowed here by the model" in annex and "niet toegestaan" not in annex
    assert "vóór het begin" not in annex and "dag(en)" not in annex


def test_a_detail_is_escaped_after_translation(audit: Audit) -> None:
    results = copy.deepcopy(audit.results)
    finding = results["drilldown"]["foreigners"][0]["findings"][0]
    finding["detail"] = "<b>X</b> -> <i>Y</i>"
    page = render_audit(results)
    assert "overdracht van &lt;b&gt;X&lt;/b&gt; naar &lt;i&gt;Y&lt;/i&gt;" in page
    assert _details(page)[0] == "overdracht van <b>X</b> naar <i>Y</i>"
