"""Loading rows into a workspace: readers stream rows into a :class:`TableSink`, which buffers them
into Arrow batches and appends them to staging tables; :meth:`TableSink.commit` checks them and moves
them into the canonical tables in one transaction. Nothing reaches the canonical tables unless the
whole input was read, so a reader that fails half-way leaves the workspace as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from miner.errors import WorkspaceError
from miner.model.log import first_row
from miner.model.schema import ARROW_SCHEMAS, CANONICAL_TABLES, create_table_sql

_BATCH_ROWS = 50_000
_UNSEQUENCED = ("event_types", "object_types", "log_meta")
_DIRECT = ("events", "event_attributes", "event_objects", "object_attributes", "object_objects")


class TableSink:
    """Buffers canonical rows and appends them in batches to staging tables.

    ``add(table, row)`` takes a tuple in the column order of ``ARROW_SCHEMAS[table]`` *without* the
    trailing ``seq``: the sink numbers rows in arrival order itself. Timestamps may be aware
    ``datetime`` values or integers (microseconds since the epoch, UTC).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, *, direct: bool = False) -> None:
        self._con = con
        self._direct = direct
        #: where each table's rows go: its staging table, or with ``direct`` the canonical table
        #: itself for the bulk tables (a new, empty log that is thrown away if reading fails).
        self.target = {t: t if direct and t in _DIRECT else f"stage_{t}" for t in CANONICAL_TABLES}
        self._first_seq: dict[str, int] = {}
        self._rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in CANONICAL_TABLES}
        self._seq: dict[str, int] = {}
        for table in CANONICAL_TABLES:
            con.execute(create_table_sql(table))
            if self.target[table] == table:
                start = first_row(con.execute(f"SELECT coalesce(max(seq) + 1, 0) FROM {table}"))
                self._seq[table] = self._first_seq[table] = int(start[0]) if start else 0
                continue
            stage = (
                create_table_sql(table)
                .replace(f"IF NOT EXISTS {table} ", f"stage_{table} ", 1)
                .replace("CREATE TABLE", "CREATE OR REPLACE TEMP TABLE", 1)
            )
            con.execute(stage)
            if table not in _UNSEQUENCED:
                start = first_row(con.execute(f"SELECT coalesce(max(seq) + 1, 0) FROM {table}"))
                self._seq[table] = int(start[0]) if start else 0
        self.counts: dict[str, int] = {t: 0 for t in CANONICAL_TABLES}

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        return self._con

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        buffer = self._rows[table]
        buffer.append(row)
        if len(buffer) >= _BATCH_ROWS:
            self.flush(table)

    def add_many(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        self._rows[table].extend(rows)
        if len(self._rows[table]) >= _BATCH_ROWS:
            self.flush(table)

    def add_arrow(self, table: str, batch: pa.Table | pa.RecordBatch) -> None:
        """Stage an Arrow batch with the table's columns in schema order without ``seq``."""
        self.flush(table)
        self._insert(
            table, pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        )

    def insert_select(self, table: str, select_sql: str, *, order_by: str, numbered: bool = False) -> int:
        """Stage the rows of ``select_sql``, numbered in ``order_by`` order; returns their number.

        ``select_sql`` yields the table's columns in schema order without ``seq`` and, when
        ``order_by`` is not one of them, that sort column last (it is dropped). For readers that
        let DuckDB do the parsing (CSV, Parquet). ``numbered=True`` says ``order_by`` already holds
        distinct integers from 1 up (a row number, gaps allowed): they give the order without a sort.
        """
        self.flush(table)
        names = [f.name for f in ARROW_SCHEMAS[table] if f.name != "seq"]
        drop = "" if order_by in names else f" EXCLUDE ({order_by})"
        start = self._seq.get(table)
        if start is None:
            sql = f"INSERT INTO {self.target[table]} SELECT *{drop} FROM ({select_sql})"
        elif numbered:
            sql = (f"INSERT INTO {self.target[table]} SELECT *{drop}, {start} + {order_by} - 1 "
                   f"FROM ({select_sql})")
        else:
            sql = (
                f"INSERT INTO {self.target[table]} SELECT *{drop}, "
                f"{start} + row_number() OVER (ORDER BY {order_by}) - 1 FROM ({select_sql})"
            )
        self._con.execute(sql)
        total_row = first_row(self._con.execute(f"SELECT count(*) FROM {self.target[table]}"))
        total = int(total_row[0]) if total_row else 0
        new = total - self.counts[table]
        if start is not None:
            if numbered and new:
                top = first_row(self._con.execute(f"SELECT max(seq) + 1 FROM {self.target[table]}"))
                self._seq[table] = int(top[0]) if top else start + new
            else:
                self._seq[table] = start + new
        self.counts[table] = total
        return new

    def commit_selects(
        self,
        selects: dict[str, str],
        *,
        what: str,
        also: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    ) -> dict[str, int]:
        """Insert the rows of one query per table straight into the canonical tables, in one
        transaction, with the checks of :meth:`commit`; returns the rows inserted per table.

        Each query yields the table's columns in schema order without ``seq``, then ``ord``: for
        sequenced tables the rows' 0-based order (dense: 0 … n-1), for the type declarations any
        sort key. For producers whose rows already sit in a database (the ingest's stage), this
        skips the staging copy.
        """
        self.flush()
        con = self._con
        events = selects.get("events")
        if events is not None:
            clash = con.execute(
                f"SELECT s.event_id FROM ({events}) s JOIN events t USING (event_id) LIMIT 5"
            ).fetchall()
            if clash:
                ids = ", ".join(repr(r[0]) for r in clash)
                raise WorkspaceError(f"{what}: the workspace already holds events with these ids: "
                                     f"{ids}. Importing the same data twice would double it.")
        inserted: dict[str, int] = {}
        con.execute("BEGIN TRANSACTION")
        try:
            for table, sql in selects.items():
                inserted[table] = self._insert_select_now(table, sql)
            if also is not None:
                also(con)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        return inserted

    def _insert_select_now(self, table: str, sql: str) -> int:
        con = self._con
        before_row = first_row(con.execute(f"SELECT count(*) FROM {table}"))
        before = int(before_row[0]) if before_row else 0
        if table in ("event_types", "object_types"):
            con.execute(f"INSERT INTO {table} SELECT DISTINCT * EXCLUDE (ord) FROM ({sql}) "
                        f"EXCEPT SELECT * FROM {table}")
        else:
            start = self._seq[table]
            where = ""
            if table == "objects":
                where = " WHERE NOT EXISTS (SELECT 1 FROM objects t WHERE t.object_id = s.object_id)"
            retyped = (first_row(con.execute(
                f"SELECT s.object_id, t.object_type, s.object_type FROM ({sql}) s JOIN objects t "
                "USING (object_id) WHERE s.object_type <> t.object_type LIMIT 1"))
                if table == "objects" else None)
            if retyped:
                raise WorkspaceError(f"object {retyped[0]!r} is {retyped[1]!r} in the workspace, "
                                     f"{retyped[2]!r} here. An object keeps one type.")
            # by position: the query's columns are the table's in schema order, then ord
            con.execute(f"INSERT INTO {table} SELECT s.* EXCLUDE (ord), {start} + s.ord "
                        f"FROM ({sql}) s{where}")
        after_row = first_row(con.execute(f"SELECT count(*) FROM {table}"))
        after = int(after_row[0]) if after_row else 0
        if table in self._seq:
            self._seq[table] = self._seq[table] + (after - before if table != "objects" else 0)
            if table == "objects":
                top = first_row(con.execute("SELECT coalesce(max(seq) + 1, 0) FROM objects"))
                self._seq[table] = int(top[0]) if top else 0
        self.counts[table] += after - before
        return after - before

    def flush(self, table: str | None = None) -> None:
        for name in [table] if table else list(CANONICAL_TABLES):
            rows = self._rows[name]
            if not rows:
                continue
            self._rows[name] = []
            fields = [f for f in ARROW_SCHEMAS[name] if f.name != "seq"]
            # Arrow converts a list of tuples as structs in C, several times faster than zip(*rows).
            self._insert(name, pa.Table.from_struct_array(pa.array(rows, type=pa.struct(fields))))

    def _insert(self, name: str, batch: pa.Table) -> None:
        schema = ARROW_SCHEMAS[name]
        if name not in _UNSEQUENCED:
            start = self._seq[name]
            batch = batch.append_column(
                schema.field("seq"), pa.array(np.arange(start, start + batch.num_rows, dtype=np.int64))
            )
            self._seq[name] = start + batch.num_rows
        batch = batch.rename_columns(schema.names).cast(schema)
        self._con.register("_miner_batch", batch)
        self._con.execute(f"INSERT INTO {self.target[name]} SELECT * FROM _miner_batch")
        self._con.unregister("_miner_batch")
        self.counts[name] += batch.num_rows

    def commit(
        self, *, what: str, also: Callable[[duckdb.DuckDBPyConnection], None] | None = None
    ) -> None:
        """Move the staged rows into the canonical tables, refusing ids the workspace already has.

        ``what`` names the input in error messages (a file path); ``also`` writes other tables in
        the same transaction (the ingest's provenance and accounting), so both land or neither.
        """
        self.flush()
        con = self._con
        clash = [] if self._direct else con.execute(
            "SELECT s.event_id FROM stage_events s JOIN events t USING (event_id) LIMIT 5"
        ).fetchall()
        if clash:
            ids = ", ".join(repr(r[0]) for r in clash)
            raise WorkspaceError(
                f"{what}: the workspace already holds events with these ids: {ids}. Importing the "
                "same data twice would double it; import into a new workspace, or leave out the "
                "file imported before."
            )
        retyped = con.execute(
            "SELECT s.object_id, t.object_type, s.object_type FROM stage_objects s "
            "JOIN objects t USING (object_id) WHERE s.object_type <> t.object_type LIMIT 5"
        ).fetchall()
        if retyped:
            shown = "; ".join(f"{o!r} is {old!r} there, {new!r} here" for o, old, new in retyped)
            raise WorkspaceError(
                f"{what}: objects already in the workspace with another type: {shown}. An object "
                "keeps one type; check the object columns of the mapping."
            )
        con.execute("BEGIN TRANSACTION")
        try:
            for table in CANONICAL_TABLES:
                if self.target[table] == table:
                    continue
                if table in ("event_types", "object_types"):
                    con.execute(
                        f"INSERT INTO {table} SELECT DISTINCT * FROM stage_{table} "
                        f"EXCEPT SELECT * FROM {table}"
                    )
                elif table == "log_meta":
                    con.execute(
                        "DELETE FROM log_meta WHERE key IN (SELECT key FROM stage_log_meta)"
                    )
                    con.execute("INSERT INTO log_meta SELECT * FROM stage_log_meta")
                elif table == "objects":
                    # Later months refer to objects already known (the same case); they are kept once.
                    con.execute(
                        "INSERT INTO objects SELECT * FROM stage_objects s WHERE NOT EXISTS "
                        "(SELECT 1 FROM objects t WHERE t.object_id = s.object_id)"
                    )
                else:
                    con.execute(f"INSERT INTO {table} SELECT * FROM stage_{table}")
            if also is not None:
                also(con)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        finally:
            for table in CANONICAL_TABLES:
                if self.target[table] != table:
                    con.execute(f"DROP TABLE IF EXISTS stage_{table}")

    def reset(self) -> None:
        """Drop everything staged and start again with empty staging tables."""
        direct = self._direct
        self.abort()
        self.__init__(self._con, direct=direct)  # type: ignore[misc]

    def abort(self) -> None:
        """Drop everything staged; the canonical tables are untouched."""
        for table in CANONICAL_TABLES:
            self._rows[table] = []
            if self.target[table] != table:
                self._con.execute(f"DROP TABLE IF EXISTS stage_{table}")
            else:
                self._con.execute(f"DELETE FROM {table} WHERE seq >= {self._first_seq[table]}")
