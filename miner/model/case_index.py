"""The case index: each case notion's flattening, stored integer-coded, built when a log is imported.

A *case notion* is one object type (see :func:`miner.flatten`). For every case notion of a log the
workspace keeps, as derived data:

* ``activity_codes`` / ``resource_codes``: one integer per activity and per resource (the XES
  ``org:resource`` event attribute), shared by all case notions.
* ``case_steps``: one row per (case, event), in case order (timestamp, then read order):
  ``case_no, pos`` (0-based), ``event_seq`` (the event's ``seq`` in ``events``), ``act``,
  ``timestamp``, ``res`` and the successor's ``next_act``, ``next_res`` and ``gap_us``
  (microseconds to it); NULL on a case's last event.
* ``case_table``: one row per case: ``case_id``, ``events``, ``start``/``end`` (first and last
  timestamp), ``duration_us``, ``first_act``/``last_act`` and ``variant_no``.
* ``variant_table``: one row per variant in result order (most cases first, ties by sequence):
  ``variant_no``, ``variant`` (the activities joined by U+001F), ``activities``, ``cases``, ``events``.
* ``dfg_summary`` / ``case_ends``: the unfiltered DFG and start/end activities, ready to read.
* ``case_notions``: which object type each notion number is, and the newest event–object link the
  index has seen (``e2o_seq``), so an index that is behind the log is rebuilt.

Whole-case filters then read ``case_table`` and semi-join ``case_steps``; filters that drop events
inside cases recompute only the successors (one window over integers). :func:`build_case_index`
runs at the end of every import; a workspace opened read-only whose index is missing or behind gets
one in the connection's temporary schema instead (same tables, same figures).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from miner.model.filters import attribute_text, sql_literal
from miner.model.log import Log, first_row

#: Bumped whenever the index tables change shape; an index of another version is dropped and rebuilt.
INDEX_VERSION = "3"
#: The event attribute indexed as each step's resource (pm4py's default resource key).
RESOURCE_ATTRIBUTE = "org:resource"
_META_KEY = "miner.case_index"
_LEGACY_TABLES = ("case_index_state", "case_variant")

_DDL = {
    "case_notions": "notion INTEGER NOT NULL, object_type VARCHAR NOT NULL, e2o_seq BIGINT NOT NULL",
    "activity_codes": "code INTEGER NOT NULL, activity VARCHAR NOT NULL",
    "resource_codes": "code INTEGER NOT NULL, resource VARCHAR NOT NULL",
    "case_steps": (
        "notion INTEGER NOT NULL, case_no INTEGER NOT NULL, pos INTEGER NOT NULL, "
        "event_seq BIGINT NOT NULL, act INTEGER NOT NULL, timestamp TIMESTAMPTZ NOT NULL, "
        "res INTEGER, next_act INTEGER, next_res INTEGER, gap_us BIGINT"
    ),
    "case_table": (
        "notion INTEGER NOT NULL, case_no INTEGER NOT NULL, case_id VARCHAR NOT NULL, "
        "events INTEGER NOT NULL, start TIMESTAMPTZ NOT NULL, \"end\" TIMESTAMPTZ NOT NULL, "
        "duration_us BIGINT NOT NULL, first_act INTEGER NOT NULL, last_act INTEGER NOT NULL, "
        "variant_no INTEGER NOT NULL"
    ),
    "variant_table": (
        "notion INTEGER NOT NULL, variant_no INTEGER NOT NULL, variant VARCHAR NOT NULL, "
        "activities VARCHAR[] NOT NULL, cases BIGINT NOT NULL, "
        "events BIGINT NOT NULL"
    ),
    "dfg_summary": (
        "notion INTEGER NOT NULL, source VARCHAR NOT NULL, target VARCHAR NOT NULL, "
        "frequency BIGINT NOT NULL, mean_s DOUBLE, median_s DOUBLE, p90_s DOUBLE, min_s DOUBLE, "
        "max_s DOUBLE"
    ),
    "case_ends": (
        "notion INTEGER NOT NULL, side VARCHAR NOT NULL, activity VARCHAR NOT NULL, "
        "cases BIGINT NOT NULL"
    ),
}
INDEX_TABLES = tuple(_DDL)

#: The DFG edges with frequency and performance (seconds) over a coded steps relation ``{steps}``;
#: ``{names}`` is the activity code table.
DFG_SQL = """
    SELECT a.activity AS source, b.activity AS target, p.frequency, p.mean_s, p.median_s, p.p90_s,
           p.min_s, p.max_s
    FROM (SELECT act, next_act, count(*) AS frequency, avg(d) AS mean_s, median(d) AS median_s,
                 quantile_cont(d, 0.9) AS p90_s, min(d) AS min_s, max(d) AS max_s
          FROM (SELECT act, next_act, gap_us / 1e6 AS d FROM ({steps}) WHERE next_act IS NOT NULL)
          GROUP BY ALL) p
    JOIN {names} a ON a.code = p.act JOIN {names} b ON b.code = p.next_act
