"""Engines: where a workspace's analyses run. DuckDB (the default, embedded) or Apache Spark.

The analyses are DuckDB SQL run on ``log.con``. :func:`connect` with ``engine="spark"`` exports the
workspace's canonical tables to Parquet once, registers them as Spark views, and returns a
:class:`~miner.model.log.Log` whose ``con`` is a :class:`~miner.engine.spark.SparkConnection`: the
same analysis functions then run on Spark (docs/scaling.md). pyspark is imported only then.

Example:
    >>> log = connect("chain.duckdb", engine="spark://spark-master:7077")  # doctest: +SKIP
    >>> miner.dfg(miner.flatten(log, object_type="vreemdeling")).table.head()  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from miner.errors import MinerError
from miner.model.log import Log
from miner.model.log import connect as connect_duckdb
from miner.model.schema import CANONICAL_TABLES

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["connect", "export_parquet", "parse_engine", "spark_session"]


def parse_engine(engine: str) -> tuple[str, str | None]:
    """``duckdb`` → (duckdb, None); ``spark`` → (spark, ``local[2]``); ``spark://host:7077`` →
    (spark, that master URL); ``spark:local[4]`` → (spark, ``local[4]``)."""
    if engine == "duckdb":
        return "duckdb", None
    if engine == "spark":
        return "spark", "local[2]"
    if engine.startswith("spark://"):
        return "spark", engine
    if engine.startswith("spark:"):
        return "spark", engine.removeprefix("spark:")
    raise MinerError(f"engine {engine!r}: choose duckdb, spark, spark:local[N] or spark://HOST:PORT")


def spark_session(master: str = "local[2]", *, driver_memory: str = "2g",
                  config: dict[str, str] | None = None) -> SparkSession:
    """The SparkSession miner uses: session time zone UTC, no UI, ANSI mode as DuckDB."""
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master).appName("miner")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "8")
    )
    for key, value in (config or {}).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _stamp(log: Log) -> str:
    """Changes whenever the canonical tables do (row counts and the last read order)."""
    parts = [str(log.path)]
    for table in CANONICAL_TABLES:
        row = log.con.execute(f"SELECT count(*) FROM {table}").fetchall()
        parts.append(f"{table}:{row[0][0]}")
    seq = log.con.execute("SELECT coalesce(max(seq), -1) FROM events").fetchall()
    parts.append(str(seq[0][0]))
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:16]


def export_parquet(log: Log, directory: str | Path | None = None) -> Path:
    """Write the canonical tables of ``log`` as Parquet files ``<directory>/<table>.parquet``
    (streamed by DuckDB) and return the directory. An export of the same data is reused. Without
    ``directory``: a folder under the temporary directory named after the data."""
    stamp = _stamp(log)
    folder = Path(directory) if directory is not None else (
        Path(tempfile.gettempdir()) / f"miner-parquet-{stamp}")
    marker = folder / "_miner_stamp"
    if marker.exists() and marker.read_text() == stamp:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for table in CANONICAL_TABLES:
        target = folder / f"{table}.parquet"
        log.con.execute(f"COPY (SELECT * FROM {table}) TO '{target}' (FORMAT parquet)")
    marker.write_text(stamp)
    return folder


def connect(path: str | Path | Log, *, engine: str = "duckdb",
            session: SparkSession | None = None, parquet: str | Path | None = None) -> Log:
    """Open a workspace on an engine (see :func:`parse_engine`). For Spark the canonical tables are
    exported to ``parquet`` (a folder; on a cluster it must be shared storage the executors read)
    and registered as views of ``session`` (default :func:`spark_session` on the engine's master).
    ``path`` may also be an open DuckDB :class:`Log` (it stays open).
    """
    kind, master = parse_engine(engine)
    if kind == "duckdb":
        return path if isinstance(path, Log) else connect_duckdb(path)
    from miner.engine.spark import SparkConnection

    if isinstance(path, Log):
        folder = export_parquet(path, parquet)
        path = path.path or Path("memory")
    else:
        source = connect_duckdb(path, read_only=True)
        try:
            folder = export_parquet(source, parquet)
        finally:
            source.close()
    spark = session or spark_session(master or "local[2]")
    con = SparkConnection(spark)
    for table in CANONICAL_TABLES:
        spark.read.parquet(os.fspath(folder / f"{table}.parquet")).createOrReplaceTempView(table)
    return Log(con=cast(Any, con), path=Path(path))
