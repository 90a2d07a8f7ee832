"""OCEL 2.0 SQLite: a reader and a writer for the standard's table layout.

The layout: ``event`` (ocel_id, ocel_type) and ``object`` (ocel_id, ocel_type); ``event_map_type``
and ``object_map_type`` map each type to the suffix of its table; ``event_<Map>`` holds ocel_id,
ocel_time and one column per attribute; ``object_<Map>`` holds ocel_id, ocel_time,
ocel_changed_field and one column per attribute, where the row with ocel_changed_field NULL holds
the initial values and every other row one change of the named field; ``event_object`` and
``object_object`` hold the links with ocel_qualifier. A column's declared SQL type is the
attribute's declared type.
"""

from __future__ import annotations

import heapq
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from miner.errors import InputError
from miner.formats._input import check_file
from miner.formats._ocel2_common import (
    Emitter,
    declarations,
    event_attributes_sql,
    fetch_rows,
    merge_children,
    time_sql,
)
from miner.model.loading import TableSink
from miner.model.log import Log
from miner.progress import Progress

_BASE_TABLES = (
    "event",
    "object",
    "event_map_type",
    "object_map_type",
    "event_object",
    "object_object",
)
_OWN_COLUMNS = {"ocel_id", "ocel_time", "ocel_changed_field"}
_SQL_TYPE = {
    "string": "TEXT",
    "integer": "INTEGER",
    "float": "REAL",
    "boolean": "BOOLEAN",
    "time": "TIMESTAMP",
}
_BATCH = 10_000


def _ocel_type(decltype: str) -> str:
    """The OCEL 2.0 type of a column, by SQLite's affinity rules on its declared type."""
    upper = decltype.upper()
    if "BOOL" in upper:
        return "boolean"
    if "INT" in upper:
        return "integer"
    if any(k in upper for k in ("REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL")):
        return "float"
    if "TIME" in upper or upper == "DATE":
        return "time"
    return "string"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tagged(tag: tuple[Any, ...], rows: Iterator[Any]) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        yield (*tag, row)


