"""CSV and Parquet event tables: one row per event, read with a column mapping.

A :class:`ColumnMapping` names the column of the activity, of the timestamp, and of each object the
row refers to (the case, or several object types for an object-centric table). Every other column is
kept as an event attribute, typed as DuckDB infers it. DuckDB parses the file, so it streams and
parses in parallel.

Ids: the event id is the ``event_id`` column when mapped, else ``<file name>#<row>``. An object's id is
its cell text; when the mapping names several object columns, ``<object type>:<cell text>`` keeps ids
of different types apart. ``source_row`` is the 1-based data row (the header is not counted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from miner.errors import InputError, SchemaError
from miner.formats._input import check_file
from miner.model.filters import sql_literal
from miner.model.loading import TableSink

_TYPE_OF = {
    "BIGINT": "integer", "INTEGER": "integer", "SMALLINT": "integer", "TINYINT": "integer",
    "HUGEINT": "integer", "UBIGINT": "integer", "UINTEGER": "integer", "USMALLINT": "integer",
    "DOUBLE": "float", "FLOAT": "float", "BOOLEAN": "boolean",
    "TIMESTAMP": "time", "TIMESTAMP WITH TIME ZONE": "time", "DATE": "time",
}


@dataclass(frozen=True)
class ColumnMapping:
    """Which columns of an event table hold what.

    ``objects`` maps a column to the object type of the value it holds (e.g. ``{"Case ID":
    "case"}``). ``timestamp_format`` is a strptime format (e.g. ``"%Y/%m/%d %H:%M:%S.%g"``); None lets
    DuckDB detect ISO 8601. ``timezone`` is the zone of timestamps without an offset (an IANA name).
    ``delimiter`` and ``encoding`` apply to CSV only (None: detected / UTF-8).
    """

    activity: str
    timestamp: str
    objects: dict[str, str]
    event_id: str | None = None
    timestamp_format: str | None = None
    timezone: str = "UTC"
    delimiter: str | None = None
    encoding: str | None = None
    qualifier: str = ""
    exclude: tuple[str, ...] = field(default_factory=tuple)


def _relation_sql(path: Path, mapping: ColumnMapping) -> str:
    name = sql_literal(str(path))
    if path.suffix == ".parquet":
        return f"read_parquet({name})"
    options = ["header = true", "all_varchar = false", "sample_size = -1"]
    if mapping.delimiter:
        options.append(f"delim = {sql_literal(mapping.delimiter)}")
    if mapping.encoding:
        options.append(f"encoding = {sql_literal(mapping.encoding)}")
    if mapping.timestamp_format:
        # The timestamp column is parsed below with the user's format, so keep it text here.
        options.append(f"types = {{{sql_literal(mapping.timestamp)}: 'VARCHAR'}}")
    return f"read_csv({name}, {', '.join(options)})"


def read_table(path: Path, sink: TableSink, *, mapping: ColumnMapping) -> None:
    """Stage the events, objects and links of one CSV or Parquet event table.

    Raises:
        InputError: the file is missing, empty or unreadable, or timestamps do not parse (the
            message lists the first rows, the column and the values found).
        SchemaError: a mapped column is absent (the closest column name is suggested).
    """
    check_file(path)
    con = sink.connection
    raw = f"_miner_raw_{abs(hash(str(path)))}"
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT row_number() OVER () AS _row, * "
            f"FROM {_relation_sql(path, mapping)}"
        )
    except duckdb.Error as exc:
        raise InputError(f"{path}: cannot read as a {path.suffix.lstrip('.')} table: {exc}") from exc
    try:
        _stage(con, raw, path, sink, mapping)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {raw}")


def _stage(
    con: duckdb.DuckDBPyConnection, raw: str, path: Path, sink: TableSink, mapping: ColumnMapping
) -> None:
    described = con.execute(f"DESCRIBE {raw}").fetchall()
    types = {r[0]: r[1] for r in described if r[0] != "_row"}
    needed = [mapping.activity, mapping.timestamp, *mapping.objects]
    if mapping.event_id:
        needed.append(mapping.event_id)
    for column in needed:
        if column not in types:
            import difflib

            close = difflib.get_close_matches(column, list(types), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise SchemaError(
                f"{path}: no column {column!r} (named in the column mapping). Found: "
                f"{list(types)}.{hint} Fix the mapping or the file's header."
            )

    def q(column: str) -> str:
        return '"' + column.replace('"', '""') + '"'

    zone = sql_literal(mapping.timezone)
    ts = q(mapping.timestamp)
    ts_type = types[mapping.timestamp]
    if mapping.timestamp_format:
        parsed = f"try_strptime({ts}, {sql_literal(mapping.timestamp_format)})"
    elif ts_type.startswith("TIMESTAMP WITH TIME ZONE"):
        parsed = ts
    else:
        parsed = f"TRY_CAST({ts} AS TIMESTAMP)"
    if not ts_type.startswith("TIMESTAMP WITH TIME ZONE"):
        parsed = f"timezone({zone}, {parsed})"
    bad = con.execute(
        f"SELECT _row, CAST({ts} AS VARCHAR) FROM {raw} WHERE {parsed} IS NULL ORDER BY _row LIMIT 5"
    ).fetchall()
    if bad:
        shown = "; ".join(f"row {r} has {v!r}" for r, v in bad)
        expected = mapping.timestamp_format or "ISO 8601 (e.g. 2024-03-01 09:30:00)"
        raise InputError(
            f"{path}: column {mapping.timestamp!r}: timestamps that do not parse as {expected}: "
            f"{shown}. Set timestamp_format to the file's format, or fix those rows; nothing was imported."
        )
    file_name = sql_literal(path.name)
    if mapping.event_id:
        event_id = f"CAST({q(mapping.event_id)} AS VARCHAR)"
    else:
        event_id = f"{file_name} || '#' || _row"
    several = len(mapping.objects) > 1

    def object_id(column: str, object_type: str) -> str:
        value = f"CAST({q(column)} AS VARCHAR)"
        return f"{sql_literal(object_type + ':')} || {value}" if several else value

    fmt = "csv" if path.suffix != ".parquet" else "parquet"
    sink.insert_select(
        "events",
        f"SELECT {event_id} AS event_id, CAST({q(mapping.activity)} AS VARCHAR) AS event_type, "
        f"{parsed} AS timestamp, {sql_literal(fmt)} AS source, {file_name} AS source_file, "
        f"_row AS source_row FROM {raw}",
        order_by="source_row", numbered=True,
    )
    for column, object_type in mapping.objects.items():
        sink.insert_select(
            "objects",
            f"SELECT {object_id(column, object_type)} AS oid, {sql_literal(object_type)}, "
            f"min(_row) AS first_row FROM {raw} WHERE {q(column)} IS NOT NULL GROUP BY oid",
            order_by="first_row",
        )
        sink.insert_select(
            "event_objects",
            f"SELECT {event_id}, {object_id(column, object_type)}, {sql_literal(mapping.qualifier)}, "
            f"_row AS r FROM {raw} WHERE {q(column)} IS NOT NULL",
            order_by="r", numbered=True,
        )
    skip = set(needed) | set(mapping.exclude)
    for column, duck_type in types.items():
        if column in skip:
            continue
        kind = _TYPE_OF.get(duck_type.split("(")[0], "string")
        value_cols = {
            "string": f"CAST({q(column)} AS VARCHAR), NULL, NULL, NULL, NULL",
            "integer": f"NULL, CAST({q(column)} AS BIGINT), NULL, NULL, NULL",
            "float": f"NULL, NULL, CAST({q(column)} AS DOUBLE), NULL, NULL",
            "boolean": f"NULL, NULL, NULL, {q(column)}, NULL",
            "time": f"NULL, NULL, NULL, NULL, timezone({zone}, CAST({q(column)} AS TIMESTAMP))"
            if not duck_type.startswith("TIMESTAMP WITH") else f"NULL, NULL, NULL, NULL, {q(column)}",
        }[kind]
        sink.insert_select(
            "event_attributes",
            f"SELECT {event_id}, {sql_literal(column)}, {sql_literal(kind)}, {value_cols}, _row AS r "
            f"FROM {raw} WHERE {q(column)} IS NOT NULL",
            order_by="r", numbered=True,
        )
    con.execute(
        f"INSERT INTO stage_event_types SELECT DISTINCT CAST({q(mapping.activity)} AS VARCHAR), "
        f"NULL, NULL FROM {raw}"
    )
    for object_type in mapping.objects.values():
        con.execute(f"INSERT INTO stage_object_types VALUES ({sql_literal(object_type)}, NULL, NULL)")
