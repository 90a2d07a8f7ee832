"""Loading rows into a workspace: readers stream rows into a :class:`TableSink`, which buffers them
into Arrow batches and appends them to staging tables; :meth:`TableSink.commit` checks them and moves
them into the canonical tables in one transaction. Nothing reaches the canonical tables unless the
whole input was read, so a reader that fails half-way leaves the workspace as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa

from miner.errors import WorkspaceError
from miner.model.log import first_row
from miner.model.schema import ARROW_SCHEMAS, CANONICAL_TABLES, create_table_sql

_BATCH_ROWS = 50_000
_UNSEQUENCED = ("event_types", "object_types", "log_meta")


class TableSink:
    """Buffers canonical rows and appends them in batches to staging tables.

    ``add(table, row)`` takes a tuple in the column order of ``ARROW_SCHEMAS[table]`` *without* the
    trailing ``seq``: the sink numbers rows in arrival order itself. Timestamps may be aware
    ``datetime`` values or integers (microseconds since the epoch, UTC).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in CANONICAL_TABLES}
        self._seq: dict[str, int] = {}
        for table in CANONICAL_TABLES:
            con.execute(create_table_sql(table))
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

    def insert_select(self, table: str, select_sql: str, *, order_by: str) -> int:
        """Stage the rows of ``select_sql``, numbered in ``order_by`` order; returns their number.

        ``select_sql`` yields the table's columns in schema order without ``seq`` and, when
        ``order_by`` is not one of them, that sort column last (it is dropped). For readers that
        let DuckDB do the parsing (CSV, Parquet).
        """
        self.flush(table)
        names = [f.name for f in ARROW_SCHEMAS[table] if f.name != "seq"]
        drop = "" if order_by in names else f" EXCLUDE ({order_by})"
        start = self._seq.get(table)
        if start is None:
            sql = f"INSERT INTO stage_{table} SELECT *{drop} FROM ({select_sql})"
        else:
            sql = (
                f"INSERT INTO stage_{table} SELECT *{drop}, "
                f"{start} + row_number() OVER (ORDER BY {order_by}) - 1 FROM ({select_sql})"
            )
        self._con.execute(sql)
        total_row = first_row(self._con.execute(f"SELECT count(*) FROM stage_{table}"))
        total = int(total_row[0]) if total_row else 0
        new = total - self.counts[table]
        if start is not None:
            self._seq[table] = start + new
        self.counts[table] = total
        return new

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
                schema.field("seq"), pa.array(range(start, start + batch.num_rows), pa.int64())
            )
            self._seq[name] = start + batch.num_rows
        batch = batch.rename_columns(schema.names).cast(schema)
        self._con.register("_miner_batch", batch)
        self._con.execute(f"INSERT INTO stage_{name} SELECT * FROM _miner_batch")
        self._con.unregister("_miner_batch")
        self.counts[name] += batch.num_rows

    def commit(self, *, what: str) -> None:
        """Move the staged rows into the canonical tables, refusing ids the workspace already has.

        ``what`` names the input in error messages (a file path).
        """
        self.flush()
        con = self._con
        clash = con.execute(
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
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        finally:
            for table in CANONICAL_TABLES:
                con.execute(f"DROP TABLE IF EXISTS stage_{table}")

    def reset(self) -> None:
        """Drop everything staged and start again with empty staging tables."""
        self.abort()
        self.__init__(self._con)  # type: ignore[misc]

    def abort(self) -> None:
        """Drop everything staged; the canonical tables are untouched."""
        for table in CANONICAL_TABLES:
            self._rows[table] = []
            self._con.execute(f"DROP TABLE IF EXISTS stage_{table}")
