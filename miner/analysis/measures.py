"""Measure tracking: did a measure (maatregel) at one place move a KPI, judged against elsewhere?

KPIs and measures are data (``miner/data/measures.toml``). A **KPI** is a share: events matching
its numerator among events matching its denominator (e.g. aanmeldgehoor no-shows among aanmeldgehoor
appointments), each event counted at its own time and at the location it is linked to.

**Difference in differences** (DiD): with ``p`` the KPI in a cell,
``effect = (p[place, after] - p[place, before]) - (p[comparison, after] - p[comparison, before])``,
where *before* is ``[period start, measure start)`` and *after* ``[measure start, period end)``
(the measure starts at local midnight of its date) and *comparison* pools the other places.
The comparison takes out what changed everywhere (season, inflow); what is left is the measure's
effect, if the places would otherwise have moved alike (the parallel-trends assumption).

**Confidence interval**: a normal approximation with a cluster-robust (sandwich) standard error,
clustered by foreigner: each cell's share is a ratio estimator; the effect's influence per foreigner
is ``sum over cells of ±(y_ic - p_c n_ic) / N_c`` (``y``, ``n``: the foreigner's numerator and
denominator events in cell ``c``; ``N_c`` the cell's denominator), and the variance is
``m / (m - 1) * sum of influence²`` over the ``m`` foreigners. Repeated appointments of one foreigner
(re-plans) are thus not taken as independent. No resampling: the interval is reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from statistics import NormalDist
from typing import Any

from miner.analysis._result import SCHEMA_VERSION
from miner.analysis.period import ZONE, Period
from miner.analysis.queues import Condition, data_toml, location_name, period_bounds, select_events
from miner.errors import UnknownNameError
from miner.model.filters import sql_literal
from miner.model.log import Log

METHOD = "normal approximation, cluster-robust standard error (clusters: foreigners)"


@dataclass(frozen=True)
class KpiCell:
    """The KPI on one side (``place`` or ``comparison``) in one window (``before``/``after``)."""

    side: str
    window: str
    numerator: int
    denominator: int
    foreigners: int
    value: float | None


@dataclass(frozen=True)
class MeasureEffect:
    """The difference in differences of ``kpi`` at ``place`` from ``start`` against
    ``comparison``, with its ``confidence`` interval ``[ci_low, ci_high]``."""

    kpi: str
    label: str
    place: str
    comparison: tuple[str, ...]
    start: str
    period: str | None
    before_place: float | None
    after_place: float | None
    before_comparison: float | None
    after_comparison: float | None
    change_place: float | None
    change_comparison: float | None
    effect: float | None
    standard_error: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float
    method: str
    cells: tuple[KpiCell, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": "measure_effect",
                **self.__dict__, "comparison": list(self.comparison),
                "cells": [c.__dict__ for c in self.cells]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MeasureEffect:
        fields = {k: v for k, v in d.items() if k not in ("schema_version", "kind")}
        return cls(**{**fields, "comparison": tuple(d["comparison"]),
                      "cells": tuple(KpiCell(**c) for c in d["cells"])})


def kpi_definitions() -> dict[str, dict[str, Any]]:
    """The KPIs of ``miner/data/measures.toml`` by name."""
    return dict(data_toml("measures.toml")["kpi"])


def measure_definitions() -> list[dict[str, Any]]:
    """The measures of ``miner/data/measures.toml``."""
    return list(data_toml("measures.toml")["measure"])


def measure_effect(log: Log, *, kpi: str, place: str, start: date | str,
                   comparison: Sequence[str] | None = None, period: Period | None = None,
                   confidence: float = 0.95) -> MeasureEffect:
    """The DiD effect on ``kpi`` of a measure at ``place`` from ``start`` (a date, local time),
    against ``comparison`` (place names; default every other place with the KPI)."""
    kpis = kpi_definitions()
    if kpi not in kpis:
        raise UnknownNameError("KPI", kpi, sorted(kpis))
    spec = kpis[kpi]
    day = date.fromisoformat(start) if isinstance(start, str) else start
    begin = datetime.combine(day, time(), ZONE)
    target = location_name(place)
    groups = {"num": [Condition.parse(c) for c in spec["numerator"]],
              "den": [Condition.parse(c) for c in spec["denominator"]]}
    select_events(log, groups, "_m_events")
    try:
        cells, others, variance = _cells(log, target, comparison, begin, period)
    finally:
        log.con.execute("DROP TABLE IF EXISTS _m_events")
    value = {(c.side, c.window): c.value for c in cells}
    bp, ap = value.get(("place", "before")), value.get(("place", "after"))
    bc, ac = value.get(("comparison", "before")), value.get(("comparison", "after"))
    change_place = None if bp is None or ap is None else ap - bp
    change_comp = None if bc is None or ac is None else ac - bc
    effect = None if change_place is None or change_comp is None else change_place - change_comp
    se = None if effect is None or variance is None else variance ** 0.5
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    return MeasureEffect(
        kpi=kpi, label=spec["label"], place=target, comparison=others, start=day.isoformat(),
        period=period.label if period else None,
        before_place=bp, after_place=ap, before_comparison=bc, after_comparison=ac,
        change_place=change_place, change_comparison=change_comp, effect=effect,
        standard_error=se,
        ci_low=None if effect is None or se is None else effect - z * se,
        ci_high=None if effect is None or se is None else effect + z * se,
        confidence=confidence, method=METHOD, cells=cells)


def _cells(log: Log, target: str, comparison: Sequence[str] | None, begin: datetime,
           period: Period | None) -> tuple[tuple[KpiCell, ...], tuple[str, ...], float | None]:
    con = log.con
    lo, hi = period_bounds(period)
    if comparison is None:
        others = tuple(r[0] for r in con.execute(
            "SELECT DISTINCT location FROM _m_events WHERE grp = 'den' AND location IS NOT NULL "
            f"AND location <> {sql_literal(target)} ORDER BY 1").fetchall())
    else:
        others = tuple(sorted({location_name(c) for c in comparison} - {target}))
    side = (f"CASE WHEN location = {sql_literal(target)} THEN 'place' WHEN location IN "
            f"({', '.join(map(sql_literal, others)) or 'NULL'}) THEN 'comparison' END")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _m_f AS
        SELECT foreigner, {side} AS side,
               CASE WHEN ts < {sql_literal(begin)} THEN 'before' ELSE 'after' END AS win,
               count(*) FILTER (WHERE grp = 'num') AS y, count(*) FILTER (WHERE grp = 'den') AS n
        FROM _m_events WHERE ts >= {lo} AND ts < {hi} AND {side} IS NOT NULL GROUP BY ALL""")
    rows = con.execute("""
        SELECT side, win, sum(y)::BIGINT, sum(n)::BIGINT, count(DISTINCT foreigner)
        FROM _m_f GROUP BY ALL ORDER BY side DESC, win DESC""").fetchall()
    cells = tuple(KpiCell(r[0], r[1], int(r[2]), int(r[3]), int(r[4]),
                          r[2] / r[3] if r[3] else None) for r in rows)
    variance = None
    if len(cells) == 4 and all(c.denominator for c in cells):
        sign = {("place", "after"): 1, ("place", "before"): -1,
                ("comparison", "after"): -1, ("comparison", "before"): 1}
        weights = " ".join(
            f"WHEN side = '{c.side}' AND win = '{c.window}' THEN "
            f"{sign[(c.side, c.window)]} * (y - {c.value!r} * n) / {c.denominator}"
            for c in cells)
        found = con.execute(f"""
            SELECT count(*), sum(i * i) FROM (
                SELECT foreigner, sum(CASE {weights} END) AS i FROM _m_f GROUP BY foreigner)
        """).fetchall()[0]
        m, total = int(found[0]), float(found[1] or 0.0)
        variance = total * m / (m - 1) if m > 1 else None
    con.execute("DROP TABLE IF EXISTS _m_f")
    return cells, others, variance