"""


@dataclass(frozen=True)
class CaseIndex:
    """Where one case notion's index lives: ``schema`` (``main``, or ``temp`` for a read-only
    workspace and on Spark) and its ``notion`` number. ``table(name)`` is the name to query: a
    temporary table shadows the workspace's table of the same name, so the name alone resolves."""

    schema: str
    notion: int
    object_type: str

    def table(self, name: str) -> str:
        return name

    def where(self, alias: str = "") -> str:
        """The condition that keeps this notion's rows of an index table."""
        return f"{alias + '.' if alias else ''}notion = {self.notion}"


def case_index(log: Log, object_type: str) -> CaseIndex:
    """The up-to-date index of ``object_type``: the stored one, built or rebuilt if needed (into the
    temporary schema when the workspace is read-only, or the log runs on Spark)."""
    con = log.con
    newest = _newest_link(con)
    temporary = _read_only(con)
    if temporary:
        found = _notion(con, "temp", object_type)
        if found is not None and found[1] >= newest:
            return CaseIndex("temp", found[0], object_type)
    if _version_current(con):
        found = _notion(con, "main", object_type)
        if found is not None and found[1] >= newest:
            return CaseIndex("main", found[0], object_type)
    if temporary:
        return _build(con, "temp", object_type, newest)
    _reset_if_stale(con)
    return _build(con, "main", object_type, newest)


def build_case_index(log: Log, object_types: list[str] | None = None) -> None:
    """Build (or bring up to date) the index of every case notion in ``object_types`` (default: all
    object types of the log). Imports call this, so the first query finds the index ready."""
    for object_type in object_types if object_types is not None else log.object_types():
        case_index(log, object_type)


def _newest_link(con: duckdb.DuckDBPyConnection) -> int:
    row = first_row(con.execute("SELECT coalesce(max(seq), -1) FROM event_objects"))
    return int(row[0]) if row else -1


def _read_only(con: duckdb.DuckDBPyConnection) -> bool:
    """True for a workspace opened read-only, and for a Spark connection (nothing is stored)."""
    if not isinstance(con, duckdb.DuckDBPyConnection):
        return True
    row = first_row(con.execute(
        "SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()"))
    return bool(row and row[0])


def _has(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = first_row(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND temporary = ?",
        [table, schema == "temp"]))
    return bool(row and row[0])


def _version_current(con: duckdb.DuckDBPyConnection) -> bool:
    found = first_row(con.execute(f"SELECT value FROM log_meta WHERE key = '{_META_KEY}'"))
    return found is not None and found[0] == f'{{"version": {INDEX_VERSION}}}' and _has(
        con, "main", "case_notions")


def _notion(con: duckdb.DuckDBPyConnection, schema: str, object_type: str) -> tuple[int, int] | None:
    if not _has(con, schema, "case_notions"):
        return None
    row = first_row(con.execute(
        "SELECT notion, e2o_seq FROM case_notions WHERE object_type = ?", [object_type]))
    return (int(row[0]), int(row[1])) if row else None


def _reset_if_stale(con: duckdb.DuckDBPyConnection) -> None:
    """Drop an index of another version (it is derived data) and mark the current one."""
    if _version_current(con):
        return
    for table in (*INDEX_TABLES, *_LEGACY_TABLES):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute(f"DELETE FROM log_meta WHERE key = '{_META_KEY}'")
    con.execute(f"""INSERT INTO log_meta VALUES ('{_META_KEY}', '{{"version": {INDEX_VERSION}}}')""")


