"""Rendering the conformance audit: the audit results to one self-contained HTML file with the
report's one jinja2 environment (:func:`miner.report.render.environment`: autoescape,
``StrictUndefined``), and the files an audit consists of (:func:`write_audit`):

- ``FILE.html``: the audit report (CSS and JS inline, no network request, printable);
- ``FILE-annex.csv``: the CSV annex, one row per finding and per accepted deviation (all of them,
  not only the drill-down sample) with empty sign-off columns
  (:data:`miner.audit.findings.ANNEX_COLUMNS`; UTF-8 with a byte-order mark, so a spreadsheet
  reads the accents);
- ``FILE.results.json``: the audit results, to render the HTML again without the workspace.

The same results and language give the same bytes.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from miner.analysis.period import ZONE
from miner.audit.chart import rate_bars
from miner.audit.details import detail_text
from miner.audit.findings import ANNEX_COLUMNS, DECISIONS, annex_rows, finding_ids
from miner.audit.rates import shown_headline, shown_rates
from miner.audit.results import KIND, SCHEMA_VERSION, build_audit_results
from miner.conformance.allowlist import AllowEntry
from miner.conformance.check import Conformance
from miner.errors import InputError
from miner.model.log import Log
from miner.report.charts import SUPPRESS_BELOW
from miner.report.datafiles import catalogue
from miner.report.render import _static, count, environment, number, percent, results_path

#: Sections of the audit in page order (their ids; titles in ``[audit.sections]``).
SECTIONS = ("summary", "rates", "categories", "compare", "readings", "drilldown", "accepted", "signoff",
            "provenance", "definitions")


def local_time(ts: str) -> str:
    """An ISO 8601 UTC time as local Dutch time, ``2021-06-06 12:11``."""
    return datetime.fromisoformat(ts).astimezone(ZONE).strftime("%Y-%m-%d %H:%M")


def render_audit(results: Mapping[str, Any], *, lang: str = "nl") -> str:
    """The audit HTML of ``results`` (from :func:`build_audit_results` or its saved JSON) in
    ``lang`` (``nl`` or ``en``). The rate tables show :func:`miner.audit.rates.shown_rates` of the
    results' rates (small numbers and what gives them away left out); each finding's detail is
    shown by :func:`miner.audit.details.detail_text` (translated; the results keep the English)."""
    if results.get("kind") != KIND or results.get("schema_version") != SCHEMA_VERSION:
        raise InputError(f"not audit results (kind {KIND!r}, schema version {SCHEMA_VERSION})")
    t = catalogue(lang, results.get("subject", "foreigners"))
    template = environment().get_template("audit.html.j2")
    return template.render(
        r=results, t=t, a=t["audit"], lang=lang, sections=SECTIONS, decisions=DECISIONS,
        rates={dim: shown_rates(rows) for dim, rows in results["rates"].items()},
        headline=shown_headline(results["headline"]),
        chart=rate_bars(results["rates"]["month"]),
        css=_static("report.css") + _static("audit.css"),
        js=_static("report.js") + _static("audit.js"),
        num=lambda v, d=0: number(v, lang, d), cnt=lambda v: count(v, lang),
        pct=lambda v, d=1: percent(v, lang, d), when=local_time, suppress=SUPPRESS_BELOW,
        detail=lambda text: detail_text(text, lang))


def annex_path(html: Path) -> Path:
    """``audit.html`` → ``audit-annex.csv``."""
    return html.with_name(html.stem + "-annex.csv")


def write_annex(conformance: Conformance, out: str | Path) -> Path:
    """The CSV annex of ``conformance``: findings, then accepted deviations, each in the result's
    order (by pseudonym, time, category), with their finding ids and empty sign-off columns."""
    out = Path(out)
    every = [*conformance.deviations, *conformance.accepted]
    with out.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(ANNEX_COLUMNS)
        writer.writerows(annex_rows(every, finding_ids(every)))
    return out


def write_audit_html(results: Mapping[str, Any], out: str | Path, *, lang: str = "nl") -> Path:
    """Render ``results`` to ``out`` (the HTML only)."""
    out = Path(out)
    out.write_text(render_audit(results, lang=lang), encoding="utf-8")
    return out


def write_audit(source: Log | str | Path, conformance: Conformance, out: str | Path, *,
                lang: str = "nl",
                allowlist: str | Path | Sequence[AllowEntry] | None = None,
                model: str | Path | None = None,
                conformance_source: str | Path | None = None,
                lane_organisations: Mapping[str, str] | None = None) -> Path:
    """Write the audit of ``conformance`` (checked on the workspace ``source``, a path or an open
    :class:`Log`) to ``out`` (``FILE.html``), with ``FILE-annex.csv`` and ``FILE.results.json``
    beside it; returns the HTML's path. ``allowlist``, ``model``, ``conformance_source``,
    ``lane_organisations``: see :func:`miner.audit.results.build_audit_results`.

    Example::

        log = miner.connect("chain.duckdb", read_only=True)
        write_audit(log, check_conformance(log), Path("reports/audit.html"), lang="en")
    """
    out = Path(out)
    results = build_audit_results(source, conformance, allowlist=allowlist, model=model,
                                  conformance_source=conformance_source,
                                  lane_organisations=lane_organisations)
    results_path(out).write_text(
        json.dumps(results, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
        encoding="utf-8")
    write_annex(conformance, annex_path(out))
    return write_audit_html(results, out, lang=lang)


def read_audit_results(path: str | Path) -> dict[str, Any]:
    """Audit results saved by :func:`write_audit` (``FILE.results.json``).

    Raises:
        InputError: the file is unreadable or does not hold audit results.
    """
    path = Path(path)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read audit results ({exc})") from exc
    if not isinstance(results, dict) or results.get("kind") != KIND:
        raise InputError(f"{path}: not audit results (kind {KIND!r}); give the FILE.results.json "
                         "written by `miner audit --workspace`")
    if results.get("schema_version") != SCHEMA_VERSION:
        raise InputError(f"{path}: audit results of schema version "
                         f"{results.get('schema_version')}; this miner reads {SCHEMA_VERSION}")
    return results
