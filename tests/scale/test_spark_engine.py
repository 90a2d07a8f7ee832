"""The same analysis functions on Spark (local mode) and on DuckDB give the same results.

Floating-point figures (means, interpolated percentiles) may differ in their last bits because
the engines add up in another order; they are compared to 1e-9 relative, everything else exactly.
"""

from __future__ import annotations

from typing import Any

import pytest

from miner.analysis.bottlenecks import bottlenecks
from miner.analysis.cases import case_durations
from miner.analysis.chain import all_measures
from miner.analysis.dfg import dfg
from miner.analysis.duplicates import duplicate_work
from miner.analysis.handoffs import handoffs
from miner.analysis.lag import registration_lag
from miner.analysis.norms import norms
from miner.analysis.noshows import no_shows
from miner.analysis.period import Period
from miner.analysis.queues import queue_discipline
from miner.analysis.stock import stock
from miner.analysis.variants import variants
from miner.engine.compare import differences
from miner.model.flatten import flatten
from miner.model.log import Log

pytestmark = pytest.mark.slow
FOREIGNER = "vreemdeling"


def _same(duck: Any, spark: Any) -> None:
    found = differences(duck, spark, rel=1e-9)
    assert not found, "\n".join(found[:20])


def _dfg(log: Log) -> dict[str, Any]:
    graph = dfg(flatten(log, object_type=FOREIGNER))
    return {"edges": graph.table.to_dict("list"), "start": graph.start_activities,
            "end": graph.end_activities}


def test_spark_dfg_of_the_year_equals_duckdb(engines: tuple[Log, Log]) -> None:
    duck, spark = engines
    expected = _dfg(duck)
    assert sum(expected["edges"]["frequency"]) > 1_000_000  # the year, not a sample
    _same(expected, _dfg(spark))


def test_spark_dfg_of_a_filtered_period_equals_duckdb(engines: tuple[Log, Log]) -> None:
    from miner.analysis.basics import segment_log

    duck, spark = engines
    period = Period.parse("2021-T2")

    def run(log: Log) -> dict[str, Any]:
        graph = dfg(segment_log(log, period=period))
        return {"edges": graph.table.to_dict("list"), "start": graph.start_activities,
                "end": graph.end_activities}

    expected = run(duck)
    assert expected["edges"]["frequency"]
    _same(expected, run(spark))


def test_spark_variants_equal_duckdb_in_order(engines: tuple[Log, Log]) -> None:
    duck, spark = engines

    def run(log: Log) -> list[tuple[tuple[str, ...], int, float]]:
        table = variants(flatten(log, object_type=FOREIGNER)).table
        return [(tuple(v), int(n), float(s))
                for v, n, s in zip(table["variant"], table["cases"], table["share"], strict=True)]

    expected = run(duck)
    assert len(expected) > 100
    _same(expected, run(spark))


def test_spark_case_durations_equal_duckdb(engines: tuple[Log, Log]) -> None:
    duck, spark = engines
    a = case_durations(flatten(duck, object_type=FOREIGNER))
    b = case_durations(flatten(spark, object_type=FOREIGNER))
    _same(a.to_dict(), b.to_dict())
    assert a.table["case_id"].tolist() == b.table["case_id"].tolist()
    assert a.table["start"].tolist() == b.table["start"].tolist()
    _same(a.table["duration_s"].tolist(), b.table["duration_s"].tolist())


def test_spark_handoffs_equal_duckdb(engines: tuple[Log, Log]) -> None:
    duck, spark = engines
    expected = handoffs(duck).to_dict()
    assert expected["handoffs"] > 0 and expected["ping_pongs"] > 0
    _same(expected, handoffs(spark).to_dict())


def test_spark_stock_over_time_equals_duckdb(engines: tuple[Log, Log]) -> None:
    duck, spark = engines
    for by in ("activity", "location"):
        expected = stock(duck, by=by).to_dict()
        assert len(expected["rows"]) > 300
        _same(expected, stock(spark, by=by).to_dict())


def test_spark_duplicate_work_equals_duckdb(engines: tuple[Log, Log]) -> None:
    # One month (it reads the events up to the month's end): the whole year takes Spark about
    # 17 s in local mode and is identical too (benchmarks/bench_spark.py).
    duck, spark = engines
    period = Period.parse("2021-03")
    expected = duplicate_work(duck, period=period).to_dict()
    assert expected["repeats"] > 0 and any(f["instances"] for f in expected["findings"])
    _same(expected, duplicate_work(spark, period=period).to_dict())


def test_spark_norms_equal_duckdb(engines: tuple[Log, Log]) -> None:
    duck, spark = engines
    expected = norms(duck, cases=True).to_dict()
    assert any(n["counts"]["late"] for n in expected["norms"])
    _same(expected, norms(spark, cases=True).to_dict())


# --- the remaining chain analyses of `miner analyze` --------------------------------------------
def test_spark_bottlenecks_equal_duckdb(engines: tuple[Log, Log]) -> None:
    # Reuses the step intervals the stock test left on both connections (same data, same cache).
    duck, spark = engines
    expected = bottlenecks(duck).to_dict()
    assert expected["steps"] and expected["weekly"] and expected["capacity"]
    _same(expected, bottlenecks(spark).to_dict())


def test_spark_queue_discipline_equals_duckdb(engines: tuple[Log, Log]) -> None:
    duck, spark = engines
    expected = queue_discipline(duck).to_dict()
    assert any(q["overtaking"] for q in expected["queues"])
    _same(expected, queue_discipline(spark).to_dict())


def test_spark_registration_lag_equals_duckdb(engines: tuple[Log, Log]) -> None:
    # The COA pair parses local wall times from text, including the hour repeated when summer
    # time ends (2020-10-25, 2021-10-31): both engines take the later instant.
    duck, spark = engines
    expected = registration_lag(duck).to_dict()
    assert all(p["facts"] for p in expected["pairs"]) and expected["pairs"][0]["late"]
    _same(expected, registration_lag(spark).to_dict())


def test_spark_measures_equal_duckdb(engines: tuple[Log, Log]) -> None:
    duck, spark = engines
    expected = all_measures(duck).to_dict()
    assert expected["effects"] and all(e["standard_error"] for e in expected["effects"])
    _same(expected, all_measures(spark).to_dict())


def test_spark_no_shows_equal_duckdb(engines: tuple[Log, Log]) -> None:
    # The whole year, and one month (its no-shows' next held hearing may lie after the month).
    duck, spark = engines
    for period in (None, Period.parse("2021-03")):
        expected = no_shows(duck, period=period).to_dict()
        assert expected["no_shows"] > 0 and expected["replans"] and expected["weeks"]
        _same(expected, no_shows(spark, period=period).to_dict())
