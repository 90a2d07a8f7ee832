"""The core figures equal pm4py's (the oracle) on real logs.

DFG edges and frequencies, start and end activities, variants and case durations must be identical;
performance statistics agree to 1e-9 relative.
"""

from __future__ import annotations

import math
from datetime import UTC
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest

import miner
from tests.conftest import SEPSIS_MAPPING, import_pm4py, reallog

XES_LOGS = ["running-example.xes", "receipt.xes", "bpic2012.xes.gz", "roadtraffic100traces.xes"]


@cache
def ours(name: str) -> miner.EventLog:
    if name == "sepsis.csv":
        return miner.flatten(miner.read(reallog(name), mapping=SEPSIS_MAPPING))
    return miner.flatten(miner.read(reallog(name)))


@cache
def oracle(name: str) -> pd.DataFrame:
    pm4py = import_pm4py()
    if name == "sepsis.csv":
        # keep_default_na=False: sepsis has a case named "NA", which pandas would read as missing
        # and pm4py would then drop (24 events); miner keeps it.
        frame = pd.read_csv(reallog(name), sep=";", dtype=str, keep_default_na=False)
        frame["Complete Timestamp"] = pd.to_datetime(
            frame["Complete Timestamp"], format="%Y/%m/%d %H:%M:%S.%f"
        ).dt.tz_localize("Europe/Amsterdam")
        return pm4py.format_dataframe(
            frame, case_id="Case ID", activity_key="Activity", timestamp_key="Complete Timestamp"
        )
    frame: pd.DataFrame = pm4py.read_xes(str(reallog(name)), variant="iterparse")
    return frame


PARITY_LOGS = [*XES_LOGS, "sepsis.csv"]


@pytest.mark.parametrize("name", PARITY_LOGS)
def test_dfg_frequencies_and_start_end_activities_equal_pm4py(name: str) -> None:
    pm4py = import_pm4py()
    expected, starts, ends = pm4py.discover_dfg(oracle(name))
    graph = miner.dfg(ours(name))
    found = {(s, t): int(n) for s, t, n in graph.table[["source", "target", "frequency"]].itertuples(index=False)}
    assert found == {k: int(v) for k, v in expected.items()}
    assert graph.start_activities == {k: int(v) for k, v in starts.items()}
    assert graph.end_activities == {k: int(v) for k, v in ends.items()}


@pytest.mark.parametrize("name", PARITY_LOGS)
def test_dfg_performance_equals_pm4py_to_1e9(name: str) -> None:
    pm4py = import_pm4py()
    expected, _, _ = pm4py.discover_performance_dfg(oracle(name))
    table = miner.dfg(ours(name)).table.set_index(["source", "target"])
    assert set(table.index) == set(expected)
    for edge, stats in expected.items():
        row = table.loc[edge]
        for ours_key, theirs_key in (("mean_s", "mean"), ("median_s", "median"), ("min_s", "min"), ("max_s", "max")):
            assert math.isclose(row[ours_key], stats[theirs_key], rel_tol=1e-9, abs_tol=1e-9), (edge, ours_key)


@pytest.mark.parametrize("name", PARITY_LOGS)
def test_dfg_p90_equals_numpy_percentile_of_the_oracle_pairs(name: str) -> None:
    # pm4py has no p90: take the directly-follows pairs of pm4py's own sorted frame, numpy's percentile.
    frame = oracle(name)
    following = frame.groupby("case:concept:name", sort=False)
    pairs = pd.DataFrame(
        {
            "source": frame["concept:name"],
            "target": following["concept:name"].shift(-1),
            "d": (following["time:timestamp"].shift(-1) - frame["time:timestamp"]).dt.total_seconds(),
        }
    ).dropna()
    expected = pairs.groupby(["source", "target"])["d"].apply(lambda d: float(np.percentile(d, 90)))
    table = miner.dfg(ours(name)).table.set_index(["source", "target"])["p90_s"]
    assert len(table) == len(expected)
    for edge, value in expected.items():
        assert math.isclose(table.loc[edge], value, rel_tol=1e-9, abs_tol=1e-9), edge


