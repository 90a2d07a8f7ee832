"""Reading and writing logs: the format is chosen by the file's extension.

==========================  ===========================  ======
extension                   format                       write
==========================  ===========================  ======
.jsonocel .json .json.gz    OCEL 2.0 JSON                yes
.xmlocel .xml .xml.gz       OCEL 2.0 XML                 yes
.sqlite .sqlite3 .db        OCEL 2.0 SQLite              yes
.xes .xes.gz                XES (IEEE 1849)              yes (case notion needed)
.csv .csv.gz .parquet       event table + ColumnMapping  no
.duckdb                     miner workspace              yes (import)
==========================  ===========================  ======
"""

from __future__ import annotations

import importlib
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from miner.errors import InputError, MinerError, UnknownNameError
from miner.formats._ocel2_common import restore_provenance
from miner.formats.tables import ColumnMapping, read_table
from miner.model.case_index import build_case_index
from miner.model.loading import TableSink
from miner.model.log import Log, connect
from miner.progress import progress_bar

_JSON = ("OCEL 2.0 JSON", "ocel2_json:read_ocel2_json", "ocel2_json:write_ocel2_json")
_XML = ("OCEL 2.0 XML", "ocel2_xml:read_ocel2_xml", "ocel2_xml:write_ocel2_xml")
_SQLITE = ("OCEL 2.0 SQLite", "ocel2_sqlite:read_ocel2_sqlite", "ocel2_sqlite:write_ocel2_sqlite")
_XES = ("XES", "xes_read:read_xes", "xes_write:write_xes")
#: extension → (format name, "module:reader", "module:writer"), modules in miner.formats
FORMATS: dict[str, tuple[str, str, str]] = {
    ".jsonocel": _JSON, ".json": _JSON, ".json.gz": _JSON, ".jsonocel.gz": _JSON,
    ".xmlocel": _XML, ".xml": _XML, ".xml.gz": _XML, ".xmlocel.gz": _XML,
    ".sqlite": _SQLITE, ".sqlite3": _SQLITE, ".db": _SQLITE,
    ".xes": _XES, ".xes.gz": _XES,
}
TABLE_EXTENSIONS = (".csv", ".csv.gz", ".parquet")
WORKSPACE_EXTENSION = ".duckdb"


def extension(path: Path) -> str:
    """The format extension of ``path``: the last suffix, or the last two for ``.gz`` files."""
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] == ".gz":
        return "".join(suffixes[-2:])
    return suffixes[-1] if suffixes else ""


def _function(ext: str, path: Path, role: int) -> Callable[..., Any]:
    known = [*FORMATS, *TABLE_EXTENSIONS, WORKSPACE_EXTENSION]
    if ext not in FORMATS:
        raise UnknownNameError(f"file extension (of {path})", ext or "(none)", known)
    module_name, _, name = FORMATS[ext][role].partition(":")
    module = importlib.import_module(f"miner.formats.{module_name}")
    function: Callable[..., Any] = getattr(module, name)
    return function


def load(path: str | Path, into: Log, *, mapping: ColumnMapping | None = None,
         _new: bool = False) -> dict[str, int]:
    """Read one file into the log ``into`` (appending); returns rows added per table.

    The whole file is read and checked before anything is added: on any error ``into`` is as it
    was. Raises :class:`~miner.errors.InputError` (and subclasses) for unreadable input.
    (``_new``: ``into`` was just created for this file and is closed if reading fails, so rows
    go straight into its tables, without a staging copy.)

    Events that carry the provenance attributes an OCEL 2.0 export writes (``miner:source``,
    ``miner:source_file``, ``miner:source_row``, see :mod:`miner.formats._ocel2_common`) get
    those values back in ``source``, ``source_file`` and ``source_row``, and the attributes are
    dropped, in the same transaction as the rows.
    """
    path = Path(path)
    ext = extension(path)
    sink = TableSink(into.con, direct=_new)
    starts = into.con.execute(
        "SELECT (SELECT coalesce(max(seq) + 1, 0) FROM events), "
        "(SELECT coalesce(max(seq) + 1, 0) FROM event_attributes)"
    ).fetchall()[0]
    try:
        if ext in TABLE_EXTENSIONS:
            if mapping is None:
                raise InputError(
                    f"{path}: an event table needs a column mapping (which columns hold the "
                    "activity, the timestamp and the case); pass mapping=ColumnMapping(...)."
                )
            read_table(path, sink, mapping=mapping)
        elif ext == WORKSPACE_EXTENSION:
            _copy_workspace(path, sink)
        else:
            reader = _function(ext, path, 1)
            size = path.stat().st_size if path.exists() else None
            with progress_bar(f"reading {path.name}", size) as progress:
                reader(path, sink, progress=progress)
        sink.commit(
            what=str(path),
            also=lambda con: restore_provenance(
                con, events_from=int(starts[0]), attributes_from=int(starts[1])
            ),
        )
    except BaseException:
        sink.abort()
        raise
    # What queries need (successors, case rows, coded activities) is built now, not by the first query.
    build_case_index(into)
    return dict(sink.counts)


