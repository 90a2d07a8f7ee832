"""Where the data begins, per step: the *coverage start* of each activity.

Partner exports start on different days, and the initial stock's journeys began before some
exports did. Before a step's data begins, the log cannot show whether the step happened, so a
step the model expected there is *before log*, not skipped.

Definitions (over the ``journey``, :mod:`miner.analysis.journey`):

* a step's data begins with the first event of that activity in an export: an export that carries
  older history often carries only some of its steps (milestones such as the registration and the
  hearing, not the regietafel), so an export's first event says little about a given step;
* an activity's *coverage start*: its earliest event over all exports — from then on the log
  records the step, so a step the model expected and the log lacks is a finding;
* an activity the log never records has the *log's coverage start*: the latest first event over
  all exports (from then on every export has data).

Each activity is judged on its own records, so one export that starts months later only moves the
coverage start of the steps that export alone records, and a step whose data began late does not
turn earlier findings of every other step into before log.
"""

from __future__ import annotations

from typing import Any

import duckdb

from miner.analysis.workdays import local_date_sql

#: The temp table of :func:`load_coverage`: (activity label, activity id, coverage start,
#: its local day YYYY-MM-DD).
TABLE = "conf_coverage"


def log_coverage_start(con: duckdb.DuckDBPyConnection) -> tuple[Any, str | None]:
    """The log's coverage start (the latest of the sources' first event times in the
    ``journey``) and its local day (YYYY-MM-DD, Europe/Amsterdam, as the norms count days);
    (None, None) without events."""
    row = con.execute(f"""
        SELECT max(first), strftime({local_date_sql("max(first)")}, '%Y-%m-%d')
        FROM (SELECT min(ts) AS first FROM journey GROUP BY source)""").fetchall()[0]
    return row[0], row[1]


def load_coverage(con: duckdb.DuckDBPyConnection) -> None:
    """``conf_coverage`` (activity, activity_id, coverage, day): each activity of the ``journey``
    with its coverage start. Activities missing from it have the log's coverage start."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {TABLE} AS
        SELECT activity, any_value(activity_id) AS activity_id, min(ts) AS coverage,
               strftime({local_date_sql("min(ts)")}, '%Y-%m-%d') AS day
        FROM journey GROUP BY activity""")


def activity_coverage(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[Any, str]]:
    """Activity id → (coverage start, local day), from ``conf_coverage``."""
    return {a: (c, d) for a, c, d in con.execute(
        f"SELECT activity_id, coverage, day FROM {TABLE} WHERE activity_id IS NOT NULL").fetchall()}
