"""Helpers shared by the OCEL 2.0 readers and writers (JSON, XML, SQLite).

* Timestamps: OCEL 2.0 writes ISO 8601 text. A timestamp without an offset is taken as UTC; one
  with an offset is converted to UTC. Readers hand the sink microseconds since the epoch.
* Values: an attribute value is stored under the type its event or object type *declares* for it
  (string, integer, float, boolean, time), converting where that loses nothing (the JSON number
  94.28 under a declared ``string`` becomes the text ``"94.28"``). An undeclared attribute is kept
  and typed by what the file gives.
* Writers: SQL expressions that render a canonical value or timestamp as OCEL 2.0 text, and the
  declarations a writer emits (the declared ones plus any attribute that occurs undeclared).
* Provenance: an event whose ``source`` is not a format reader's own marker (a workspace made by
  ``miner ingest`` has the partner system there) is written with three extra event attributes,
  ``miner:source``, ``miner:source_file`` and ``miner:source_row`` (:data:`PROVENANCE`), declared
  like any other; :func:`restore_provenance` moves them back into the ``events`` columns after a
  read, so the provenance survives an export and re-import.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb

from miner.errors import InputError
from miner.model.loading import TableSink
from miner.model.log import Log, first_row
from miner.model.schema import EPOCH

#: The value types OCEL 2.0 declares.
OCEL_TYPES = ("string", "integer", "float", "boolean", "time")
#: ``(type, value_string, value_integer, value_float, value_boolean, value_time)``.
ValueRow = tuple[str, str | None, int | None, float | None, bool | None, int | None]

EPOCH_US = 0
_CHUNK = 10_000
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

#: What the format readers put in ``events.source`` (OCEL 2.0, XES, CSV and Parquet): a re-read
#: sets these itself, so they are not carried through a file.
READER_SOURCES = ("ocel2-json", "ocel2-xml", "ocel2-sqlite", "xes", "csv", "parquet")
#: ``(event attribute, OCEL 2.0 type, events column)`` of the provenance written for the events
#: whose ``source`` is not one of :data:`READER_SOURCES`.
PROVENANCE = (
    ("miner:source", "string", "source"),
    ("miner:source_file", "string", "source_file"),
    ("miner:source_row", "integer", "source_row"),
)


@lru_cache(maxsize=65536)
def parse_time(text: str) -> int:
    """Microseconds since the epoch (UTC) of an ISO 8601 timestamp; naive times are UTC.

    Raises ValueError when ``text`` is not an ISO 8601 date or date-time.
    """
    raw = text.strip()
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def declared_type(declared: str | None) -> str | None:
    """The canonical value type of a declared OCEL type; unknown declared types hold strings."""
    if declared is None:
        return None
    return declared if declared in OCEL_TYPES else "string"


def _null(kind: str) -> ValueRow:
    return (kind, None, None, None, None, None)


def _as_text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (int, Decimal)):
        return str(raw)
    if isinstance(raw, float):
        return repr(raw)
    return json.dumps(raw, ensure_ascii=False, default=str)


def typed_value(declared: str | None, raw: Any) -> ValueRow:
    """Store ``raw`` under the declared type, or, undeclared, under the type of the raw value.

    ``raw`` is what the file holds: text (XML, JSON strings), a JSON number (int or Decimal), a
    bool, None (no value), or an SQLite cell. Raises ValueError (TypeError for a value of the wrong
    kind) when ``raw`` cannot be represented in the declared type without loss (e.g. ``"abc"``
    declared ``integer``).
    """
    kind = declared_type(declared)
    if raw is None:
        return _null(kind or "string")
    if kind is None:
        if isinstance(raw, bool):
            return ("boolean", None, None, None, raw, None)
        if isinstance(raw, int):
            return ("integer", None, _in_range(raw), None, None, None)
        if isinstance(raw, (float, Decimal)):
            return ("float", None, None, float(raw), None, None)
        return ("string", _as_text(raw), None, None, None, None)
    if kind == "string":
        return ("string", _as_text(raw), None, None, None, None)
    if kind == "integer":
        return ("integer", None, _to_int(raw), None, None, None)
    if kind == "float":
        if isinstance(raw, bool) or not isinstance(raw, (int, float, Decimal, str)):
            raise ValueError(f"found {raw!r}, which is not a float")
        try:
            return ("float", None, None, float(raw), None, None)
        except ValueError:
            raise ValueError(f"found {raw!r}, which is not a float") from None
    if kind == "boolean":
        return ("boolean", None, None, None, _to_bool(raw), None)
    if not isinstance(raw, str):
        raise TypeError(f"found {raw!r}, which is not an ISO 8601 time")
    return ("time", None, None, None, None, parse_time(raw))


def _in_range(number: int) -> int:
    """``number``, if the 64-bit integers of the tables hold it."""
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise ValueError(f"found {number}, which is beyond the 64-bit integers the tables hold")
    return number


def _to_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise TypeError(f"found {raw!r}, which is not an integer")
    if isinstance(raw, int):
        return _in_range(raw)
    try:
        number = Decimal(raw.strip()) if isinstance(raw, str) else Decimal(raw)
    except (ArithmeticError, ValueError, TypeError):
        raise ValueError(f"found {raw!r}, which is not an integer") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError(f"found {raw!r}, which is not an integer")
    return _in_range(int(number))


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = raw.strip().lower() if isinstance(raw, str) else str(raw)
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"found {raw!r}, which is not a boolean (true/false)")


def time_sql(column: str) -> str:
    """A DuckDB expression rendering a TIMESTAMPTZ column as ISO 8601 UTC text ending in ``Z``."""
    utc = f"timezone('UTC', {column})"
    return (
        f"CASE WHEN epoch_us({column}) % 1000000 = 0 "
        f"THEN strftime({utc}, '%Y-%m-%dT%H:%M:%SZ') "
        f"ELSE strftime({utc}, '%Y-%m-%dT%H:%M:%S.%fZ') END"
    )


def value_text_sql(alias: str) -> str:
    """A DuckDB expression rendering the typed value of row ``alias`` as OCEL 2.0 text (or NULL)."""
    a = alias
    return (
        f"CASE WHEN {a}.value_string IS NOT NULL THEN {a}.value_string "
        f"WHEN {a}.value_integer IS NOT NULL THEN CAST({a}.value_integer AS VARCHAR) "
        f"WHEN {a}.value_float IS NOT NULL THEN CAST({a}.value_float AS VARCHAR) "
        f"WHEN {a}.value_boolean IS NOT NULL THEN CASE WHEN {a}.value_boolean "
        f"THEN 'true' ELSE 'false' END "
        f"WHEN {a}.value_time IS NOT NULL THEN {time_sql(a + '.value_time')} END"
    )


def ocel_type_sql(column: str) -> str:
    """A DuckDB expression mapping a canonical value type to the OCEL 2.0 type written for it."""
    return (
        f"CASE WHEN {column} IN ('string', 'integer', 'float', 'boolean', 'time') "
        f"THEN {column} ELSE 'string' END"
    )


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _foreign(column: str) -> str:
    """An SQL condition: the events ``column`` ``source`` holds a source other than a reader's."""
    markers = ", ".join(_sql_text(s) for s in READER_SOURCES)
    return f"{column} IS NOT NULL AND {column} NOT IN ({markers})"


