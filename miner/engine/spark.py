"""A Spark connection that looks like the part of a DuckDB connection the analyses use.

The analyses run SQL on ``log.con``: ``execute(sql)`` (with ``?`` parameters), ``sql(sql)``,
``executemany``, and read results with ``fetchall()``, ``df()`` or ``to_arrow_table()``. They keep
intermediate results in temporary tables. :class:`SparkConnection` gives the same calls over a
SparkSession: queries are transpiled (:mod:`miner.engine.dialect`) and run by Spark; a temporary
table is a cached Spark DataFrame registered as a temp view; ``INSERT`` and ``DELETE`` replace that
view by its union with, or its filter by, the new rows. Settings (``SET``), transactions and table
comments, which have no Spark meaning, are kept in the connection or ignored.

Nothing of the data passes through Python apart from the (small) results that are fetched.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType, TimestampType
from sqlglot import exp

from miner.engine.dialect import parse, to_spark

_SETTING = re.compile(r"^\s*SELECT\s+current_setting\('([a-z_]+)'\)\s*$", re.IGNORECASE)
#: DuckDB settings the analyses read back (their values on a fresh DuckDB connection).
_DEFAULT_SETTINGS: dict[str, Any] = {"preserve_insertion_order": True}


class SparkResult:
    """The result of one statement: a Spark DataFrame, or nothing for DDL and DML."""

    def __init__(self, frame: DataFrame | None) -> None:
        self._frame = frame

    def fetchall(self) -> list[tuple[Any, ...]]:
        if self._frame is None:
            return []
        zoned = [isinstance(f.dataType, TimestampType) for f in self._frame.schema.fields]
        return [tuple(_aware(v) if z else v for v, z in zip(row, zoned, strict=True))
                for row in self._frame.collect()]

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self.fetchall()
        return rows[0] if rows else None

    def to_arrow_table(self) -> pa.Table:
        if self._frame is None:
            return pa.table({})
        return self._frame.toArrow()

    def arrow(self) -> pa.Table:
        return self.to_arrow_table()

    def df(self) -> pd.DataFrame:
        """A pandas DataFrame with DuckDB's types: timestamps aware UTC, integers int64."""
        return self.to_arrow_table().to_pandas()