def _copy_workspace(path: Path, sink: TableSink) -> None:
    from miner.formats._input import check_file
    from miner.model.schema import CANONICAL_TABLES

    check_file(path)
    con = sink.connection
    try:
        con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS _src (READ_ONLY)")
    except Exception as exc:
        raise InputError(f"{path}: not a readable DuckDB workspace ({exc}).") from exc
    try:
        for table in CANONICAL_TABLES:
            columns = [r[0] for r in con.execute(f"DESCRIBE {sink.target[table]}").fetchall()]
            select = ", ".join(c for c in columns if c != "seq")
            if "seq" in columns:
                sink.insert_select(table, f"SELECT {select}, seq AS _s FROM _src.{table}", order_by="_s")
            else:
                sink.insert_select(table, f"SELECT {select} FROM _src.{table}", order_by=columns[0])
    finally:
        con.execute("DETACH _src")


def read(
    path: str | Path, *, workspace: str | Path | None = None, mapping: ColumnMapping | None = None
) -> Log:
    """Read a log file (any format above) into a new in-memory log, or into ``workspace``.

    A ``.duckdb`` path opens that workspace as it is. With ``workspace``, the file is appended to the
    workspace file (created if missing); the workspace must not already hold its event or object ids.
    If the import fails, an existing workspace is left as it was and one created for it is removed
    (with its ``.wal``), so no empty workspace hides the error from later commands.

    Example:
        >>> log = read("../shared/reallogs/running-example.xes")  # doctest: +SKIP
        >>> log.count("events")  # doctest: +SKIP
        42
    """
    path = Path(path)
    if workspace is None and extension(path) == WORKSPACE_EXTENSION:
        from miner.formats._input import check_file

        check_file(path)
        return connect(path)
    with _removed_if_new_and_failed(workspace):
        log = connect(workspace)
        try:
            load(path, log, mapping=mapping, _new=workspace is None)
        except BaseException:
            log.close()
            raise
    return log


@contextmanager
def _removed_if_new_and_failed(workspace: str | Path | None) -> Iterator[None]:
    """Remove the workspace file ``workspace`` (with its ``.wal`` and spill folder) if the block
    fails and the file did not exist before it; an existing workspace is not touched here (a
    failed load leaves it as it was)."""
    if workspace is None:
        yield
        return
    path = Path(workspace)
    leftovers = [p for p in (path, _beside(path, ".wal"), _beside(path, ".tmp")) if not p.exists()]
    try:
        yield
    except BaseException:
        if path in leftovers:
            for leftover in leftovers:
                if leftover.is_dir():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink(missing_ok=True)
        raise


def _beside(path: Path, suffix: str) -> Path:
    """``path`` with ``suffix`` appended to its name (DuckDB's ``ws.duckdb.wal``)."""
    return path.with_name(path.name + suffix)


def write(log: Log, path: str | Path, *, object_type: str | None = None) -> None:
    """Write ``log`` to ``path`` in the format its extension names.

    XES is case-centric, so writing XES flattens on ``object_type`` (optional when the log has one
    object type). Writing ``.duckdb`` copies the log into that workspace file (appending; a
    workspace file created for it is removed again if the copy fails).

    OCEL 2.0 output keeps the provenance of events whose ``source`` is not a reader's marker (a
    workspace made by ``miner ingest``: the partner system, the delivery file and its row) as the
    event attributes ``miner:source``, ``miner:source_file`` and ``miner:source_row``; reading
    the file puts them back in the ``events`` columns. XES output does not carry them.
    """
    path = Path(path)
    ext = extension(path)
    if ext == WORKSPACE_EXTENSION:
        with _removed_if_new_and_failed(path):
            target = connect(path)
            try:
                if log.path is not None:
                    load(log.path, target)
                else:
                    sink = TableSink(target.con)
                    try:
                        _copy_from(log, sink)
                        sink.commit(what=str(path))
                        build_case_index(target)
                    except BaseException:
                        sink.abort()
                        raise
            finally:
                target.close()
        return
    writer = _function(ext, path, 2)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(".partial-" + path.name)
    try:
        with progress_bar(f"writing {path.name}", log.count("events")) as progress:
            if FORMATS[ext][0] == "XES":
                writer(log, temporary, object_type=log.resolve_object_type(object_type), progress=progress)
            else:
                writer(log, temporary, progress=progress)
        shutil.move(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _copy_from(log: Log, sink: TableSink) -> None:
    """Stage every canonical row of an in-memory ``log`` into ``sink`` (another database)."""
    from miner.model.schema import ARROW_SCHEMAS, CANONICAL_TABLES

    for table in CANONICAL_TABLES:
        names = [f.name for f in ARROW_SCHEMAS[table] if f.name != "seq"]
        order = " ORDER BY seq" if "seq" in [f.name for f in ARROW_SCHEMAS[table]] else ""
        reader = log.con.sql(f"SELECT {', '.join(names)} FROM {table}{order}").to_arrow_reader(100_000)
        for batch in reader:
            sink.add_arrow(table, batch)


__all__ = ["FORMATS", "ColumnMapping", "MinerError", "extension", "load", "read", "write"]
