"""The connection adapter and the dialect rewrites: one DuckDB SQL text, the same rows on Spark."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import pytest

from miner.engine.compare import differences

_SETUP = """
CREATE TEMP TABLE t AS SELECT * FROM (VALUES
    ('a', 'x', TIMESTAMPTZ '2021-03-27 22:30:00+00', 2, 1.5::DOUBLE),
    ('a', 'y', TIMESTAMPTZ '2021-03-28 01:30:00+00', 1, 2.5),
    ('a', 'z', TIMESTAMPTZ '2021-03-28 01:30:00+00', 3, NULL),
    ('b', 'x', TIMESTAMPTZ '2021-10-31 00:30:00+00', 1, 4.0)) v(k, s, ts, seq, w)
"""


@pytest.fixture()
def both(spark: Any) -> Any:
    from miner.engine.spark import SparkConnection

    duck = duckdb.connect()
    duck.execute("SET TimeZone = 'UTC'")
    con = SparkConnection(spark)
    for c in (duck, con):
        c.execute(_SETUP)
    yield duck, con
    con.close()
    duck.close()


@pytest.mark.parametrize("sql", [
    # epoch_us, quantile_cont and median (exact, interpolated)
    ("SELECT k, epoch_us(max(ts)) - epoch_us(min(ts)), quantile_cont(seq, 0.9), median(w) "
     "FROM t GROUP BY k ORDER BY k"),
    # the local day across the two DST changes of 2021
    ("SELECT s, CAST(timezone('Europe/Amsterdam', ts) AS DATE), "
     "strftime(timezone('Europe/Amsterdam', ts), '%Y-%m-%d %H:%M') FROM t ORDER BY ts, seq"),
    # list(... ORDER BY ...), any_value skipping NULLs, arg_min on a (ts, seq) pair
    ("SELECT k, list(s ORDER BY ts, seq), any_value(w) FILTER (WHERE s = 'z'), "
     "arg_min(s, (ts, seq)) FROM t GROUP BY k ORDER BY k"),
    # GROUPING over two columns is a bit mask
    ("SELECT k, s, GROUPING(k, s), count(*) FROM t GROUP BY GROUPING SETS ((k, s), (k), ()) "
     "ORDER BY ALL"),
    # isodow, to_months and DuckDB's end-exclusive range
    ("SELECT isodow(DATE '2021-03-28'), CAST(DATE '2021-01-31' + to_months(1) AS DATE), "
     "(SELECT sum(d.day) FROM range(1, 5) d(day))"),
    # QUALIFY and EXCLUDE
    ("SELECT * EXCLUDE (w) FROM t QUALIFY row_number() OVER (PARTITION BY k ORDER BY ts DESC, "
     "seq) = 1 ORDER BY k"),
    # ISO year and week (%G, %V) at the turns of the year
    ("SELECT d, strftime(d, '%G-W%V'), strftime(d, 'W%V/%Y-%m') FROM (VALUES (DATE '2020-12-31'), "
     "(DATE '2021-01-03'), (DATE '2021-01-04'), (DATE '2024-12-30'), (DATE '2027-01-01')) v(d) "
     "ORDER BY d"),
    # epoch in fractional seconds, infinite bounds, decimal literals divided as DOUBLE
    ("SELECT k, epoch(max(ts)) - epoch(min(ts)) + 0.25, sum((0.0001 * seq) * (0.0001 * seq)) / 3, "
     "count(*) FILTER (WHERE ts >= '-infinity'::TIMESTAMPTZ AND ts < 'infinity'::TIMESTAMPTZ) "
     "FROM t GROUP BY k ORDER BY k"),
    # a local wall time parsed from text: the hour repeated (later instant) and skipped by DST
    ("SELECT s, timezone('Europe/Amsterdam', try_strptime(s, '%Y-%m-%d %H:%M')) FROM (VALUES "
     "('2021-10-31 02:30'), ('2021-10-31 01:30'), ('2021-03-28 02:30'), ('2021-06-01 12:00'), "
     "('bad')) v(s) ORDER BY s"),
])
def test_one_sql_text_gives_the_same_rows_on_both_engines(both: Any, sql: str) -> None:
    duck, spark = both
    expected = duck.execute(sql).fetchall()
    found = spark.execute(sql).fetchall()
    assert not differences(expected, found), (expected, found)


def test_temp_tables_insert_delete_and_replace_like_duckdb(both: Any) -> None:
    duck, spark = both
    script = [
        "CREATE TABLE IF NOT EXISTS st (k VARCHAR PRIMARY KEY, n BIGINT NOT NULL)",
        "INSERT INTO st SELECT k, count(*) FROM t GROUP BY k",
        "INSERT OR REPLACE INTO st VALUES ('a', 10)",
        "DELETE FROM st WHERE k = 'b'",
        "CREATE TABLE IF NOT EXISTS st (k VARCHAR, n BIGINT)",  # exists: kept
    ]
    for c in (duck, spark):
        for statement in script:
            c.execute(statement)
    assert spark.execute("SELECT * FROM st ORDER BY k").fetchall() == [("a", 10)]
    assert duck.execute("SELECT * FROM st ORDER BY k").fetchall() == [("a", 10)]
    # rowid: the insertion order of a temp table
    rows = [("c",), ("a",), ("b",)]
    for c in (duck, spark):
        c.execute("CREATE OR REPLACE TEMP TABLE ordered (s VARCHAR)")
        c.executemany("INSERT INTO ordered VALUES (?)", rows[:2])
        c.executemany("INSERT INTO ordered VALUES (?)", rows[2:])
        assert c.execute("SELECT s FROM ordered ORDER BY rowid").fetchall() == rows


def test_parameters_executemany_and_table_comments(both: Any) -> None:
    _, spark = both
    spark.execute("CREATE OR REPLACE TEMP TABLE h (day DATE, name VARCHAR)")
    spark.executemany("INSERT INTO h VALUES (?, ?)", [(date(2021, 4, 5), "Paasmaandag"),
                                                       (date(2021, 4, 27), "Koningsdag")])
    assert spark.execute("SELECT name FROM h WHERE day > ?", [date(2021, 4, 10)]).fetchall() == [
        ("Koningsdag",)]
    spark.execute("COMMENT ON TABLE temp.h IS '2:7'")
    assert spark.execute("SELECT comment FROM duckdb_tables() WHERE temporary AND "
                         "table_name = 'h'").fetchall() == [("2:7",)]
    spark.execute("DROP TABLE IF EXISTS h")
    assert spark.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'h'"
                         ).fetchall() == [(0,)]
