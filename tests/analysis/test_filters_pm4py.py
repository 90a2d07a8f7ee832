"""Every filter, alone and composed, gives pm4py's figures on pm4py's filtered log (the oracle).

For each shared real log (bpic2012, receipt, sepsis, order-management flattened on orders) and each
filter that ``stats``, ``dfg``, ``variants`` and the explorer take, the filtered DFG (frequencies,
start and end activities, performance to 1e-9), the variants, the case durations and, where the log
has resources, the handover-of-work network equal pm4py's computed on the frame pm4py's own filter
returns. The filter arguments are read off each log (its busiest activity, a middle time window …),
so every filter keeps some cases and drops others; the test checks that too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pandas as pd
import pytest

import miner
from tests.analysis.test_parity_pm4py import oracle as case_log_oracle
from tests.analysis.test_parity_pm4py import ours as case_log_ours
from tests.conftest import import_pm4py, reallog

LOGS = ["receipt.xes", "bpic2012.xes.gz", "sepsis.csv", "order-management.json.gz"]
#: Logs whose events carry org:resource (the handover network's resource).
WITH_RESOURCES = {"receipt.xes", "bpic2012.xes.gz"}
#: The event attribute filtered on per log (order-management's events have none: the activity).
EVENT_ATTRIBUTE = {"receipt.xes": "org:group", "bpic2012.xes.gz": "org:resource",
                   "sepsis.csv": "org:group", "order-management.json.gz": "concept:name"}


@cache
def ours(name: str) -> miner.EventLog:
    if name == "order-management.json.gz":
        return miner.flatten(miner.read(reallog(name)), object_type="orders")
    return case_log_ours(name)


@cache
def oracle(name: str) -> pd.DataFrame:
    if name == "order-management.json.gz":
        pm4py = import_pm4py()
        frame: pd.DataFrame = pm4py.ocel_flattening(pm4py.read_ocel2_json(str(reallog(name))), "orders")
        # pm4py's flattening keeps the log's global time order and naive UTC times; its case
        # figures expect each case's events together, in time order (ties: file order).
        frame["time:timestamp"] = frame["time:timestamp"].dt.tz_localize("UTC")
        return frame.sort_values(["case:concept:name", "time:timestamp"], kind="stable").reset_index(drop=True)
    return case_log_oracle(name)


@dataclass(frozen=True)
class Case:
    """One filter case: miner's filters and pm4py's filtering of the frame."""

    filters: tuple[Any, ...]
    theirs: Callable[[pd.DataFrame], pd.DataFrame]


def _utc(ts: pd.Timestamp) -> datetime:
    return ts.tz_convert("UTC").to_pydatetime() if ts.tzinfo else ts.to_pydatetime().replace(tzinfo=UTC)


@cache
def facts(name: str) -> dict[str, Any]:
    """Filter arguments read off the log: a middle window, busy activities and a common edge."""
    pm4py = import_pm4py()
    frame = oracle(name)
    first, last = frame["time:timestamp"].min(), frame["time:timestamp"].max()
    span = last - first
    start, end = (first + 0.3 * span).floor("s"), (first + 0.6 * span).floor("s")
    per_case = frame.groupby("case:concept:name")["concept:name"].agg(set)
    cases_with = pd.Series([a for acts in per_case for a in acts]).value_counts()
    # the busiest activity that not every case has
    activity = next(a for a, n in cases_with.items() if n < len(per_case))
    _dfg, starts, ends = pm4py.discover_dfg(frame)
    following = frame.groupby("case:concept:name", sort=False)["concept:name"].shift(-1)
    pairs = pd.DataFrame({"case": frame["case:concept:name"], "s": frame["concept:name"], "t": following}).dropna()
    cases_per_edge = pairs.drop_duplicates().groupby(["s", "t"]).size()
    # the busiest edge between two activities that not every case takes
    source, target = max(((s, t) for (s, t), n in cases_per_edge.items() if s != t and n < len(per_case)),
                         key=lambda e: (cases_per_edge[e], e))
    variants = pm4py.get_variants(frame)
    top = sorted(variants, key=lambda v: (-_count(variants[v]), v))[:3]
    durations = sorted(pm4py.get_all_case_durations(frame))
    attribute = EVENT_ATTRIBUTE[name]
    values = frame[attribute].dropna().value_counts().index[:3].tolist()
    coverage = frame.dropna(subset=[attribute]).groupby(attribute)["case:concept:name"].nunique()
    # the case filter's value: the one most cases have, but not all
    case_value = max((v for v, n in coverage.items() if n < len(per_case)), key=lambda v: (coverage[v], v))
    positions = frame.assign(pos=frame.groupby("case:concept:name").cumcount())
    first_s = positions[positions["concept:name"] == source].groupby("case:concept:name")["pos"].min()
    last_t = positions[positions["concept:name"] == target].groupby("case:concept:name")["pos"].max()
    eventually = int((first_s < last_t.reindex(first_s.index)).sum())
    return {
        "start": _utc(start), "end": _utc(end), "activity": activity, "edge": (source, target),
        "variants": top, "min_s": durations[len(durations) // 4], "max_s": durations[3 * len(durations) // 4],
        "start_activity": min(starts, key=lambda a: (-starts[a], a)),
        "end_activity": min(ends, key=lambda a: (-ends[a], a)),
        "case_value": case_value,
        # filters that cannot drop a case on this log (every case starts with one activity, say)
        "keeps_all": {"event-attribute", "event-attribute-dropped"}
        | ({"eventually-follows"} if eventually == len(per_case) else set()) | ({"start-activity"} if len(starts) == 1 else set())
        | ({"end-activity"} if len(ends) == 1 else set()),
        "attribute": attribute, "values": values, "ts_start": start, "ts_end": end,
    }


def _objects(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({"concept:name": object, "case:concept:name": object})


def _count(v: Any) -> int:
    return len(v) if isinstance(v, list) else int(v)


def _attr_name(attribute: str) -> str:
    return "activity" if attribute == "concept:name" else attribute


def cases_for(name: str) -> dict[str, Case]:
    pm4py = import_pm4py()
    f = facts(name)
    when = tuple(_utc(t).strftime("%Y-%m-%d %H:%M:%S") for t in (f["ts_start"], f["ts_end"]))
    a, (s, t) = f["activity"], f["edge"]
    attr, values = f["attribute"], f["values"]

    def window(mode: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
        return lambda d: pm4py.filter_time_range(d, *when, mode=mode)

    found = {
        "time-events": Case((miner.TimeWindow(f["start"], f["end"], mode="events"),), window("events")),
        "time-contained": Case((miner.TimeWindow(f["start"], f["end"], mode="contained"),),
                               window("traces_contained")),
        "time-intersecting": Case((miner.TimeWindow(f["start"], f["end"], mode="intersecting"),),
                                  window("traces_intersecting")),
        "event-attribute": Case((miner.AttributeFilter(_attr_name(attr), tuple(values), level="event"),),
                                lambda d: pm4py.filter_event_attribute_values(d, attr, values, level="event")),
        "event-attribute-dropped": Case(
            (miner.AttributeFilter(_attr_name(attr), tuple(values[:1]), level="event", retain=False),),
            lambda d: pm4py.filter_event_attribute_values(d, attr, values[:1], level="event", retain=False)),
        "case-attribute": Case((miner.AttributeFilter(_attr_name(attr), (f["case_value"],), level="case"),),
                               lambda d: pm4py.filter_event_attribute_values(d, attr, [f["case_value"]], level="case")),
        "activity-present": Case((miner.AttributeFilter("activity", (a,), level="case"),),
                                 lambda d: pm4py.filter_event_attribute_values(d, "concept:name", [a], level="case")),
        "activity-absent": Case(
            (miner.AttributeFilter("activity", (a,), level="case", retain=False),),
            lambda d: pm4py.filter_event_attribute_values(d, "concept:name", [a], level="case", retain=False)),
        # pm4py's variant filter fails on pandas 3's Arrow strings: it is given object columns.
        "variant": Case((miner.VariantFilter(tuple(f["variants"])),),
                        lambda d: pm4py.filter_variants(_objects(d), f["variants"])),
        "case-duration": Case((miner.DurationFilter(f["min_s"], f["max_s"]),),
                              lambda d: pm4py.filter_case_performance(d, f["min_s"], f["max_s"])),
        "directly-follows": Case((miner.FollowsFilter(s, t),),
                                 lambda d: pm4py.filter_directly_follows_relation(d, [(s, t)])),
        "eventually-follows": Case((miner.FollowsFilter(s, t, directly=False),),
                                   lambda d: pm4py.filter_eventually_follows_relation(d, [(s, t)])),
        "start-activity": Case((miner.EndpointFilter((f["start_activity"],), side="start"),),
                               lambda d: pm4py.filter_start_activities(d, [f["start_activity"]])),
        "end-activity": Case((miner.EndpointFilter((f["end_activity"],), side="end"),),
                             lambda d: pm4py.filter_end_activities(d, [f["end_activity"]])),
        # Composed, in order: a case filter, then an event filter, then a case filter on the trimmed
        # cases (their start activity may have changed).
        "composed": Case(
            (miner.TimeWindow(f["start"], f["end"], mode="intersecting"),
             miner.AttributeFilter("activity", (a,), level="event", retain=False),
             miner.DurationFilter(None, f["max_s"])),
            lambda d: pm4py.filter_case_performance(
                pm4py.filter_event_attribute_values(window("traces_intersecting")(d), "concept:name", [a],
                                                    level="event", retain=False), 0, f["max_s"])),
    }
    return found


FILTERS = [
    "time-events", "time-contained", "time-intersecting", "event-attribute", "event-attribute-dropped",
    "case-attribute", "activity-present", "activity-absent", "variant", "case-duration",
    "directly-follows", "eventually-follows", "start-activity", "end-activity", "composed"]


@pytest.mark.parametrize("how", FILTERS)
@pytest.mark.parametrize("name", LOGS)
def test_filtered_figures_equal_pm4py_on_its_filtered_log(name: str, how: str) -> None:
    pm4py = import_pm4py()
    case = cases_for(name)[how]
    frame = case.theirs(oracle(name))
    view = ours(name).narrowed(*case.filters)
    all_cases = oracle(name)["case:concept:name"].nunique()
    kept = frame["case:concept:name"].nunique()
    assert 0 < kept < all_cases or how in facts(name)["keeps_all"], (how, kept, all_cases)

    # DFG: frequencies and start/end activities
    graph = miner.dfg(view)
    expected, starts, ends = pm4py.discover_dfg(frame)
    found = {(s, t): int(n) for s, t, n in graph.table[["source", "target", "frequency"]].itertuples(index=False)}
    assert found == {k: int(v) for k, v in expected.items()}
    assert graph.start_activities == {k: int(v) for k, v in starts.items()}
    assert graph.end_activities == {k: int(v) for k, v in ends.items()}

    # performance DFG
    performance, _, _ = pm4py.discover_performance_dfg(frame)
    table = graph.table.set_index(["source", "target"])
    for edge, stats in performance.items():
        for ours_key, theirs_key in (("mean_s", "mean"), ("median_s", "median"), ("min_s", "min"), ("max_s", "max")):
            assert math.isclose(table.loc[edge][ours_key], stats[theirs_key], rel_tol=1e-9, abs_tol=1e-9), (edge, ours_key)

    # variants
    variants = miner.variants(view)
    assert variants.counts() == {tuple(k): _count(v) for k, v in pm4py.get_variants(frame).items()}
    assert variants.cases == kept

    # case durations
    durations = sorted(miner.case_durations(view).table["duration_s"].tolist())
    theirs = sorted(pm4py.get_all_case_durations(frame))
    assert len(durations) == len(theirs)
    assert all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6) for x, y in zip(durations, theirs))

    # handover of work (resource = org:resource)
    if name in WITH_RESOURCES:
        network = miner.handover_network(view)
        expected_network = _pm4py_handover(frame)
        assert set(network.metric()) == set(expected_network)
        for pair, value in expected_network.items():
            assert math.isclose(network.metric()[pair], value, rel_tol=1e-9), pair


def _pm4py_handover(frame: pd.DataFrame) -> dict[tuple[str, str], float]:
    """pm4py's handover metric, leaving out pairs with an event without a resource. pm4py cannot
    sort resource sequences holding a missing value, so those get a stand-in name here, and the pairs
    that touch it are dropped and the rest renormalised (the metric is a pair's share of all pairs)."""
    pm4py = import_pm4py()
    none = "\x00no resource"
    filled = frame.astype({"org:resource": object}).fillna({"org:resource": none})
    found = pm4py.discover_handover_of_work_network(filled, beta=0).connections
    kept = {pair: v for pair, v in found.items() if none not in pair}
    total = sum(kept.values())
    return {pair: v / total for pair, v in kept.items()}


def test_stats_counts_follow_the_filters() -> None:
    case = cases_for("receipt.xes")["composed"]
    frame = case.theirs(oracle("receipt.xes"))
    view = ours("receipt.xes").narrowed(*case.filters)
    stats = miner.log_statistics(view.log, case_notion=view)
    assert stats.cases == frame["case:concept:name"].nunique()
    pm4py = import_pm4py()
    assert stats.variants == len(pm4py.get_variants(frame))


def test_a_filter_that_keeps_nothing_gives_empty_figures_not_an_error() -> None:
    view = ours("receipt.xes").narrowed(miner.AttributeFilter("activity", ("no such activity",), level="case"))
    assert miner.dfg(view).table.empty and miner.variants(view).cases == 0
    assert miner.case_durations(view).cases == 0


def test_filters_apply_in_order() -> None:
    # Dropping the busiest activity, then keeping cases that start with it, keeps none;
    # the other order keeps those cases, trimmed.
    f = facts("receipt.xes")
    start = f["start_activity"]
    drop = miner.AttributeFilter("activity", (start,), level="event", retain=False)
    starts = miner.EndpointFilter((start,), side="start")
    assert miner.variants(ours("receipt.xes").narrowed(drop, starts)).cases == 0
    assert miner.variants(ours("receipt.xes").narrowed(starts, drop)).cases > 0