_PROVENANCE_NAMES = ", ".join(_sql_text(name) for name, _, _ in PROVENANCE)


def event_attributes_sql(con: duckdb.DuckDBPyConnection) -> str:
    """The relation a writer reads event attribute values from: ``event_attributes``, plus, when
    some event's ``source`` is not a reader's marker, that event's :data:`PROVENANCE` attributes
    (after its own attributes in ``seq`` order; a NULL ``source_file`` or ``source_row`` is left
    out). A log without such events is written exactly as the table has it.

    A subquery rather than a temporary view, so that the cursors of :func:`fetch_rows` see it too
    (a DuckDB cursor is a connection of its own, without the temporary objects of ``con``).
    """
    if not con.execute(f"SELECT 1 FROM events WHERE {_foreign('source')} LIMIT 1").fetchall():
        return "event_attributes"
    after = first_row(con.execute("SELECT coalesce(max(seq) + 1, 0) FROM event_attributes"))
    base = int(after[0]) if after else 0
    names = ", ".join(
        f"({_sql_text(n)}, {_sql_text(t)}, {k})" for k, (n, t, _) in enumerate(PROVENANCE)
    )
    return f"""(
        SELECT event_id, name, type, value_string, value_integer, value_float, value_boolean,
               value_time, seq FROM event_attributes
        UNION ALL
        SELECT e.event_id, p.name, p.type,
               CASE p.k WHEN 0 THEN e.source WHEN 1 THEN e.source_file END,
               CASE p.k WHEN 2 THEN e.source_row END,
               NULL::DOUBLE, NULL::BOOLEAN, NULL::TIMESTAMPTZ, {base} + p.k
        FROM events e CROSS JOIN (VALUES {names}) p(name, type, k)
        WHERE {_foreign("e.source")}
          AND (p.k = 0 OR (p.k = 1 AND e.source_file IS NOT NULL)
               OR (p.k = 2 AND e.source_row IS NOT NULL))
    )"""