def _build(con: duckdb.DuckDBPyConnection, schema: str, object_type: str, newest: int) -> CaseIndex:
    from miner.progress import spinner

    with spinner(f"indexing the cases of object type {object_type!r}"):
        in_transaction = schema == "main"
        if in_transaction:
            con.execute("BEGIN TRANSACTION")
        try:
            index = _build_tables(con, schema, object_type, newest)
            if in_transaction:
                con.execute("COMMIT")
        except BaseException:
            if in_transaction:
                con.execute("ROLLBACK")
            raise
    return index


def _build_tables(con: duckdb.DuckDBPyConnection, schema: str, object_type: str,
                  newest: int) -> CaseIndex:
    create = "CREATE TEMP TABLE IF NOT EXISTS" if schema == "temp" else "CREATE TABLE IF NOT EXISTS"
    for table, columns in _DDL.items():
        if not _has(con, schema, table):
            con.execute(f"{create} {table} ({columns})")
    found = _notion(con, schema, object_type)
    if found is not None:
        notion = found[0]
        for table in ("case_steps", "case_table", "variant_table", "dfg_summary", "case_ends"):
            con.execute(f"DELETE FROM {table} WHERE notion = {notion}")
        con.execute(f"DELETE FROM case_notions WHERE notion = {notion}")
    else:
        row = first_row(con.execute("SELECT coalesce(max(notion) + 1, 0) FROM case_notions"))
        notion = int(row[0]) if row else 0
    index = CaseIndex(schema, notion, object_type)
    _extend_codes(con, index)
    _insert_steps(con, index)
    _insert_cases(con, index)
    _insert_summaries(con, index)
    con.execute("INSERT INTO case_notions VALUES (?, ?, ?)", [notion, object_type, newest])
    return index


def _extend_codes(con: duckdb.DuckDBPyConnection, index: CaseIndex) -> None:
    """Give every activity and resource not yet coded the next free codes (in name order)."""
    activities, resources = index.table("activity_codes"), index.table("resource_codes")
    con.execute(f"""
        INSERT INTO {activities}
        SELECT (SELECT coalesce(max(code) + 1, 0) FROM {activities}) + row_number() OVER (ORDER BY a) - 1, a
        FROM (SELECT DISTINCT event_type AS a FROM events
              EXCEPT SELECT activity FROM {activities})""")
    con.execute(f"""
        INSERT INTO {resources}
        SELECT (SELECT coalesce(max(code) + 1, 0) FROM {resources}) + row_number() OVER (ORDER BY r) - 1, r
        FROM (SELECT DISTINCT {attribute_text()} AS r FROM event_attributes
              WHERE name = {sql_literal(RESOURCE_ATTRIBUTE)}
              EXCEPT SELECT resource FROM {resources})
        WHERE r IS NOT NULL""")


