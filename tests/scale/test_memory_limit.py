"""MINER_MEMORY_LIMIT: every connection is capped, and an analysis under a tight cap spills to disk
and gives exactly the figures it gives uncapped."""

from __future__ import annotations

from pathlib import Path

import pytest

from miner.analysis.duplicates import duplicate_work
from miner.analysis.handoffs import handoffs
from miner.errors import WorkspaceError
from miner.model.log import MEMORY_LIMIT_ENV, connect
from tests.conftest import Ingested


def _limit_bytes(log_path: Path | None) -> int:
    log = connect(log_path, read_only=log_path is not None)
    try:
        (value,) = log.con.execute("SELECT current_setting('memory_limit')").fetchall()[0]
        number, unit = value.split()
        return int(float(number) * {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30}[unit])
    finally:
        log.close()


def test_the_variable_caps_every_connection_and_a_bad_value_is_named(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    uncapped = _limit_bytes(None)
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "300MB")
    assert abs(_limit_bytes(None) - 300e6) < 2**20
    workspace = tmp_path / "w.duckdb"
    connect(workspace).close()
    assert abs(_limit_bytes(workspace) - 300e6) < 2**20 < uncapped
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "lots")
    with pytest.raises(WorkspaceError, match="MINER_MEMORY_LIMIT='lots'.*e.g. 4GB"):
        connect(None)


@pytest.mark.slow
def test_chain_analyses_under_a_100_byte_per_event_cap_equal_the_uncapped_ones(
        ingested_year: Ingested, monkeypatch: pytest.MonkeyPatch) -> None:
    log = connect(ingested_year.workspace, read_only=True)
    try:
        events = log.count("events")
        expected = (duplicate_work(log).to_dict(), handoffs(log).to_dict())
    finally:
        log.close()
    monkeypatch.setenv(MEMORY_LIMIT_ENV, f"{events * 100 // 1_000_000}MB")
    assert abs(_limit_bytes(ingested_year.workspace) - events * 100) < 2e6
    capped = connect(ingested_year.workspace, read_only=True)
    try:
        assert (duplicate_work(capped).to_dict(), handoffs(capped).to_dict()) == expected
    finally:
        capped.close()