class _Reader:
    def __init__(self, path: Path, sink: TableSink) -> None:
        self.path = path
        self.emitter = Emitter(path, sink, "ocel2-sqlite")
        self.sink = sink
        check_file(path)
        with open(path, "rb") as head:
            if head.read(16) != b"SQLite format 3\x00":
                raise InputError(
                    f"{path}: byte 0: not an SQLite database (the file does not start with "
                    "'SQLite format 3'). Is it an OCEL 2.0 JSON or XML file?"
                )
        self.con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            self.tables = self.table_names()
        except InputError:
            self.con.close()
            raise

    def table_names(self) -> set[str]:
        tables = {
            r[0]
            for r in self.query(
                "sqlite_master", "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
            )
        }
        missing = [t for t in _BASE_TABLES if t not in tables]
        if missing:
            raise InputError(
                f"{self.path}: table {missing[0]}: missing (the file lacks "
                f"{', '.join(missing)}); not an OCEL 2.0 SQLite log."
            )
        return tables

    def query(self, table: str, sql: str, params: tuple[Any, ...] = ()) -> Iterator[Any]:
        try:
            cursor = self.con.execute(sql, params)
            while rows := cursor.fetchmany(_BATCH):
                yield from rows
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.path}: table {table}: cannot read it ({exc}).") from None

    def types(self, kind: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
        """``(type, table, [(attribute, OCEL type)])`` per mapped type, declared to the emitter."""
        result = []
        for type_name, suffix in list(
            self.query(
                f"{kind}_map_type",
                f"SELECT ocel_type, ocel_type_map FROM {kind}_map_type ORDER BY rowid",
            )
        ):
            table = f"{kind}_{suffix}"
            if table not in self.tables:
                raise InputError(
                    f"{self.path}: table {table}: missing; {kind}_map_type maps {kind} type "
                    f"{type_name!r} to it."
                )
            info = list(self.query(table, f"PRAGMA table_info({_q(table)})"))
            names = {r[1] for r in info}
            needed = {"ocel_id", "ocel_time"}
            if not needed <= names:
                raise InputError(f"{self.path}: table {table}: lacks column ocel_id or ocel_time.")
            attrs = [(r[1], _ocel_type(r[2] or "")) for r in info if r[1] not in _OWN_COLUMNS]
            self.emitter.declare(
                kind, self.emitter.ident(f"table {kind}_map_type", f"{kind} type", type_name), attrs
            )
            result.append((type_name, table, attrs))
        return result

    def unmapped(self, kind: str) -> None:
        row = next(
            self.query(
                kind,
                f"SELECT rowid, ocel_id, ocel_type FROM {kind} WHERE ocel_type IS NULL "
                f"OR ocel_type NOT IN (SELECT ocel_type FROM {kind}_map_type) LIMIT 1",
            ),
            None,
        )
        if row is not None:
            raise InputError(
                f"{self.path}: table {kind}, row {row[0]}: {kind} {row[1]!r} has type {row[2]!r}, "
                f"which {kind}_map_type does not list (so it has no {kind}_<Type> table)."
            )

    def events(self) -> None:
        self.unmapped("event")
        streams = []
        for type_name, table, attrs in self.types("event"):
            values = ", ".join(f"t.{_q(a)}" for a, _ in attrs)
            sql = (
                f"SELECT e.rowid, e.ocel_id, t.rowid, t.ocel_time, json_array({values}) "
                f"FROM event e LEFT JOIN {_q(table)} t ON t.ocel_id = e.ocel_id "
                "WHERE e.ocel_type = ? ORDER BY e.rowid"
            )
            rows = self.query(table, sql, (type_name,))
            streams.append(_tagged((type_name, table, [a for a, _ in attrs]), rows))
        previous = None
        for type_name, table, names, (rowid, ident, trow, time_text, values) in heapq.merge(
            *streams, key=lambda r: r[3][0]
        ):
            where = f"table event, row {rowid}"
            if trow is None:
                raise InputError(
                    f"{self.path}: {where}: event {ident!r} has no row in table {table}, "
                    "so it has no time."
                )
            if rowid == previous:
                raise InputError(
                    f"{self.path}: table {table}: event {ident!r} (table event, row {rowid}) "
                    "has more than one row."
                )
            previous = rowid
            attrs = [(n, v) for n, v in zip(names, json.loads(values)) if v is not None]
            self.emitter.event(
                f"{where} ({table}, row {trow})", rowid, ident, type_name, time_text, attrs, ()
            )

    def objects(self) -> None:
        self.unmapped("object")
        streams = []
        for type_name, table, attrs in self.types("object"):
            columns = {r[1] for r in self.query(table, f"PRAGMA table_info({_q(table)})")}
            changed = "t.ocel_changed_field" if "ocel_changed_field" in columns else "NULL"
            values = ", ".join(f"t.{_q(a)}" for a, _ in attrs)
            sql = (
                f"SELECT o.rowid, o.ocel_id, t.rowid, t.ocel_time, {changed}, json_array({values}) "
                f"FROM object o LEFT JOIN {_q(table)} t ON t.ocel_id = o.ocel_id "
                "WHERE o.ocel_type = ? ORDER BY o.rowid, t.rowid"
            )
            rows = self.query(table, sql, (type_name,))
            streams.append(_tagged((type_name, [a for a, _ in attrs]), rows))
        current: list[Any] = []
        for item in heapq.merge(*streams, key=lambda r: r[2][0]):
            if current and current[0][2][0] != item[2][0]:
                self.object(current)
                current = []
            current.append(item)
        if current:
            self.object(current)

    def object(self, rows: list[Any]) -> None:
        type_name, names, (rowid, ident, _, _, _, _) = rows[0]
        attrs: list[tuple[str, Any, Any]] = []
        for _, _, (_, _, trow, time_text, changed, values) in rows:
            if trow is None:
                continue
            cells = dict(zip(names, json.loads(values)))
            if changed is None:
                attrs.extend((n, None, v) for n, v in cells.items() if v is not None)
            else:
                attrs.append((changed, time_text, cells.get(changed)))
        self.emitter.object(f"table object, row {rowid}", ident, type_name, attrs, ())

    def links(self) -> None:
        for table, target in (
            ("event_object", "event_objects"),
            ("object_object", "object_objects"),
        ):
            first, second = (
                ("ocel_event_id", "ocel_object_id")
                if table == "event_object"
                else ("ocel_source_id", "ocel_target_id")
            )
            sql = f"SELECT rowid, {first}, {second}, ocel_qualifier FROM {table} ORDER BY rowid"
            for rowid, a, b, qualifier in self.query(table, sql):
                where = f"table {table}, row {rowid}"
                self.sink.add(
                    target,
                    (
                        self.emitter.ident(where, first, a),
                        self.emitter.ident(where, second, b),
                        "" if qualifier is None else str(qualifier),
                    ),
                )


def read_ocel2_sqlite(path: Path, sink: TableSink, *, progress: Progress | None = None) -> None:
    """Read an OCEL 2.0 SQLite log into the canonical tables.

    Events keep the ``event`` table's order (``source_row`` = its rowid). Each ``object_<Map>``
    row with ``ocel_changed_field`` NULL gives the object's initial values (time
    1970-01-01T00:00:00Z); every other row gives one change of the named field at ``ocel_time``
    (kept even when the new value is NULL). Every link row is kept.

    Raises:
        InputError: the file is missing, empty, not SQLite, lacks a table, or a value or time
            cannot be read; the message names the file, the table and the row.

    Example:
        >>> from miner.model.log import connect
        >>> log = connect(None)
        >>> sink = TableSink(log.con)
        >>> read_ocel2_sqlite(Path("log.sqlite"), sink)  # doctest: +SKIP
        >>> sink.commit(what="log.sqlite")  # doctest: +SKIP
    """
    reader = _Reader(path, sink)
    try:
        reader.objects()
        reader.events()
        reader.links()
    finally:
        reader.con.close()
    if progress is not None:
        progress(path.stat().st_size)


def _table_names(types: list[str]) -> dict[str, str]:
    """pm4py's table-name rule: capitalised words without other characters, unique ignoring case."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for name in types:
        base = re.sub(r"[^0-9a-zA-Z]+", "", "".join(w.capitalize() for w in name.split(" ")))[:100]
        candidate, suffix = base or "Type", 2
        while candidate.casefold() in used:
            candidate, suffix = f"{base or 'Type'}_{suffix}", suffix + 1
        used.add(candidate.casefold())
        mapping[name] = candidate
    return mapping


_VALUE_COLUMNS = "a.type, a.value_string, a.value_integer, a.value_float, a.value_boolean, "


def _native(kind: str, text: Any, integer: Any, real: Any, boolean: Any, time: Any) -> Any:
    if kind == "integer":
        return integer
    if kind == "float":
        return real
    if kind == "boolean":
        return None if boolean is None else int(boolean)
    if kind == "time":
        return time
    return text


class _Writer:
    def __init__(self, log: Log, out: sqlite3.Connection) -> None:
        self.log = log
        self.out = out
        self.pending: dict[str, list[tuple[Any, ...]]] = {}
        self.columns: dict[str, dict[str, str]] = {}

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        rows = self.pending.setdefault(table, [])
        rows.append(row)
        if len(rows) >= _BATCH:
            self.flush(table)

    def flush(self, table: str | None = None) -> None:
        for name in [table] if table else list(self.pending):
            rows = self.pending.pop(name, [])
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                self.out.executemany(f"INSERT INTO {_q(name)} VALUES ({marks})", rows)

    def create(self, kind: str) -> dict[str, str]:
        declared = declarations(self.log.con, kind)
        names = _table_names(sorted(declared))
        self.out.execute(f"CREATE TABLE {kind}_map_type (ocel_type TEXT, ocel_type_map TEXT)")
        for type_name in sorted(declared):
            table = f"{kind}_{names[type_name]}"
            self.out.execute(
                f"INSERT INTO {kind}_map_type VALUES (?, ?)", (type_name, names[type_name])
            )
            attrs = [(a, t) for a, t in declared[type_name] if a not in _OWN_COLUMNS]
            columns = ["ocel_id TEXT", "ocel_time TIMESTAMP"]
            columns += [f"{_q(a)} {_SQL_TYPE.get(t, 'TEXT')}" for a, t in attrs]
            if kind == "object":
                columns.append("ocel_changed_field TEXT")
            self.out.execute(f"CREATE TABLE {_q(table)} ({', '.join(columns)})")
            self.columns[table] = {a: t for a, t in attrs}
        return {t: f"{kind}_{names[t]}" for t in declared}

    def events(self, tables: dict[str, str]) -> None:
        events = fetch_rows(
            self.log,
            f"SELECT seq, event_id, event_type, {time_sql('timestamp')} FROM events ORDER BY seq",
        )
        values = fetch_rows(
            self.log,
            f"SELECT e.seq, a.name, {_VALUE_COLUMNS}{time_sql('a.value_time')} "
            f"FROM {event_attributes_sql(self.log.con)} a JOIN events e USING (event_id) "
            "ORDER BY e.seq, a.seq",
        )
        for (_, eid, etype, etime), (attrs,) in merge_children(events, values):
            self.add("event", (eid, etype))
            table = tables[etype]
            cells = {name: _native(*rest) for name, *rest in attrs}
            self.add(table, (eid, etime, *(cells.get(a) for a in self.columns[table])))

    def objects(self, tables: dict[str, str]) -> None:
        objects = fetch_rows(
            self.log, "SELECT seq, object_id, object_type FROM objects ORDER BY seq"
        )
        values = fetch_rows(
            self.log,
            f"SELECT o.seq, a.name, epoch_us(a.time) = 0, {time_sql('a.time')}, "
            f"{_VALUE_COLUMNS}{time_sql('a.value_time')} "
            "FROM object_attributes a JOIN objects o USING (object_id) ORDER BY o.seq, a.seq",
        )
        for (_, oid, otype), (attrs,) in merge_children(objects, values):
            self.add("object", (oid, otype))
            table = tables[otype]
            names = list(self.columns[table])
            initial: list[dict[str, Any]] = []
            changes = []
            for name, at_epoch, time_text, *value in attrs:
                if at_epoch:
                    row = next((r for r in initial if name not in r), None)
                    if row is None:
                        initial.append(row := {})
                    row[name] = _native(*value)
                else:
                    changes.append((name, time_text, _native(*value)))
            for cells in initial or [{}]:
                self.add(table, (oid, "1970-01-01T00:00:00Z", *(cells.get(a) for a in names), None))
            for name, time_text, cell in changes:
                row_cells = (cell if a == name else None for a in names)
                self.add(table, (oid, time_text, *row_cells, name))

    def links(self) -> None:
        self.out.execute(
            "CREATE TABLE event_object "
            "(ocel_event_id TEXT, ocel_object_id TEXT, ocel_qualifier TEXT)"
        )
        self.out.execute(
            "CREATE TABLE object_object "
            "(ocel_source_id TEXT, ocel_target_id TEXT, ocel_qualifier TEXT)"
        )
        for table, sql in (
            (
                "event_object",
                "SELECT event_id, object_id, qualifier FROM event_objects ORDER BY seq",
            ),
            (
                "object_object",
                "SELECT source_id, target_id, qualifier FROM object_objects ORDER BY seq",
            ),
        ):
            for row in fetch_rows(self.log, sql):
                self.add(table, row)


def write_ocel2_sqlite(log: Log, path: Path, *, progress: Progress | None = None) -> None:
    """Write the log as an OCEL 2.0 SQLite database in the standard layout (replacing ``path``).

    Each object gets one ``object_<Map>`` row with ``ocel_changed_field`` NULL for its initial
    values (more if it has several initial values for one attribute) and one row per change.
    Times are ISO 8601 UTC text. Table suffixes follow pm4py's naming of types. The database is
    built next to ``path`` and moved into place when complete.

    Args:
        log: the log to write.
        path: the output database, replaced if it exists.
        progress: called with the size of the database once written.

    Example:
        >>> write_ocel2_sqlite(log, Path("out.sqlite"))  # doctest: +SKIP
    """
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    out = sqlite3.connect(partial)
    try:
        out.execute("CREATE TABLE event (ocel_id TEXT, ocel_type TEXT)")
        out.execute("CREATE TABLE object (ocel_id TEXT, ocel_type TEXT)")
        writer = _Writer(log, out)
        event_tables = writer.create("event")
        object_tables = writer.create("object")
        writer.objects(object_tables)
        writer.events(event_tables)
        writer.links()
        writer.flush()
        out.commit()
    finally:
        out.close()
    partial.replace(path)
    if progress is not None:
        progress(path.stat().st_size)
