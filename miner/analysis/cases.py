"""Case durations: the time from a case's first event to its last.

A case with one event has duration 0. Durations are in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from miner.analysis._result import SCHEMA_VERSION, json_safe
from miner.model.flatten import EventLog
from miner.model.view import open_scope


@dataclass(frozen=True, eq=False)
class CaseDurations:
    """Duration of every case of one case notion.

    ``table`` has one row per case, ordered by case id: ``case_id, events, start, end,
    duration_s``. The summary fields describe ``duration_s`` over all cases.
    """

    object_type: str
    table: pd.DataFrame
    cases: int
    mean_s: float | None
    median_s: float | None
    p90_s: float | None
    min_s: float | None
    max_s: float | None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = json_safe(
            {
                "schema_version": SCHEMA_VERSION,
                "object_type": self.object_type,
                "cases": self.cases,
                "mean_s": self.mean_s,
                "median_s": self.median_s,
                "p90_s": self.p90_s,
                "min_s": self.min_s,
                "max_s": self.max_s,
            }
        )
        return result


def case_durations(log: EventLog) -> CaseDurations:
    """The duration of every case of ``log`` and their distribution."""
    with open_scope(log) as scope:
        table = log.log.con.execute(
            f"""SELECT case_id, CAST(events AS BIGINT) AS events, start, "end",
                       duration_us / 1e6 AS duration_s
                FROM ({scope.cases}) ORDER BY case_id"""
        ).df()
    d = table["duration_s"]
    empty = table.empty
    return CaseDurations(
        object_type=log.object_type,
        table=table.astype({"events": "int64"}),
        cases=len(table),
        mean_s=None if empty else float(d.mean()),
        median_s=None if empty else float(d.median()),
        p90_s=None if empty else float(d.quantile(0.9)),
        min_s=None if empty else float(d.min()),
        max_s=None if empty else float(d.max()),
    )