@pytest.mark.parametrize("name", PARITY_LOGS)
def test_variants_equal_pm4py(name: str) -> None:
    pm4py = import_pm4py()
    expected = pm4py.get_variants(oracle(name))
    found = miner.variants(ours(name))
    assert found.counts() == {tuple(k): (len(v) if isinstance(v, list) else int(v)) for k, v in expected.items()}
    assert found.cases == oracle(name)["case:concept:name"].nunique()
    cases = found.table["cases"].tolist()
    assert cases == sorted(cases, reverse=True)


@pytest.mark.parametrize("name", PARITY_LOGS)
def test_case_durations_equal_pm4py(name: str) -> None:
    pm4py = import_pm4py()
    expected = sorted(pm4py.get_all_case_durations(oracle(name)))
    found = sorted(miner.case_durations(ours(name)).table["duration_s"].tolist())
    assert len(found) == len(expected)
    assert all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6) for a, b in zip(found, expected))


def test_running_example_figures_match_the_published_oracle_values() -> None:
    log = ours("running-example.xes")
    graph = miner.dfg(log)
    assert len(graph.table) == 16 and int(graph.table["frequency"].sum()) == 36
    top = graph.table.iloc[0]
    assert (top["source"], top["target"], int(top["frequency"])) == ("check ticket", "decide", 6)
    assert graph.start_activities == {"register request": 6}
    assert graph.end_activities == {"pay compensation": 3, "reject request": 3}
    durations = miner.case_durations(log)
    assert durations.median_s == 815940 and round(durations.mean_s or 0) == 966890


def test_bpic2012_figures_match_the_published_oracle_values() -> None:
    graph = miner.dfg(ours("bpic2012.xes.gz"))
    assert len(graph.table) == 125 and int(graph.table["frequency"].sum()) == 249113
    edges = graph.table.set_index(["source", "target"])["frequency"]
    assert edges[("W_Completeren aanvraag", "W_Completeren aanvraag")] == 38004
    assert edges[("A_SUBMITTED", "A_PARTLYSUBMITTED")] == 13087
    assert int(miner.variants(ours("bpic2012.xes.gz")).table["cases"].iloc[0]) == 3429


def _pm4py_filtered(name: str, how: str) -> Any:
    pm4py = import_pm4py()
    frame = oracle(name)
    if how == "events":
        return pm4py.filter_time_range(frame, "2011-03-01 00:00:00", "2011-06-01 00:00:00", mode="events")
    if how == "contained":
        return pm4py.filter_time_range(frame, "2011-03-01 00:00:00", "2011-06-01 00:00:00", mode="traces_contained")
    if how == "intersecting":
        return pm4py.filter_time_range(frame, "2011-03-01 00:00:00", "2011-06-01 00:00:00", mode="traces_intersecting")
    if how == "event-attribute":
        return pm4py.filter_event_attribute_values(frame, "org:group", ["Group 1", "Group 4"], level="event")
    return pm4py.filter_event_attribute_values(frame, "org:group", ["Group 2"], level="case")


@pytest.mark.parametrize("how", ["events", "contained", "intersecting", "event-attribute", "case-attribute"])
def test_filtered_dfg_and_variants_equal_pm4py_filters(how: str) -> None:
    from datetime import datetime

    pm4py = import_pm4py()
    start, end = datetime(2011, 3, 1, tzinfo=UTC), datetime(2011, 6, 1, tzinfo=UTC)
    filters: dict[str, miner.TimeWindow | miner.AttributeFilter] = {
        "events": miner.TimeWindow(start, end, mode="events"),
        "contained": miner.TimeWindow(start, end, mode="contained"),
        "intersecting": miner.TimeWindow(start, end, mode="intersecting"),
        "event-attribute": miner.AttributeFilter("org:group", ("Group 1", "Group 4"), level="event"),
        "case-attribute": miner.AttributeFilter("org:group", ("Group 2",), level="case"),
    }
    log = ours("receipt.xes")
    narrowed = miner.flatten(log.log, filters=(filters[how],))
    expected_frame = _pm4py_filtered("receipt.xes", how)
    expected, _, _ = pm4py.discover_dfg(expected_frame)
    found = miner.dfg(narrowed).table
    assert {(s, t): int(n) for s, t, n in found[["source", "target", "frequency"]].itertuples(index=False)} == {
        k: int(v) for k, v in expected.items()
    }
    assert miner.variants(narrowed).cases == expected_frame["case:concept:name"].nunique()
