"""Rework: an activity done again in the same case (the same foreigner's journey).

Terms (on the ``journey`` view, :mod:`miner.analysis.journey`; events in ``period`` when one is
given, by their own time):

* an activity is **reworked** in a case when the case has two or more events of it; its
  **repeats** in the case are its events beyond the first;
* per activity: ``cases`` with the activity, ``rework_cases`` (cases where it is reworked, the
  figure pm4py's ``get_rework_cases_per_activity`` gives), ``repeats`` (summed over the cases) and
  ``rework_share`` = rework_cases / cases;
* the log's ``rework_cases``: cases with at least one reworked activity.

Every event counts, whatever its lifecycle transition (as pm4py counts): in a log with start and
complete events one performance of an activity is two events, so read such logs through the
complete events (``--where lifecycle:transition=complete``) or count in pairs. Unlike duplicate
work (:mod:`miner.analysis.duplicates`), rework needs no taxonomy: it works on any log.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from miner.analysis._result import SCHEMA_VERSION
from miner.analysis.journey import create_journey
from miner.analysis.period import Period
from miner.model.log import Log, first_row

KIND = "rework"


@dataclass(frozen=True)
class ActivityRework:
    """Rework of one activity (see the module docstring)."""

    activity: str
    cases: int
    rework_cases: int
    repeats: int
    rework_share: float


@dataclass(frozen=True)
class Rework:
    """Rework per activity, most reworked cases first, and the log's totals."""

    period: str | None
    cases: int
    rework_cases: int
    repeats: int
    activities: tuple[ActivityRework, ...]

    def per_activity(self) -> dict[str, int]:
        """Activity → cases where it is reworked (only activities with rework)."""
        return {a.activity: a.rework_cases for a in self.activities if a.rework_cases}

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": KIND, "period": self.period,
                "cases": self.cases, "rework_cases": self.rework_cases, "repeats": self.repeats,
                "activities": [asdict(a) for a in self.activities]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Rework:
        return cls(d["period"], d["cases"], d["rework_cases"], d["repeats"],
                   tuple(ActivityRework(**a) for a in d["activities"]))


def rework(log: Log, *, period: Period | None = None) -> Rework:
    """Rework per activity in the journeys of ``log`` (see the module docstring)."""
    journey = create_journey(log)
    scope = period.sql_range("ts") if period else "TRUE"
    con = log.con
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _rework AS
        SELECT foreigner, activity, count(*) AS n FROM {journey} WHERE {scope} GROUP BY ALL""")
    try:
        rows = con.execute("""
            SELECT activity, count(*), count(*) FILTER (WHERE n > 1), sum(n - 1)
            FROM _rework GROUP BY 1 ORDER BY 3 DESC, 1""").fetchall()
        totals = first_row(con.execute(
            "SELECT count(DISTINCT foreigner), count(DISTINCT foreigner) FILTER (WHERE n > 1), "
            "coalesce(sum(n - 1), 0) FROM _rework"))
    finally:
        con.execute("DROP TABLE _rework")
    activities = tuple(ActivityRework(str(a), int(c), int(r), int(p), r / c)
                       for a, c, r, p in rows)
    cases, reworked, repeats = (int(v) for v in totals) if totals else (0, 0, 0)
    return Rework(period.label if period else None, cases, reworked, repeats, activities)
