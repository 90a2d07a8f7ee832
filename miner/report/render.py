"""Rendering report results to one self-contained HTML file, with the single jinja2 environment
(autoescape on, ``StrictUndefined``). CSS and JS are read from ``miner/report/static`` and inlined;
the page makes no network request. The same results and language give the same bytes.

Number formats follow the language (nl: ``1.234,5``; en: ``1,234.5``). A **suppressed count** is a
count of people or cases under 10, shown as ``<10`` (ARCHITECTURE.md §7).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from miner.report.charts import SUPPRESS_BELOW, line_chart
from miner.report.datafiles import catalogue, layout
from miner.report.processmap import layout as map_layout

_SEPARATORS = {"nl": (".", ","), "en": (",", ".")}


def number(value: float | None, lang: str, digits: int = 0) -> str:
    """``value`` with ``digits`` decimals and the language's separators; ``–`` for None."""
    if value is None:
        return "–"
    text = f"{value:,.{digits}f}"
    thousands, decimal = _SEPARATORS[lang]
    return text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)


def count(value: int | None, lang: str) -> str:
    """A count of people or cases: ``<10`` under the suppression threshold."""
    if value is not None and 0 < value < SUPPRESS_BELOW:
        return f"<{SUPPRESS_BELOW}"
    return number(value, lang)


def percent(value: float | None, lang: str, digits: int = 1) -> str:
    """A share (0..1) as a percentage."""
    return "–" if value is None else number(100 * value, lang, digits) + " %"


def signed(text: str, value: float | None) -> str:
    """``text`` with a + sign for a positive value."""
    return "+" + text if value is not None and value > 0 and not text.startswith("+") else text


@cache
def _static(name: str) -> str:
    return (resources.files("miner.report") / "static" / name).read_text("utf-8")


@cache
def environment() -> jinja2.Environment:
    """The report's one jinja2 environment (package templates, autoescape, StrictUndefined)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("miner.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.globals["line_chart"] = line_chart
    env.filters["tojson_sorted"] = lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False)
    return env


def render_report(results: Mapping[str, Any], *, lang: str = "nl") -> str:
    """The report HTML of ``results`` (from :func:`miner.report.build_report_results` or its
    saved JSON) in ``lang`` (``nl`` or ``en``)."""
    t = catalogue(lang, results.get("subject", "foreigners"))
    limits = layout()["limits"]
    pm = results["process_map"]
    graph = map_layout(pm["nodes"], pm["edges"], max_edges=int(limits["map_edges"]),
                       min_frequency=int(limits["map_min_frequency"]),
                       labelled=int(limits["map_labelled_edges"]))
    template = environment().get_template("report.html.j2")
    return template.render(
        r=results, t=t, lang=lang, graph=graph, limits=limits,
        colours=layout()["lane_colours"], css=_static("report.css"), js=_static("report.js"),
        num=lambda v, d=0: number(v, lang, d), cnt=lambda v: count(v, lang),
        pct=lambda v, d=1: percent(v, lang, d), signed=signed,
        suppress=SUPPRESS_BELOW)


def write_report(results: Mapping[str, Any], out: str | Path, *, lang: str = "nl",
                 save_results: bool = True) -> Path:
    """Render ``results`` to ``out``; with ``save_results`` also write them beside it as
    ``<out stem>.results.json`` (sorted keys, so the same results give the same bytes)."""
    out = Path(out)
    out.write_text(render_report(results, lang=lang), encoding="utf-8")
    if save_results:
        results_path(out).write_text(
            json.dumps(results, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
            encoding="utf-8")
    return out


def results_path(html: Path) -> Path:
    """``report.html`` → ``report.results.json``."""
    return html.with_name(html.stem + ".results.json")
