"""The case index (stored steps, variants and DFG summary) always equals a fresh flattening,
also after data is appended to a workspace."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import miner
from tests.conftest import SEPSIS_MAPPING, reallog


def _split_sepsis(tmp_path: Path) -> tuple[Path, Path]:
    lines = reallog("sepsis.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    # Interleave: every third row goes to the second month, so most cases span both files.
    first, second = tmp_path / "part1.csv", tmp_path / "part2.csv"
    first.write_text(header + "".join(r for i, r in enumerate(rows) if i % 3), encoding="utf-8")
    second.write_text(header + "".join(r for i, r in enumerate(rows) if not i % 3), encoding="utf-8")
    return first, second


def _figures(log: miner.Log) -> tuple[pd.DataFrame, dict[tuple[str, ...], int], dict[str, int]]:
    flat = miner.flatten(log)
    graph = miner.dfg(flat)
    return graph.table, miner.variants(flat).counts(), graph.start_activities


def test_appending_to_an_indexed_workspace_gives_the_figures_of_a_fresh_import(tmp_path: Path) -> None:
    first, second = _split_sepsis(tmp_path)
    workspace = miner.read(first, workspace=tmp_path / "ws.duckdb", mapping=SEPSIS_MAPPING)
    before, before_variants, _ = _figures(workspace)  # builds the index on the first part
    miner.load(second, workspace, mapping=SEPSIS_MAPPING)
    after, after_variants, after_starts = _figures(workspace)

    fresh = miner.connect(None)
    miner.load(first, fresh, mapping=SEPSIS_MAPPING)
    miner.load(second, fresh, mapping=SEPSIS_MAPPING)
    expected, expected_variants, expected_starts = _figures(fresh)

    assert int(before["frequency"].sum()) < int(after["frequency"].sum())
    assert before_variants != after_variants
    pd.testing.assert_frame_equal(after, expected)
    assert after_variants == expected_variants and after_starts == expected_starts
    assert workspace.count("events") == 15214


def test_filtered_figures_equal_figures_of_a_log_holding_only_the_kept_events(tmp_path: Path) -> None:
    log = miner.read(reallog("sepsis.csv"), mapping=SEPSIS_MAPPING)
    only = miner.AttributeFilter("activity", ("ER Registration", "Leucocytes", "CRP"), level="event")
    filtered = miner.dfg(miner.flatten(log, filters=(only,))).table

    kept = tmp_path / "kept.csv"
    lines = reallog("sepsis.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    kept.write_text(
        lines[0] + "".join(r for r in lines[1:] if r.split(";")[1] in only.values), encoding="utf-8"
    )
    expected = miner.dfg(miner.flatten(miner.read(kept, mapping=SEPSIS_MAPPING))).table
    pd.testing.assert_frame_equal(filtered, expected)


def test_the_live_path_equals_the_index_when_the_filter_keeps_everything() -> None:
    log = miner.read(reallog("sepsis.csv"), mapping=SEPSIS_MAPPING)
    indexed = miner.flatten(log)
    live = miner.flatten(log, filters=(miner.TimeWindow(),))
    graph, live_graph = miner.dfg(indexed), miner.dfg(live)
    pd.testing.assert_frame_equal(graph.table, live_graph.table)
    assert graph.start_activities == live_graph.start_activities
    assert graph.end_activities == live_graph.end_activities
    assert miner.variants(indexed).table.equals(miner.variants(live).table)
