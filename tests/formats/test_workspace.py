"""Workspaces: writing a log into a DuckDB file, and imports that fail leave the workspace as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

import miner
from miner.model.schema import CANONICAL_TABLES
from tests.conftest import reallog


def _counts(log: miner.Log) -> dict[str, int]:
    return {table: log.count(table) for table in CANONICAL_TABLES}


def test_an_in_memory_log_written_to_a_workspace_keeps_every_table(tmp_path: Path) -> None:
    log = miner.read(reallog("order-management.json.gz"))
    miner.write(log, tmp_path / "orders.duckdb")
    stored = miner.read(tmp_path / "orders.duckdb")
    assert _counts(stored) == _counts(log)
    assert (stored.count("events"), stored.count("objects"), stored.count("event_objects"), stored.count("object_objects")) == (
        21008, 10840, 147463, 28391,
    )
    one = "SELECT * EXCLUDE (seq) FROM event_objects ORDER BY seq LIMIT 1000"
    assert stored.con.execute(one).fetchall() == log.con.execute(one).fetchall()


def test_a_truncated_file_leaves_the_workspace_unchanged(tmp_path: Path) -> None:
    workspace = miner.read(reallog("running-example.xes"), workspace=tmp_path / "ws.duckdb")
    before = _counts(workspace)
    broken = tmp_path / "broken.xes"
    broken.write_bytes(reallog("receipt.xes").read_bytes()[:2_000_000])
    with pytest.raises(miner.InputError, match=r"broken\.xes: line \d+"):
        miner.load(broken, workspace)
    assert _counts(workspace) == before
