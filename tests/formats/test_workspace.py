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


def _closed_counts(workspace: Path) -> dict[str, int]:
    log = miner.read(workspace)
    try:
        return _counts(log)
    finally:
        log.close()


def _broken_xes(tmp_path: Path) -> Path:
    broken = tmp_path / "broken.xes"
    broken.write_bytes(reallog("receipt.xes").read_bytes()[:2_000_000])
    return broken


def test_a_failed_convert_into_a_new_workspace_leaves_no_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from miner.cli import main

    broken, target = _broken_xes(tmp_path), tmp_path / "new.duckdb"
    code = main(["convert", str(broken), str(target)])
    _, err = capsys.readouterr()
    assert code == 3
    assert f"{broken}: line 41083" in err and "nothing was imported" in err
    assert not target.exists() and not (tmp_path / "new.duckdb.wal").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.xes"]
    # a later command names the missing workspace, not an empty log
    assert main(["stats", str(target)]) == 3
    assert f"{target}: no such file" in capsys.readouterr().err


def test_a_failed_convert_into_an_existing_workspace_keeps_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from miner.cli import main

    target = tmp_path / "ws.duckdb"
    assert main(["convert", str(reallog("running-example.xes")), str(target)]) == 0
    before = _closed_counts(target)
    assert before["events"] == 42
    capsys.readouterr()
    code = main(["convert", str(_broken_xes(tmp_path)), str(target)])
    assert code == 3 and "broken.xes: line 41083" in capsys.readouterr().err
    assert target.exists()
    assert _closed_counts(target) == before


def test_read_into_a_new_workspace_removes_it_when_the_import_fails(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "new.duckdb"
    target.parent.mkdir()
    with pytest.raises(miner.InputError, match=r"broken\.xes: line \d+"):
        miner.read(_broken_xes(tmp_path), workspace=target)
    assert list(target.parent.iterdir()) == []
    with pytest.raises(miner.InputError, match=r"broken\.xes"):
        miner.convert(_broken_xes(tmp_path), target)
    assert list(target.parent.iterdir()) == []
    # the same path imports fine afterwards
    log = miner.read(reallog("running-example.xes"), workspace=target)
    assert log.count("events") == 42
    log.close()
