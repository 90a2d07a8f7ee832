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
from miner.model.filters import sql_literal
from miner.model.flatten import EventLog


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
    steps = log.steps_sql()
    type_lit = sql_literal(log.object_type)
    if log.indexed:
        edges = f"SELECT * EXCLUDE (object_type) FROM dfg_summary WHERE object_type = {type_lit}"
        ends_sql = f"SELECT * EXCLUDE (object_type) FROM case_ends WHERE object_type = {type_lit}"
    else:
        # Filtered: the steps are written to a scratch table first, then one pass groups every
        # (activity, successor) pair, the case ends (successor NULL) included, and counts case
        # starts alongside; the rest reads that small table. Grouping with the median straight
        # over the window's output made DuckDB spill more than 55 GB at 10^8 events; from a
        # table it spills what the case index build does.
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _miner_steps AS
            SELECT activity, next_activity, pos = 0 AS first,
                   (epoch_us(next_timestamp) - epoch_us(timestamp)) / 1e6 AS d
            FROM ({steps})
            """
        )
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _miner_pairs AS
            SELECT activity AS source, next_activity AS target, count(*) AS frequency,
                   avg(d) AS mean_s, median(d) AS median_s, quantile_cont(d, 0.9) AS p90_s,
                   min(d) AS min_s, max(d) AS max_s, count(*) FILTER (WHERE first) AS starts
            FROM _miner_steps
            GROUP BY ALL
            """
        )
        con.execute("DROP TABLE _miner_steps")
        edges = "SELECT * EXCLUDE (starts) FROM _miner_pairs WHERE target IS NOT NULL"
        ends_sql = """
            SELECT 'start' AS side, source AS activity, sum(starts) AS cases FROM _miner_pairs
            GROUP BY source HAVING sum(starts) > 0
            UNION ALL
            SELECT 'end', source, frequency FROM _miner_pairs WHERE target IS NULL
        """
    table = con.execute(f"SELECT * FROM ({edges}) ORDER BY frequency DESC, source, target").df()
    ends = con.execute(f"SELECT * FROM ({ends_sql}) ORDER BY side, cases DESC, activity").fetchall()
    con.execute("DROP TABLE IF EXISTS _miner_pairs")
    return DirectlyFollowsGraph(
        object_type=log.object_type,
        table=table.astype({"frequency": "int64"}),
        start_activities={a: int(n) for side, a, n in ends if side == "start"},
        end_activities={a: int(n) for side, a, n in ends if side == "end"},
    )