def restore_provenance(
    con: duckdb.DuckDBPyConnection, *, events_from: int, attributes_from: int
) -> None:
    """Move the :data:`PROVENANCE` attributes of the events just read back into their columns.

    Looks at the ``events`` rows from seq ``events_from`` and the ``event_attributes`` rows from
    seq ``attributes_from`` (what one read added). Each such event with a ``miner:source`` value
    gets ``source``, ``source_file`` and ``source_row`` from its attributes (NULL where one is
    absent); those attributes are removed, the remaining attribute rows renumbered densely, and
    the attributes' declarations dropped from the event types involved (a type left without any
    declaration gets the row that says it has no attributes). Runs inside the caller's transaction.
    """
    a, e = int(attributes_from), int(events_from)
    found = con.execute(
        f"SELECT 1 FROM event_attributes WHERE seq >= {a} AND name = 'miner:source' "
        "AND value_string IS NOT NULL LIMIT 1"
    ).fetchall()
    if not found:
        return
    row = "coalesce(value_integer, TRY_CAST(value_string AS BIGINT))"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _miner_provenance AS
        SELECT event_id,
               any_value(value_string) FILTER (WHERE name = 'miner:source') AS source,
               any_value(value_string) FILTER (WHERE name = 'miner:source_file') AS source_file,
               any_value({row}) FILTER (WHERE name = 'miner:source_row') AS source_row
        FROM event_attributes WHERE seq >= {a} AND name IN ({_PROVENANCE_NAMES})
        GROUP BY event_id HAVING source IS NOT NULL
        """
    )
    try:
        con.execute(
            f"""
            UPDATE events SET source = p.source, source_file = p.source_file,
                              source_row = p.source_row
            FROM _miner_provenance p WHERE events.event_id = p.event_id AND events.seq >= {e}
            """
        )
        drop = (
            f"name IN ({_PROVENANCE_NAMES}) "
            "AND event_id IN (SELECT event_id FROM _miner_provenance)"
        )
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _miner_kept AS
            SELECT * EXCLUDE (seq), {a} + row_number() OVER (ORDER BY seq) - 1 AS seq
            FROM event_attributes WHERE seq >= {a} AND NOT ({drop})
            """
        )
        con.execute(f"DELETE FROM event_attributes WHERE seq >= {a}")
        con.execute("INSERT INTO event_attributes SELECT * FROM _miner_kept")
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _miner_types AS
            SELECT DISTINCT event_type FROM events
            WHERE seq >= {e} AND event_id IN (SELECT event_id FROM _miner_provenance)
            """
        )
        con.execute(
            f"DELETE FROM event_types WHERE attribute IN ({_PROVENANCE_NAMES}) "
            "AND event_type IN (SELECT event_type FROM _miner_types)"
        )
        con.execute(
            "INSERT INTO event_types SELECT t.event_type, NULL, NULL FROM _miner_types t "
            "WHERE NOT EXISTS (SELECT 1 FROM event_types d WHERE d.event_type = t.event_type)"
        )
    finally:
        for table in ("_miner_provenance", "_miner_kept", "_miner_types"):
            con.execute(f"DROP TABLE IF EXISTS {table}")


def declarations(con: duckdb.DuckDBPyConnection, kind: str) -> dict[str, list[tuple[str, str]]]:
    """The types of ``kind`` ("event" or "object") with their attributes, to write as declarations.

    Types in name order, each with its declared attributes; attributes that occur in the data
    without a declaration are appended (typed by their values, ``string`` when those disagree),
    and types that occur in the data without a declaration are added. Event attributes include
    the provenance of :func:`event_attributes_sql`.
    """
    table, key = ("events", "event_id") if kind == "event" else ("objects", "object_id")
    values = event_attributes_sql(con) if kind == "event" else "object_attributes"
    rows = con.execute(
        f"""
        WITH declared AS (
            SELECT {kind}_type AS t, attribute AS a, type AS ty FROM {kind}_types
        ),
        used AS (
            SELECT x.{kind}_type AS t, v.name AS a,
                   CASE WHEN count(DISTINCT {ocel_type_sql("v.type")}) = 1
                        THEN any_value({ocel_type_sql("v.type")}) ELSE 'string' END AS ty
            FROM {values} v JOIN {table} x USING ({key})
            GROUP BY ALL
        ),
        present AS (SELECT DISTINCT {kind}_type AS t FROM {table})
        SELECT t, a, ty, 0 AS k FROM declared
        UNION ALL
        SELECT u.t, u.a, u.ty, 1 FROM used u
            WHERE NOT EXISTS (SELECT 1 FROM declared d WHERE d.t = u.t AND d.a = u.a)
        UNION ALL
        SELECT p.t, NULL, NULL, 2 FROM present p
            WHERE NOT EXISTS (SELECT 1 FROM declared d WHERE d.t = p.t)
        ORDER BY t, k, a
        """
    ).fetchall()
    result: dict[str, list[tuple[str, str]]] = {}
    for type_name, attribute, value_type, _ in rows:
        attributes = result.setdefault(type_name, [])
        if attribute is not None and all(attribute != name for name, _ in attributes):
            attributes.append((attribute, value_type or "string"))
    return result


class Emitter:
    """Turns parsed OCEL 2.0 records into canonical rows for a sink; shared by the three readers.

    ``where`` arguments name the record's position for error messages (``"events[12]"``,
    ``"line 40"``, ``"table event, row 7"``).
    """

    def __init__(self, path: Path, sink: TableSink, source: str) -> None:
        self.path = path
        self.sink = sink
        self.source = source
        self.event_types: dict[str, dict[str, str]] = {}
        self.object_types: dict[str, dict[str, str]] = {}

    def fail(self, where: str, message: str) -> InputError:
        """An InputError naming the file and ``where``."""
        return InputError(f"{self.path}: {where}: {message}")

    def declare(self, kind: str, type_name: str, attributes: list[tuple[str, str]]) -> None:
        """Record a declared event or object type with its ``(attribute, type)`` pairs."""
        table = self.event_types if kind == "event" else self.object_types
        declared = table.setdefault(type_name, {})
        if not attributes:
            self.sink.add(f"{kind}_types", (type_name, None, None))
        for name, value_type in attributes:
            declared.setdefault(name, value_type)
            self.sink.add(f"{kind}_types", (type_name, name, value_type))

    def value(self, where: str, declared: str | None, name: str, raw: Any) -> ValueRow:
        """:func:`typed_value`, failing with an InputError that names the place."""
        try:
            return typed_value(declared, raw)
        except (TypeError, ValueError) as exc:
            raise self.fail(
                where,
                f"attribute {name!r}: {exc} (declared {declared}). Fix the value or its "
                "declared type; nothing was imported.",
            ) from None

    def time(self, where: str, what: str, text: Any) -> int:
        """:func:`parse_time`, failing with an InputError that names the place."""
        if not isinstance(text, str):
            raise self.fail(where, f"{what} is {text!r}, not an ISO 8601 timestamp text.")
        try:
            return parse_time(text)
        except ValueError as exc:
            raise self.fail(
                where, f"{what}: {exc}. Write it like 2023-04-05T15:28:14Z; nothing was imported."
            ) from None

    def event(
        self,
        where: str,
        row: int,
        ident: Any,
        type_name: Any,
        time_text: Any,
        attributes: Iterable[tuple[str, Any]],
        relationships: Iterable[tuple[Any, Any]],
    ) -> None:
        """Add one event with its attribute values and its E2O links."""
        event_id = self.ident(where, "event id", ident)
        event_type = self.ident(where, "event type", type_name)
        timestamp = self.time(where, f"event {event_id!r}: time", time_text)
        self.sink.add("events", (event_id, event_type, timestamp, self.source, self.path.name, row))
        declared = self.event_types.get(event_type, {})
        for name, raw in attributes:
            typed = self.value(f"{where} (event {event_id!r})", declared.get(name), name, raw)
            self.sink.add("event_attributes", (event_id, name, *typed))
        self.sink.add_many("event_objects", self.links(where, event_id, relationships))

    def object(
        self,
        where: str,
        ident: Any,
        type_name: Any,
        attributes: Iterable[tuple[str, Any, Any]],
        relationships: Iterable[tuple[Any, Any]],
    ) -> None:
        """Add one object with its ``(name, time, value)`` attribute rows and its O2O links.

        A missing attribute time means the initial value (1970-01-01T00:00:00Z).
        """
        object_id = self.ident(where, "object id", ident)
        object_type = self.ident(where, "object type", type_name)
        self.sink.add("objects", (object_id, object_type))
        declared = self.object_types.get(object_type, {})
        for name, time_text, raw in attributes:
            at = f"{where} (object {object_id!r})"
            moment = (
                EPOCH_US
                if time_text is None
                else self.time(at, f"attribute {name!r} time", time_text)
            )
            typed = self.value(at, declared.get(name), name, raw)
            self.sink.add("object_attributes", (object_id, name, moment, *typed))
        self.sink.add_many("object_objects", self.links(where, object_id, relationships))

    def links(
        self, where: str, source: str, relationships: Iterable[tuple[Any, Any]]
    ) -> list[tuple[str, str, str]]:
        """``(source, target, qualifier)`` rows; a missing qualifier is the empty text."""
        return [
            (
                source,
                target if type(target) is str and target else self.ident(where, "objectId", target),
                qualifier if type(qualifier) is str else _qualifier(qualifier),
            )
            for target, qualifier in relationships
        ]

    def ident(self, where: str, what: str, value: Any) -> str:
        """An id or type name as text (JSON numbers are accepted); empty or missing fails."""
        if isinstance(value, str) and value != "":
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        found = "missing" if value is None else f"{value!r}"
        raise self.fail(where, f"the {what} is {found}; OCEL 2.0 requires a non-empty text.")


def _qualifier(value: Any) -> str:
    return "" if value is None else _as_text(value)


def fetch_rows(log: Log, sql: str) -> Iterator[tuple[Any, ...]]:
    """Rows of ``sql`` fetched in chunks on a cursor of their own."""
    cursor = log.con.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(_CHUNK):
            yield from rows
    finally:
        cursor.close()


def merge_children(
    parents: Iterator[tuple[Any, ...]], *children: Iterator[tuple[Any, ...]]
) -> Iterator[tuple[tuple[Any, ...], list[list[tuple[Any, ...]]]]]:
    """Pair each parent row (``seq`` first) with its child rows (parent ``seq`` first), in order."""
    heads: list[tuple[Any, ...] | None] = [next(c, None) for c in children]
    for parent in parents:
        groups: list[list[tuple[Any, ...]]] = []
        for i, child in enumerate(children):
            group = []
            while heads[i] is not None and heads[i][0] == parent[0]:  # type: ignore[index]
                group.append(heads[i][1:])  # type: ignore[index]
                heads[i] = next(child, None)
            groups.append(group)
        yield parent, groups


def object_records(
    log: Log, *, target_types: bool = False
) -> Iterator[tuple[tuple[Any, ...], list[list[tuple[Any, ...]]]]]:
    """Each object ``(seq, id, type)`` in read order with its attribute rows ``(seq, name, time,
    value)`` and O2O rows ``(seq, target, qualifier[, target type])``, as writers need them."""
    target = ", t.object_type" if target_types else ""
    join = " LEFT JOIN objects t ON t.object_id = l.target_id" if target_types else ""
    return merge_children(
        fetch_rows(log, "SELECT seq, object_id, object_type FROM objects ORDER BY seq"),
        fetch_rows(
            log,
            f"SELECT o.seq, a.name, {time_sql('a.time')}, {value_text_sql('a')} "
            "FROM object_attributes a JOIN objects o USING (object_id) ORDER BY o.seq, a.seq",
        ),
        fetch_rows(
            log,
            f"SELECT o.seq, l.target_id, l.qualifier{target} FROM object_objects l "
            f"JOIN objects o ON o.object_id = l.source_id{join} ORDER BY o.seq, l.seq",
        ),
    )


def event_records(
    log: Log, *, target_types: bool = False
) -> Iterator[tuple[tuple[Any, ...], list[list[tuple[Any, ...]]]]]:
    """Each event ``(seq, id, type, time)`` in read order with its attribute rows ``(seq, name,
    value)`` and E2O rows ``(seq, object, qualifier[, object type])``, as writers need them."""
    target = ", t.object_type" if target_types else ""
    join = " LEFT JOIN objects t ON t.object_id = l.object_id" if target_types else ""
    values = event_attributes_sql(log.con)
    return merge_children(
        fetch_rows(
            log,
            f"SELECT seq, event_id, event_type, {time_sql('timestamp')} FROM events ORDER BY seq",
        ),
        fetch_rows(
            log,
            f"SELECT e.seq, a.name, {value_text_sql('a')} "
            f"FROM {values} a JOIN events e USING (event_id) ORDER BY e.seq, a.seq",
        ),
        fetch_rows(
            log,
            f"SELECT e.seq, l.object_id, l.qualifier{target} FROM event_objects l "
            f"JOIN events e USING (event_id){join} ORDER BY e.seq, l.seq",
        ),
    )
