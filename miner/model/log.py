"""The :class:`Log`: an object-centric event log held in one DuckDB database.

A *workspace* is a DuckDB database file that holds the canonical tables (see
:mod:`miner.model.schema`). A log read from a file without a workspace lives in an in-memory DuckDB
database that spills to a temporary directory when it outgrows memory.

DuckDB may use up to 80 % of the machine's memory before it spills. The environment variable
``MINER_MEMORY_LIMIT`` (a DuckDB size such as ``4GB``) caps every connection miner opens; beyond the
cap DuckDB spills to disk (beside a workspace file: ``<workspace>.tmp``), so a 10^8-event workspace
is analysed in a few GB (docs/scaling.md).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from miner.errors import CaseNotionError, UnknownNameError, WorkspaceError
from miner.model.schema import CANONICAL_TABLES, create_table_sql

MEMORY_LIMIT_ENV = "MINER_MEMORY_LIMIT"


def first_row(result: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """The first row of an executed query, reading the result to its end (DuckDB 2 refuses new
    work on a connection with an unfinished result)."""
    rows = result.fetchall()
    return rows[0] if rows else None


@dataclass(frozen=True, eq=False)
class Log:
    """An object-centric event log: a handle on the canonical tables in a DuckDB database.

    ``con`` is the DuckDB connection; ``path`` the workspace file, or None for a log in memory.
    Query the tables directly for ad-hoc work, e.g. ``log.con.sql("FROM events").df()``.
    """

    con: duckdb.DuckDBPyConnection
    path: Path | None = None

    def count(self, table: str) -> int:
        """Number of rows in one canonical table."""
        if table not in CANONICAL_TABLES:
            raise UnknownNameError("table", table, CANONICAL_TABLES)
        row = first_row(self.con.execute(f"SELECT count(*) FROM {table}"))
        return int(row[0]) if row else 0

    def object_types(self) -> list[str]:
        """Object types that have at least one object, sorted."""
        rows = self.con.execute("SELECT DISTINCT object_type FROM objects ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    def resolve_object_type(self, object_type: str | None) -> str:
        """The case notion to flatten on: ``object_type`` itself, checked, or the only type there is."""
        types = self.object_types()
        if object_type is None:
            if len(types) == 1:
                return types[0]
            if not types:
                raise WorkspaceError(
                    "the log has no objects, so it has no case notion to flatten on"
                )
            shown = ", ".join(repr(t) for t in types)
            raise CaseNotionError(
                f"this log has {len(types)} object types ({shown}); choose the case notion with "
                "--object-type T (object_type=... in Python)"
            )
        if object_type not in types:
            raise UnknownNameError("object type", object_type, types)
        return object_type

    def close(self) -> None:
        self.con.close()


def connect(path: str | Path | None = None, *, read_only: bool = False) -> Log:
    """Open (or create) a workspace file, or an in-memory log when ``path`` is None."""
    try:
        if path is None:
            con = duckdb.connect(":memory:")
            con.execute(f"SET temp_directory = '{tempfile.gettempdir()}/miner-duckdb-spill'")
        else:
            path = Path(path)
            con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise WorkspaceError(
            f"{path}: cannot open as a DuckDB workspace ({exc}). Is it a DuckDB file, "
            "and is no other process writing to it?"
        ) from exc
    con.execute("SET enable_progress_bar = false")  # miner shows its own progress, on a terminal
    limit = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if limit:
        try:
            con.execute("SET memory_limit = ?", [limit])
        except duckdb.Error as exc:
            con.close()
            raise WorkspaceError(
                f"{MEMORY_LIMIT_ENV}={limit!r} is not a memory size DuckDB accepts ({exc}). "
                "Use a number with a unit, e.g. 4GB or 500MB.") from exc
    if not read_only:
        for table in CANONICAL_TABLES:
            con.execute(create_table_sql(table))
    return Log(con=con, path=Path(path) if path is not None else None)
