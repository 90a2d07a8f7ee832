"""``miner simulate`` as an argparse subcommand."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from miner.simulation.cli import register


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="miner")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def test_simulate_help_names_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _parser().parse_args(["simulate", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in (
        "--scenario FILE|NAME",
        "--seed N",
        "--years Y",
        "--out DIR",
        "--summary",
        "--postgres DSN",
    ):
        assert option in text


def test_simulate_writes_exports_and_prints_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _parser().parse_args(
        ["simulate", "--years", "0.02", "--seed", "3", "--out", str(tmp_path), "--summary"]
    )
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "default, seed 3, 0.02 year(s):" in text
    assert "median_days_in_col" in text and "weeks_to_decision" in text
    assert (tmp_path / "ind" / "indigo_zaakhistorie.csv").is_file()
    assert (
        json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))["scenario"] == "default"
    )


def test_simulate_with_a_broken_scenario_exits_3_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('base = "default"\n[rvt]\npol_capacty = 5\n', encoding="utf-8")
    args = _parser().parse_args(["simulate", "--scenario", str(bad), "--out", str(tmp_path / "o")])
    assert args.func(args) == 3
    err = capsys.readouterr().err
    assert "key 'rvt.pol_capacty' is unknown" in err and "Did you mean 'rvt.pol_capacity'?" in err


def test_simulate_requires_out() -> None:
    with pytest.raises(SystemExit) as exit_info:
        _parser().parse_args(["simulate"])
    assert exit_info.value.code == 2
