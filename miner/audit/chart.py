"""Geometry of the audit's bar chart of the conformance rate per month: pure numbers, the markup is
in the template (``audit_rates.j2``).

A month whose row of the rate table is small (:func:`miner.audit.rates.small_row`: fewer than
:data:`~miner.report.charts.SUPPRESS_BELOW` foreigners, deviating or conforming) gets no bar, only a
grey stub without its rate (ARCHITECTURE.md §7: the rate times the foreigners gives the small count
away; so would the bar's height).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from miner.audit.rates import small_row

HEIGHT, PAD, AXIS, STEP, MIN_WIDTH = 150.0, 6.0, 34.0, 16.0, 360.0


def rate_bars(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Bars of ``rows`` (``value``, ``foreigners``, ``deviating``, ``conforming``, ``rate``), one
    per month in the given order: each with ``x``, ``y``, ``w``, ``h``, ``label``, ``rate`` (None
    when suppressed) and ``suppressed``; plus the chart's ``width``, ``height``, the y of the 0, 50 and 100 % lines
    (``grid``) and which bars carry a printed label (every ``label_every``-th)."""
    width = max(MIN_WIDTH, AXIS + STEP * len(rows) + PAD)
    base = HEIGHT - 22.0
    span = base - PAD
    bars = []
    for i, r in enumerate(rows):
        suppressed = small_row(r)
        rate = None if suppressed else float(r["rate"])
        h = 3.0 if rate is None else max(span * rate, 1.0)
        bars.append({"x": round(AXIS + STEP * i + 2.0, 1), "w": STEP - 4.0,
                     "y": round(base - h, 1), "h": round(h, 1), "label": r["value"],
                     "rate": rate, "suppressed": suppressed})
    grid = [{"share": s, "y": round(base - span * s, 1)} for s in (0.0, 0.5, 1.0)]
    return {"width": width, "height": HEIGHT, "base": base, "axis": AXIS, "bars": bars,
            "grid": grid, "label_every": max(1, round(len(rows) / 12))}
