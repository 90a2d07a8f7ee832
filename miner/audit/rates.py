"""The rows of the audit's rate tables (per month, phase, lane and partner) as the page may show
them: small numbers suppressed, and with them every figure that would give a small number away.

Rule (ARCHITECTURE.md §7; the same as the periodic report's conformance rates, docs/reports.md):

- a count of people from 1 to 9 (:data:`~miner.report.charts.SUPPRESS_BELOW`) is shown as ``<10``
  without its value (the template's ``ccell``);
- a **small row** is one whose foreigners, deviating or conforming number is 1 to 9 (or that has
  no foreigners, so no rate). It shows no rate (the rate times the foreigners is the deviating count), and no deviating or conforming count
  of 10 or more: foreigners = conforming + deviating, so the other two exact numbers would give the
  small one away by subtraction. (The report's table has no conforming column, so it hides only the
  deviating count; the audit shows both and hides both.) A hidden figure is ``None`` here, so it
  cannot reach the page, not even in a data attribute. The foreigners count stays.
- the monthly chart draws a small row's month as a grey stub without its rate
  (:func:`miner.audit.chart.rate_bars`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from miner.report.charts import SUPPRESS_BELOW


def _small(n: int | None) -> bool:
    return n is not None and 0 < n < SUPPRESS_BELOW


def small_row(row: Mapping[str, Any]) -> bool:
    """Whether ``row`` (``foreigners``, ``deviating``, ``conforming``) has a number from 1 to 9, or
    fewer than 10 foreigners (none: then it has no rate either)."""
    return row["foreigners"] < SUPPRESS_BELOW or any(
        _small(row.get(k)) for k in ("deviating", "conforming"))


def shown_rates(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (``value``, ``foreigners``, ``deviating``, ``conforming``, ``rate``) with
    ``suppressed`` (a small row) and the figures a small row must not show set to None: the rate,
    and a deviating or conforming count of 10 or more. Counts under 10 stay (the template shows
    them as ``<10`` without their value)."""
    shown = []
    for r in rows:
        small = small_row(r)
        out = {"value": r["value"], "foreigners": r["foreigners"], "suppressed": small,
               "rate": None if small else r["rate"]}
        for key in ("deviating", "conforming"):
            n = r[key]
            out[key] = None if small and n is not None and n >= SUPPRESS_BELOW else n
        shown.append(out)
    return shown


def shown_headline(headline: Mapping[str, Any]) -> dict[str, Any]:
    """The headline figures (``foreigners``, ``conforming``, ``deviating``, ``conformance_rate``
    and the rest) as the summary may show them: in a small scope (:func:`small_row`) the same rule
    as a rate table's row, so no rate and no deviating or conforming count of 10 or more."""
    shown = dict(headline)
    if small_row(headline):
        shown["conformance_rate"] = None
        for key in ("deviating", "conforming"):
            if shown[key] is not None and shown[key] >= SUPPRESS_BELOW:
                shown[key] = None
    return shown
