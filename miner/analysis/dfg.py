"""The directly-follows graph (DFG) of a case-centric log, with frequency and performance.

Two activities A and B are *directly followed* (A → B) once for every pair of consecutive events of
one case where the first is A and the second B. The *frequency* of A → B counts those pairs over all
cases; its *performance* is the distribution of the time between the two events (seconds): mean,
median, 90th percentile (linear interpolation, as numpy's default), minimum and maximum. A case's
first event gives its *start activity*, its last event its *end activity*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from miner.analysis._result import SCHEMA_VERSION, records
from miner.model.case_index import DFG_SQL
from miner.model.flatten import EventLog
from miner.model.view import open_scope


@dataclass(frozen=True, eq=False)
class DirectlyFollowsGraph:
    """The DFG of one case notion.

    ``table`` has one row per edge, most frequent first: ``source, target, frequency, mean_s,
    median_s, p90_s, min_s, max_s``. ``start_activities`` and ``end_activities`` map an activity to
    the number of cases that start (end) with it.
    """

    object_type: str
    table: pd.DataFrame
    start_activities: dict[str, int]
    end_activities: dict[str, int]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "object_type": self.object_type,
            "edges": records(self.table),
            "start_activities": self.start_activities,
            "end_activities": self.end_activities,
        }


def dfg(log: EventLog) -> DirectlyFollowsGraph:
    """The directly-follows graph of ``log`` with frequency and performance per edge.

    Example:
        >>> graph = dfg(flatten(read("running-example.xes")))  # doctest: +SKIP
        >>> graph.table.iloc[0][["source", "target", "frequency"]].tolist()  # doctest: +SKIP
        ['check ticket', 'decide', 6]
    """
    con = log.log.con
    with open_scope(log) as scope:
        index = scope.index
        if not scope.filtered:
            edges = f"SELECT * EXCLUDE (notion) FROM {index.table('dfg_summary')} WHERE {index.where()}"
            ends_sql = f"SELECT * EXCLUDE (notion) FROM {index.table('case_ends')} WHERE {index.where()}"
        else:
            edges = DFG_SQL.format(steps=scope.steps, names=index.table("activity_codes"))
            ends_sql = f"""
                SELECT side, n.activity, cases FROM (
                    SELECT 'start' AS side, first_act AS act, count(*) AS cases FROM ({scope.cases}) GROUP BY ALL
                    UNION ALL
                    SELECT 'end', last_act, count(*) FROM ({scope.cases}) GROUP BY ALL) s
                JOIN {index.table('activity_codes')} n ON n.code = s.act"""
        table = con.execute(f"SELECT * FROM ({edges}) ORDER BY frequency DESC, source, target").df()
        ends = con.execute(f"SELECT * FROM ({ends_sql}) ORDER BY side, cases DESC, activity").fetchall()
    return DirectlyFollowsGraph(
        object_type=log.object_type,
        table=table.astype({"frequency": "int64"}),
        start_activities={a: int(n) for side, a, n in ends if side == "start"},
        end_activities={a: int(n) for side, a, n in ends if side == "end"},
    )