def _insert_steps(con: duckdb.DuckDBPyConnection, index: CaseIndex) -> None:
    type_lit = sql_literal(index.object_type)
    has_resource = first_row(con.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM event_attributes "
        f"WHERE name = {sql_literal(RESOURCE_ATTRIBUTE)} LIMIT 1)"))
    if has_resource and has_resource[0]:
        resource = (f"LEFT JOIN (SELECT event_id, any_value({attribute_text()}) AS r "
                    f"FROM event_attributes WHERE name = {sql_literal(RESOURCE_ATTRIBUTE)} "
                    f"GROUP BY event_id) ra ON ra.event_id = e.event_id "
                    f"LEFT JOIN {index.table('resource_codes')} rc ON rc.resource = ra.r")
        res = "rc.code"
    else:
        resource, res = "", "CAST(NULL AS INTEGER)"
    # Cases are numbered in the order their objects were read.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _miner_linked AS
        SELECT c.case_no, e.seq, ac.code AS act, e.timestamp, {res} AS res
        FROM event_objects l
        JOIN (SELECT object_id, CAST(row_number() OVER (ORDER BY seq) - 1 AS INTEGER) AS case_no
              FROM objects WHERE object_type = {type_lit}) c ON c.object_id = l.object_id
        JOIN events e ON e.event_id = l.event_id
        JOIN {index.table('activity_codes')} ac ON ac.activity = e.event_type
        {resource}""")
    # A repeated link of one event to one case (another qualifier) counts the event once. When no
    # event has two links of this type, there is nothing to remove (and the check is cheap).
    repeated = first_row(con.execute("SELECT count(*) - count(DISTINCT seq) FROM _miner_linked"))
    linked = "_miner_linked"
    if repeated and repeated[0]:
        linked = "(SELECT DISTINCT * FROM _miner_linked)"
    con.execute(f"""
        INSERT INTO {index.table('case_steps')}
        SELECT {index.notion}, case_no, CAST(row_number() OVER w - 1 AS INTEGER), seq, act,
               timestamp, res, lead(act) OVER w, lead(res) OVER w,
               epoch_us(lead(timestamp) OVER w) - epoch_us(timestamp)
        FROM {linked}
        WINDOW w AS (PARTITION BY case_no ORDER BY timestamp, seq)""")
    con.execute("DROP TABLE _miner_linked")


def _insert_cases(con: duckdb.DuckDBPyConnection, index: CaseIndex) -> None:
    steps, names = index.table("case_steps"), index.table("activity_codes")
    # A variant is keyed by its activities joined by U+001F: grouping text is fast on both engines.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _miner_cases AS
        SELECT s.case_no, count(*) AS events, min(s.timestamp) AS start, max(s.timestamp) AS "end",
               arg_min(s.act, s.pos) AS first_act, arg_max(s.act, s.pos) AS last_act,
               string_agg(n.activity, chr(31) ORDER BY s.pos) AS variant
        FROM {steps} s JOIN {names} n ON n.code = s.act
        WHERE s.{index.where()} GROUP BY s.case_no""")
    # Variant order: most cases first, ties by the joined activities.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _miner_variants AS
        SELECT CAST(row_number() OVER (ORDER BY cases DESC, variant) - 1 AS INTEGER) AS variant_no,
               variant, cases, events
        FROM (SELECT variant, count(*) AS cases, any_value(events) AS events
              FROM _miner_cases GROUP BY variant)""")
    con.execute(f"""
        INSERT INTO {index.table('variant_table')}
        SELECT {index.notion}, variant_no, variant, string_split(variant, chr(31)), cases, events
        FROM _miner_variants ORDER BY variant_no""")
    con.execute(f"""
        INSERT INTO {index.table('case_table')}
        SELECT {index.notion}, c.case_no, o.object_id, c.events, c.start, c."end",
               epoch_us(c."end") - epoch_us(c.start), c.first_act, c.last_act, v.variant_no
        FROM _miner_cases c
        JOIN (SELECT object_id, CAST(row_number() OVER (ORDER BY seq) - 1 AS INTEGER) AS case_no
              FROM objects WHERE object_type = {sql_literal(index.object_type)}) o
          ON o.case_no = c.case_no
        JOIN _miner_variants v ON v.variant = c.variant""")
    con.execute("DROP TABLE _miner_cases")
    con.execute("DROP TABLE _miner_variants")


def _insert_summaries(con: duckdb.DuckDBPyConnection, index: CaseIndex) -> None:
    steps = f"SELECT * FROM {index.table('case_steps')} WHERE {index.where()}"
    names = index.table("activity_codes")
    con.execute(f"INSERT INTO {index.table('dfg_summary')} SELECT {index.notion}, * FROM "
                f"({DFG_SQL.format(steps=steps, names=names)})")
    con.execute(f"""
        INSERT INTO {index.table('case_ends')}
        SELECT {index.notion}, side, n.activity, cases FROM (
            SELECT 'start' AS side, first_act AS act, count(*) AS cases FROM {index.table('case_table')}
            WHERE {index.where()} GROUP BY ALL
            UNION ALL
            SELECT 'end', last_act, count(*) FROM {index.table('case_table')}
            WHERE {index.where()} GROUP BY ALL) s
        JOIN {names} n ON n.code = s.act""")