def _aware(value: Any) -> Any:
    # Spark hands out TIMESTAMP values as naive wall times of the session zone, which miner's
    # sessions fix to UTC; DuckDB hands out aware ones.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class SparkConnection:
    """The DuckDB-connection calls of the analyses, run on ``spark`` (see the module docstring)."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark
        self.settings: dict[str, Any] = dict(_DEFAULT_SETTINGS)
        self.comments: dict[str, str] = {}
        self._temp: set[str] = set()

    # -- the DuckDB connection API ------------------------------------------------------------
    def execute(self, sql: str, parameters: list[Any] | tuple[Any, ...] | None = None,
                ) -> SparkResult:
        found = _SETTING.match(sql)
        if found:
            value = self.settings.get(found.group(1))
            return SparkResult(self.spark.createDataFrame([(value,)], "value boolean"))
        result = SparkResult(None)
        for statement in parse(sql):
            if parameters:
                statement = _bind(statement, list(parameters))
            result = self._run(statement)
        return result

    def sql(self, sql: str) -> SparkResult:
        return self.execute(sql)

    def executemany(self, sql: str, rows: list[Any]) -> None:
        """``INSERT INTO t VALUES (?, …)`` for many rows: one DataFrame appended to ``t``."""
        statement = parse(sql)[0]
        if not isinstance(statement, exp.Insert) or not rows:
            for row in rows:
                self.execute(sql, row)
            return
        name = statement.this.name if isinstance(statement.this, exp.Table) else ""
        schema = self.spark.table(name).schema
        self._store(name, self.spark.table(name).unionByName(
            self.spark.createDataFrame([tuple(r) for r in rows], schema)))

    def close(self) -> None:
        for name in list(self._temp):
            self._drop(name)

    # -- statements ---------------------------------------------------------------------------
    def _run(self, statement: exp.Expression) -> SparkResult:
        if isinstance(statement, (exp.Transaction, exp.Commit, exp.Rollback)):
            return SparkResult(None)
        if isinstance(statement, exp.Set):
            for item in statement.expressions:
                eq = item.this
                if isinstance(eq, exp.EQ):
                    value = eq.expression.name.lower()
                    self.settings[eq.this.name] = value in ("true", "1")
            return SparkResult(None)
        if isinstance(statement, exp.Comment):
            self.comments[statement.this.name] = statement.expression.name
            return SparkResult(None)
        if isinstance(statement, exp.Create):
            return self._create(statement)
        if isinstance(statement, exp.Insert):
            return self._insert(statement)
        if isinstance(statement, exp.Delete):
            name = statement.this.name
            where = statement.args.get("where")
            kept = self._query(f"SELECT * FROM {name}" + (
                f" WHERE NOT coalesce(({where.this.sql('duckdb')}), false)" if where else
                " WHERE false"))
            self._store(name, kept)
            return SparkResult(None)
        if isinstance(statement, exp.Drop):
            for table in statement.args.get("tables") or [statement.this]:
                self._drop(table.name)
            return SparkResult(None)
        return SparkResult(self._frame(statement))

    def _frame(self, statement: exp.Expression) -> DataFrame:
        if any(t.name == "duckdb_tables" for t in statement.find_all(exp.Anonymous)):
            self._catalogue()
            statement = statement.transform(
                lambda n: exp.to_table("_miner_duckdb_tables")
                if isinstance(n, exp.Table) and isinstance(n.this, exp.Anonymous)
                and n.this.name == "duckdb_tables" else n)
        return self.spark.sql(to_spark(statement))

    def _query(self, sql: str) -> DataFrame:
        return self._frame(parse(sql)[0])

    def _create(self, statement: exp.Create) -> SparkResult:
        target = statement.this
        name = target.this.name if isinstance(target, exp.Schema) else target.name
        if statement.args.get("exists") and self.spark.catalog.tableExists(name):
            return SparkResult(None)
        query = statement.expression
        if query is not None:
            self._store(name, self._frame(query))
        elif isinstance(target, exp.Schema):
            columns = ", ".join(
                f"`{c.name}` {c.args['kind'].sql('spark')}" for c in target.expressions
                if isinstance(c, exp.ColumnDef))
            schema = StructType.fromDDL(columns)
            assert isinstance(schema, StructType)
            self._store(name, self.spark.createDataFrame([], schema))
        return SparkResult(None)

    def _insert(self, statement: exp.Insert) -> SparkResult:
        target = statement.this
        name = target.this.name if isinstance(target, exp.Schema) else target.name
        existing = self.spark.table(name)
        new = self._frame(statement.expression)
        # INSERT matches columns by position, as DuckDB does.
        new = new.toDF(*existing.columns)
        new = new.select(*[new[c].cast(existing.schema[c].dataType) for c in existing.columns])
        if statement.args.get("alternative") == "REPLACE":
            # INSERT OR REPLACE: the only keyed table of the analyses is keyed on its first column.
            key = existing.columns[0]
            existing = existing.join(new.select(key), on=key, how="left_anti")
        self._store(name, existing.unionByName(new))
        return SparkResult(None)

    # -- temp tables --------------------------------------------------------------------------
    def _store(self, name: str, frame: DataFrame) -> None:
        """Materialise ``frame`` and register it as the temp view ``name``."""
        frame = frame.localCheckpoint(eager=True)
        old = name in self._temp
        frame.createOrReplaceTempView(name)
        self._temp.add(name)
        if not old:
            self.comments.pop(name, None)

    def _drop(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
        self._temp.discard(name)
        self.comments.pop(name, None)

    def _catalogue(self) -> None:
        """The temp view ``_miner_duckdb_tables`` standing in for DuckDB's ``duckdb_tables()``."""
        rows = [(n, True, self.comments.get(n)) for n in sorted(self._temp)]
        self.spark.createDataFrame(
            rows, "table_name string, temporary boolean, comment string"
        ).createOrReplaceTempView("_miner_duckdb_tables")


def _bind(statement: exp.Expression, parameters: list[Any]) -> exp.Expression:
    """Replace the ``?`` placeholders by literals, in order."""
    values = iter(parameters)

    def literal(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder):
            return _literal(next(values))
        return node

    return statement.transform(literal)


def _literal(value: Any) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float)):
        return exp.Literal.number(value)
    if isinstance(value, datetime):
        return exp.cast(exp.Literal.string(value.isoformat()), "TIMESTAMPTZ")
    if hasattr(value, "isoformat"):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    return exp.Literal.string(str(value))
