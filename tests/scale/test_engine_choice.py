"""Choosing an engine, and the cross-engine comparison used by the tests and the benchmark."""

from __future__ import annotations

import pytest

from miner.engine import parse_engine
from miner.engine.compare import differences
from miner.errors import MinerError


@pytest.mark.parametrize(("text", "expected"), [
    ("duckdb", ("duckdb", None)),
    ("spark", ("spark", "local[2]")),
    ("spark:local[8]", ("spark", "local[8]")),
    ("spark://master:7077", ("spark", "spark://master:7077")),
])
def test_parse_engine_gives_the_spark_master(text: str, expected: tuple[str, str | None]) -> None:
    assert parse_engine(text) == expected


def test_parse_engine_rejects_an_unknown_engine_naming_the_choices() -> None:
    with pytest.raises(MinerError, match="choose duckdb, spark"):
        parse_engine("polars")


def test_differences_allow_float_rounding_only() -> None:
    assert differences({"a": [1.0, 2]}, {"a": [1.0 + 1e-15, 2]}) == []
    assert differences({"a": [1.0]}, {"a": [1.001]}) == ["$.a[0]: 1.0 against 1.001"]
    assert differences((1, "x"), (1, "y")) == ["$[1]: 'x' against 'y'"]
    assert differences([1, 2], [1]) == ["$: 2 items against 1"]
