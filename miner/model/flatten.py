"""Flattening: the explicit step from the object-centric log to a case-centric one.

A *case notion* is one object type. Flattening on type T gives one *case* per object of type T that
has events; the case's events are the events linked to that object (an event linked to two objects
of type T belongs to both cases), ordered by timestamp and, for equal timestamps, by read order.
Repeated links of one event to one object (different qualifiers) count the event once.

For speed the workspace keeps a *case index* per case notion, built on first use: table
``case_steps`` holds each event's position in its case and its successor's activity and timestamp;
``case_variant`` each case's activity sequence; ``dfg_summary`` the directly-follows edges with their
frequency and performance, and ``case_ends`` the start and end activities. Unfiltered figures read
these; filtered ones are computed from the canonical tables. When new data is appended, the steps
and variants of the cases it touches are rebuilt and the summaries recomputed, so the index always
equals a fresh flattening (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from miner.model.filters import AttributeFilter, Filter, TimeWindow, sql_literal
from miner.model.log import Log, first_row
from miner.progress import spinner

_INDEX_DDL = (
    (
        "CREATE TABLE IF NOT EXISTS case_steps (object_type VARCHAR NOT NULL, case_id VARCHAR NOT NULL, "
        "pos BIGINT NOT NULL, event_id VARCHAR NOT NULL, activity VARCHAR NOT NULL, "
        "timestamp TIMESTAMPTZ NOT NULL, next_activity VARCHAR, next_timestamp TIMESTAMPTZ)"
    ),
    (
        "CREATE TABLE IF NOT EXISTS case_index_state (object_type VARCHAR PRIMARY KEY, "
        "e2o_seq BIGINT NOT NULL)"
    ),
    (
        "CREATE TABLE IF NOT EXISTS case_variant (object_type VARCHAR NOT NULL, case_id VARCHAR NOT NULL, "
        "variant VARCHAR NOT NULL, events BIGINT NOT NULL)"
    ),
    (
        "CREATE TABLE IF NOT EXISTS variant_summary (object_type VARCHAR NOT NULL, variant VARCHAR NOT NULL, "
        "activities VARCHAR[] NOT NULL, cases BIGINT NOT NULL, events BIGINT NOT NULL)"
    ),
    (
        "CREATE TABLE IF NOT EXISTS dfg_summary (object_type VARCHAR NOT NULL, source VARCHAR NOT NULL, "
        "target VARCHAR NOT NULL, frequency BIGINT NOT NULL, mean_s DOUBLE, median_s DOUBLE, "
        "p90_s DOUBLE, min_s DOUBLE, max_s DOUBLE)"
    ),
    (
        "CREATE TABLE IF NOT EXISTS case_ends (object_type VARCHAR NOT NULL, side VARCHAR NOT NULL, "
        "activity VARCHAR NOT NULL, cases BIGINT NOT NULL)"
    ),
)

#: SQL of the DFG edges with frequency and performance over a steps relation ``{steps}``.
DFG_SQL = """
    SELECT activity AS source, next_activity AS target, count(*) AS frequency,
           avg(d) AS mean_s, median(d) AS median_s, quantile_cont(d, 0.9) AS p90_s,
           min(d) AS min_s, max(d) AS max_s
    FROM (SELECT activity, next_activity,
                 (epoch_us(next_timestamp) - epoch_us(timestamp)) / 1e6 AS d
          FROM ({steps}) WHERE next_activity IS NOT NULL)
    GROUP BY ALL
"""
#: SQL of the start and end activities with their case counts over ``{steps}``.
ENDS_SQL = """
    SELECT 'start' AS side, activity, count(*) AS cases FROM ({steps}) WHERE pos = 0 GROUP BY ALL
    UNION ALL
    SELECT 'end', activity, count(*) FROM ({steps}) WHERE next_activity IS NULL GROUP BY ALL
