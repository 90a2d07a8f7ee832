"""Fixtures of the scale-out tests: one local-mode SparkSession per test session, and the simulated
year (``ingested_year``) opened on DuckDB and on Spark side by side."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from miner.model.log import Log
from tests.conftest import Ingested


def _java() -> str | None:
    return shutil.which("java")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """Spark in local mode on two cores (``local[2]``), session time zone UTC."""
    if _java() is None:
        pytest.skip("no Java runtime: Spark needs one (CI installs Debian's openjdk-17-jre-headless)")
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -e '.[spark]')")
    from miner.engine import spark_session

    session = spark_session("local[2]", driver_memory="2g")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def engines(ingested_year: Ingested, spark: Any,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Log, Log]]:
    """The simulated year on DuckDB (a private copy, so building its case index touches no other
    test's workspace) and the same data on Spark, read from a Parquet export."""
    from miner.engine import connect

    folder = tmp_path_factory.mktemp("scale")
    copy = folder / "year.duckdb"
    shutil.copy(ingested_year.workspace, copy)
    duck = connect(copy)
    on_spark = connect(duck, engine="spark", session=spark, parquet=Path(folder / "parquet"))
    yield duck, on_spark
    on_spark.close()
    duck.close()


#: py4j leaves the local sockets of collected results to the garbage collector; not ours to fix.
SOCKET_WARNINGS = (
    "ignore:unclosed <socket.socket:ResourceWarning",
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            for line in SOCKET_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(line))
