"""The command line: names, JSON output, exit codes and one-paragraph errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import miner
from miner.cli import main
from tests.conftest import import_pm4py, reallog


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_stats_json_has_the_documented_keys_and_raw_counts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "stats", str(reallog("ocel20_example.jsonocel")), "--json")
    stats = json.loads(out)
    assert code == 0
    assert {k: stats[k] for k in ("events", "objects", "e2o", "o2o")} == {
        "events": 13, "objects": 9, "e2o": 20, "o2o": 7,
    }
    assert {"cases", "variants", "activities"} <= stats.keys()
    assert stats["cases"] is None  # several object types and no --object-type: no case notion


def test_stats_json_with_a_case_notion_counts_cases_and_variants(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "stats", str(reallog("receipt.xes")), "--json")
    stats = json.loads(out)
    assert code == 0
    assert (stats["cases"], stats["events"], stats["variants"], stats["activities"]) == (1434, 8577, 116, 27)


def test_dfg_json_lists_edges_with_frequency_and_performance(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "dfg", str(reallog("running-example.xes")), "--json")
    edges = json.loads(out)
    assert code == 0
    assert len(edges) == 16 and sum(e["frequency"] for e in edges) == 36
    top = edges[0]
    assert (top["source"], top["target"], top["frequency"]) == ("check ticket", "decide", 6)
    assert {"source", "target", "frequency", "mean_s", "median_s", "p90_s"} <= top.keys()


def test_dfg_on_an_object_centric_log_flattens_on_the_chosen_type(capsys: pytest.CaptureFixture[str]) -> None:
    pm4py = import_pm4py()
    path = reallog("order-management.json.gz")
    code, out, _ = run(capsys, "dfg", str(path), "--object-type", "orders", "--json")
    assert code == 0
    flat = pm4py.ocel_flattening(pm4py.read_ocel2_json(str(path)), "orders")
    expected, _, _ = pm4py.discover_dfg(flat)
    assert {(e["source"], e["target"]): e["frequency"] for e in json.loads(out)} == dict(expected)


def test_dfg_without_object_type_on_several_types_names_the_types(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "dfg", str(reallog("ocel20_example.jsonocel")))
    assert code == 3
    assert "--object-type" in err and "'Invoice'" in err


def test_unknown_object_type_suggests_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "dfg", str(reallog("order-management.json.gz")), "--object-type", "order")
    assert code == 3
    assert "unknown object type 'order'" in err and "Did you mean 'orders'?" in err


def test_missing_file_is_a_one_paragraph_error_naming_the_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "stats", str(tmp_path / "nope.xes"))
    assert code == 3 and out == ""
    assert f"{tmp_path / 'nope.xes'}: no such file" in err
    assert err.count("\n") == 1


def test_convert_chain_keeps_counts_and_writes_a_workspace(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = reallog("ocel20_example.jsonocel")
    assert run(capsys, "convert", str(source), str(tmp_path / "a.xmlocel"))[0] == 0
    assert run(capsys, "convert", str(tmp_path / "a.xmlocel"), str(tmp_path / "b.sqlite"))[0] == 0
    assert run(capsys, "convert", str(tmp_path / "b.sqlite"), str(tmp_path / "ws.duckdb"))[0] == 0
    code, out, _ = run(capsys, "stats", str(tmp_path / "ws.duckdb"), "--json")
    stats = json.loads(out)
    assert code == 0 and (stats["events"], stats["objects"], stats["e2o"], stats["o2o"]) == (13, 9, 20, 7)


def test_convert_into_an_existing_workspace_refuses_the_same_log_twice(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = str(reallog("running-example.xes"))
    assert run(capsys, "convert", source, str(tmp_path / "ws.duckdb"))[0] == 0
    code, _, err = run(capsys, "convert", source, str(tmp_path / "ws.duckdb"))
    assert code == 3 and "already holds events" in err
    log = miner.read(tmp_path / "ws.duckdb")
    assert log.count("events") == 42


def test_convert_to_xes_and_back_keeps_the_dfg(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = reallog("running-example.xes")
    assert run(capsys, "convert", str(source), str(tmp_path / "out.xes.gz"))[0] == 0
    before = miner.dfg(miner.flatten(miner.read(source))).table
    after = miner.dfg(miner.flatten(miner.read(tmp_path / "out.xes.gz"))).table
    assert before.equals(after)


def test_every_command_has_help_naming_each_of_its_options_and_the_readme_lists_it() -> None:
    import argparse

    from miner.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    commands = dict(sub.choices)
    assert len(commands) >= 13 and {"conformance", "discover", "audit", "explore"} <= set(commands)
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for name, command in commands.items():
        done = subprocess.run([sys.executable, "-m", "miner.cli", name, "--help"],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0 and "usage: miner " + name in done.stdout, name
        help_text = " ".join(done.stdout.split())
        for action in command._actions:
            for flag in action.option_strings:
                assert flag in help_text, f"miner {name} --help does not name {flag}"
            if action.help not in (None, argparse.SUPPRESS) and not action.option_strings:
                assert action.dest in help_text or (action.metavar or "") in help_text
        assert f"`miner {name}" in readme, f"README.md does not list miner {name}"


def test_filter_options_equal_pm4py_and_apply_in_the_order_given(capsys: pytest.CaptureFixture[str]) -> None:
    pm4py = import_pm4py()
    path = str(reallog("receipt.xes"))
    t04, t05 = "T04 Determine confirmation of receipt", "T05 Print and send confirmation of receipt"
    code, out, _ = run(capsys, "dfg", path, "--follows", f"{t04}>{t05}", "--max-duration", "2d", "--json")
    assert code == 0
    frame = pm4py.read_xes(path, variant="iterparse")
    kept = pm4py.filter_case_performance(
        pm4py.filter_directly_follows_relation(frame, [(t04, t05)]), 0, 2 * 86400)
    expected, _, _ = pm4py.discover_dfg(kept)
    assert {(e["source"], e["target"]): e["frequency"] for e in json.loads(out)} == dict(expected)

    first = "Confirmation of receipt"
    _, dropped_first, _ = run(capsys, "stats", path, "--where-not", f"activity={first}",
                              "--starts-with", first, "--json")
    _, started_first, _ = run(capsys, "stats", path, "--starts-with", first,
                              "--where-not", f"activity={first}", "--json")
    assert json.loads(dropped_first)["cases"] == 0
    assert json.loads(started_first)["cases"] == len(
        pm4py.filter_event_attribute_values(frame, "concept:name", [first], level="event", retain=False)
        ["case:concept:name"].unique())


def test_a_bad_duration_is_a_usage_error_naming_the_value(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["dfg", str(reallog("receipt.xes")), "--max-duration", "three days"])
    assert exit_info.value.code == 2
    assert "'three days' is not a duration" in capsys.readouterr().err