"""
#: Joins a variant's activities into one text; grouping text is far faster than grouping lists.
VARIANT_SEPARATOR = "\x1f"
#: SQL of each case's variant (activities joined by the unit separator) over ``{steps}``.
VARIANT_SQL = (
    "SELECT case_id, string_agg(activity, chr(31) ORDER BY pos) AS variant, count(*) AS events "
    "FROM ({steps}) GROUP BY case_id"
)
#: SQL of the variants with their case counts over a per-case relation ``{per_case}``.
VARIANT_COUNTS_SQL = "SELECT variant, count(*) AS cases, any_value(events) AS events FROM ({per_case}) GROUP BY variant"


def _steps_select(object_type: str, event_condition: str = "TRUE", case_condition: str = "") -> str:
    """SQL computing the case steps of one case notion from the canonical tables."""
    return f"""
        WITH linked AS (
            SELECT DISTINCT eo.object_id AS case_id, e.event_id, e.event_type AS activity,
                   e.timestamp, e.seq
            FROM event_objects eo
            JOIN objects o ON o.object_id = eo.object_id
            JOIN events e ON e.event_id = eo.event_id
            WHERE o.object_type = {sql_literal(object_type)} AND ({event_condition})
        ), kept AS (SELECT * FROM linked {case_condition})
        SELECT case_id, row_number() OVER w - 1 AS pos, event_id, activity, timestamp,
               lead(activity) OVER w AS next_activity, lead(timestamp) OVER w AS next_timestamp
        FROM kept
        WINDOW w AS (PARTITION BY case_id ORDER BY timestamp, seq)
    """


#: Bumped whenever the index tables change shape; an index of another version is dropped and rebuilt
#: (it is derived data).
INDEX_VERSION = "2"
_INDEX_TABLES = (
    "case_steps",
    "case_index_state",
    "case_variant",
    "variant_summary",
    "dfg_summary",
    "case_ends",
)


def _check_index_version(log: Log) -> None:
    con = log.con
    found = first_row(con.execute("SELECT value FROM log_meta WHERE key = 'miner.case_index'"))
    if found is not None and found[0] == f'{{"version": {INDEX_VERSION}}}':
        return
    for table in _INDEX_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute("DELETE FROM log_meta WHERE key = 'miner.case_index'")
    con.execute(
        f"""INSERT INTO log_meta VALUES ('miner.case_index', '{{"version": {INDEX_VERSION}}}')"""
    )


def ensure_case_index(log: Log, object_type: str) -> None:
    """Build or bring up to date the case index of ``object_type`` (see the module docstring)."""
    con = log.con
    _check_index_version(log)
    for ddl in _INDEX_DDL:
        con.execute(ddl)
    type_lit = sql_literal(object_type)
    current = first_row(con.execute("SELECT coalesce(max(seq), -1) FROM event_objects"))
    newest = int(current[0]) if current else -1
    state = first_row(
        con.execute(f"SELECT e2o_seq FROM case_index_state WHERE object_type = {type_lit}")
    )
    if state is not None and int(state[0]) >= newest:
        return
    with spinner(f"indexing the cases of object type {object_type!r}"):
        _update_case_index(con, object_type, state, newest)


def _update_case_index(
    con: duckdb.DuckDBPyConnection, object_type: str, state: tuple[Any, ...] | None, newest: int
) -> None:
    type_lit = sql_literal(object_type)
    con.execute("BEGIN TRANSACTION")
    try:
        indexed = f"SELECT * FROM case_steps WHERE object_type = {type_lit}"
        if state is None:
            con.execute(
                f"INSERT INTO case_steps SELECT {type_lit}, * FROM ({_steps_select(object_type)}) "
                "ORDER BY case_id, pos"
            )
            con.execute(
                f"INSERT INTO case_variant SELECT {type_lit}, * FROM "
                f"({VARIANT_SQL.format(steps=indexed)})"
            )
        else:
            # Only cases with links newer than the index change; rebuild exactly those.
            touched = (
                "SELECT DISTINCT eo.object_id FROM event_objects eo JOIN objects o USING (object_id) "
                f"WHERE eo.seq > {int(state[0])} AND o.object_type = {type_lit}"
            )
            for table in ("case_steps", "case_variant"):
                con.execute(
                    f"DELETE FROM {table} WHERE object_type = {type_lit} AND case_id IN ({touched})"
                )
            con.execute(
                f"INSERT INTO case_steps SELECT {type_lit}, * FROM ("
                f"{_steps_select(object_type, f'eo.object_id IN ({touched})')})"
            )
            con.execute(
                f"INSERT INTO case_variant SELECT {type_lit}, * FROM "
                f"({VARIANT_SQL.format(steps=indexed + f' AND case_id IN ({touched})')})"
            )
        for table in ("dfg_summary", "case_ends", "variant_summary"):
            con.execute(f"DELETE FROM {table} WHERE object_type = {type_lit}")
        con.execute(
            f"INSERT INTO dfg_summary SELECT {type_lit}, * FROM ({DFG_SQL.format(steps=indexed)})"
        )
        con.execute(
            f"INSERT INTO case_ends SELECT {type_lit}, * FROM ({ENDS_SQL.format(steps=indexed)})"
        )
        per_case = f"SELECT * FROM case_variant WHERE object_type = {type_lit}"
        con.execute(
            # Stored split and in result order, so reading the variants is a plain scan.
            f"INSERT INTO variant_summary SELECT {type_lit}, variant, string_split(variant, chr(31)), "
            f"cases, events FROM ({VARIANT_COUNTS_SQL.format(per_case=per_case)}) "
            "ORDER BY cases DESC, variant"
        )
        con.execute(f"INSERT OR REPLACE INTO case_index_state VALUES ({type_lit}, {newest})")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


@dataclass(frozen=True, eq=False)
class EventLog:
    """A case-centric event log: ``log`` flattened on ``object_type``, narrowed by ``filters``.

    Build it with :func:`flatten`. ``steps_sql()`` is the SQL of its steps relation, with columns
    ``case_id, pos, event_id, activity, timestamp, next_activity, next_timestamp`` (``pos`` counts
    from 0; ``next_*`` are NULL on a case's last event).
    """

    log: Log
    object_type: str
    filters: tuple[Filter, ...] = ()

    @property
    def indexed(self) -> bool:
        """True when unfiltered, so the figures come from the case index."""
        return not self.filters

    def steps_sql(self) -> str:
        if not self.filters:
            ensure_case_index(self.log, self.object_type)
            return (
                "SELECT case_id, pos, event_id, activity, timestamp, next_activity, next_timestamp "
                f"FROM case_steps WHERE object_type = {sql_literal(self.object_type)}"
            )
        event_conditions: list[str] = []
        case_conditions: list[str] = []
        for f in self.filters:
            if isinstance(f, TimeWindow):
                if f.mode == "events":
                    event_conditions.append(f.inside("e.timestamp"))
                else:
                    case_conditions.append(
                        "case_id IN (SELECT case_id FROM linked GROUP BY case_id HAVING "
                        f"{f.case_condition('min(timestamp)', 'max(timestamp)')})"
                    )
            elif isinstance(f, AttributeFilter):
                if f.level == "event":
                    event_conditions.append(f.matches("e.event_id", "e.event_type"))
                else:
                    case_conditions.append(
                        "case_id IN (SELECT case_id FROM linked WHERE "
                        f"{f.matches('event_id', 'activity')})"
                    )
        where = " AND ".join(event_conditions) or "TRUE"
        having = ("WHERE " + " AND ".join(case_conditions)) if case_conditions else ""
        return _steps_select(self.object_type, where, having)


def flatten(
    log: Log, *, object_type: str | None = None, filters: tuple[Filter, ...] = ()
) -> EventLog:
    """Flatten ``log`` on a case notion (an object type; optional if the log has just one).

    Raises:
        CaseNotionError: the log has several object types and none was chosen.
        UnknownNameError: ``object_type`` is not a type of the log (the closest is suggested).
    """
    return EventLog(
        log=log, object_type=log.resolve_object_type(object_type), filters=tuple(filters)
    )
