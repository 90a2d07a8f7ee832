"""Benchmark: miner against pm4py on the same synthetic log — import, DFG, performance DFG, variants.

    .venv/bin/python benchmarks/bench_core.py --events 1000000
    .venv/bin/python benchmarks/bench_core.py --events 10000000 --no-pm4py-xes

Prints seconds, the ratio pm4py/miner, and the peak resident memory each step added (sampled every
5 ms), checks that both give identical output, and appends a row per step to
benchmarks/out/results.jsonl. Not part of the test run.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import math
import os
import platform
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from synthetic import synthetic_log

import miner

OUT = Path(__file__).parent / "out"


def rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@contextlib.contextmanager
def peaks(*probes: Callable[[], int], every: float = 0.005) -> Iterator[list[int]]:
    """Sample every probe each ``every`` seconds while the block runs; the yielded list holds each
    probe's largest value (its value at the start included), final once the block has ended."""
    found = [probe() for probe in probes]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for i, probe in enumerate(probes):
                found[i] = max(found[i], probe())
            time.sleep(every)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        done.set()
        thread.join()
        for i, probe in enumerate(probes):
            found[i] = max(found[i], probe())


@contextlib.contextmanager
def measured(label: str, results: dict[str, dict[str, float]]) -> Iterator[None]:
    gc.collect()
    base = rss()
    start = time.perf_counter()
    with peaks(rss) as peak:
        yield
    seconds = time.perf_counter() - start
    results[label] = {"seconds": seconds, "peak_added_bytes": peak[0] - base}
    print(f"  {label:<34} {seconds:9.3f} s   +{(results[label]['peak_added_bytes']) / 2**20:8.1f} MiB", flush=True)


def quiet_pm4py() -> Any:
    with contextlib.redirect_stdout(io.StringIO()):
        import pm4py
    return pm4py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--no-pm4py-xes", action="store_true", help="skip pm4py's XES import (slow at 10^7)")
    parser.add_argument("--no-xes", action="store_true", help="skip the XES import comparison")
    parser.add_argument("--no-ocel", action="store_true", help="skip the OCEL 2.0 import comparison")
    args = parser.parse_args()
    n = args.events
    OUT.mkdir(exist_ok=True)
    data = synthetic_log(n, OUT / f"synthetic-{n}.parquet")
    pm4py = quiet_pm4py()
    ours: dict[str, dict[str, float]] = {}
    theirs: dict[str, dict[str, float]] = {}
    print(f"{n:,} events on {platform.processor() or platform.machine()}, {os.cpu_count()} cores")

    print("miner")
    mapping = miner.ColumnMapping(activity="activity", timestamp="timestamp", objects={"case_id": "case"})
    workspace = OUT / f"synthetic-{n}.duckdb"
    workspace.unlink(missing_ok=True)
    with measured("import parquet → workspace", ours):
        log = miner.read(data, workspace=workspace, mapping=mapping)
    flat = miner.flatten(log)
    with measured("case index (first query)", ours):
        flat.steps_sql()
    with measured("dfg (frequency + performance)", ours):
        graph = miner.dfg(flat)
    with measured("variants", ours):
        found = miner.variants(flat)
    live = miner.flatten(log, filters=(miner.TimeWindow(mode="events"),))
    with measured("dfg, computed live (no index)", ours):
        live_graph = miner.dfg(live)
    with measured("variants, computed live", ours):
        live_variants = miner.variants(live)

    print("pm4py")
    with measured("import parquet → dataframe", theirs):
        frame = pm4py.format_dataframe(
            pd.read_parquet(data), case_id="case_id", activity_key="activity", timestamp_key="timestamp"
        )
    with measured("dfg (frequency)", theirs):
        expected_dfg, expected_starts, expected_ends = pm4py.discover_dfg(frame)
    with measured("dfg (performance)", theirs):
        expected_perf, _, _ = pm4py.discover_performance_dfg(frame)
    with measured("variants", theirs):
        expected_variants = pm4py.get_variants(frame)

    edges = {(s, t): int(f) for s, t, f in graph.table[["source", "target", "frequency"]].itertuples(index=False)}
    assert edges == {k: int(v) for k, v in expected_dfg.items()}, "DFG differs from pm4py"
    assert graph.start_activities == dict(expected_starts) and graph.end_activities == dict(expected_ends)
    table = graph.table.set_index(["source", "target"])
    for edge, stats in expected_perf.items():
        assert math.isclose(table.loc[edge]["mean_s"], stats["mean"], rel_tol=1e-9)
        assert math.isclose(table.loc[edge]["median_s"], stats["median"], rel_tol=1e-9)
    assert found.counts() == {tuple(k): int(v) for k, v in expected_variants.items()}, "variants differ"
    assert live_graph.table.equals(graph.table) and live_variants.counts() == found.counts()
    print("identical output: DFG, start/end activities, performance (1e-9), variants")

    if not args.no_xes:
        xes = OUT / f"synthetic-{n}.xes"
        if not xes.exists():
            miner.write(log, xes)
        print("XES import")
        with measured("miner read_xes", ours):
            miner.read(xes).close()
        if not args.no_pm4py_xes:
            with measured("pm4py read_xes (iterparse)", theirs):
                pm4py.read_xes(str(xes), variant="iterparse")
            with measured("pm4py read_xes (rustxes)", theirs):
                pm4py.read_xes(str(xes), variant="rustxes")
    if not args.no_ocel:
        ocel = OUT / f"synthetic-{n}.jsonocel"
        if not ocel.exists():
            miner.write(log, ocel)
        print("OCEL 2.0 JSON import")
        with measured("miner read_ocel2_json", ours):
            miner.read(ocel).close()
        with measured("pm4py read_ocel2_json", theirs):
            pm4py.read_ocel2_json(str(ocel))

    print("\nratios (pm4py seconds / miner seconds)")
    pairs = [
        ("DFG", "dfg (frequency)", "dfg (frequency + performance)"),
        ("performance DFG", "dfg (performance)", "dfg (frequency + performance)"),
        ("variants", "variants", "variants"),
        ("DFG live", "dfg (frequency)", "dfg, computed live (no index)"),
        ("performance DFG live", "dfg (performance)", "dfg, computed live (no index)"),
        ("variants live", "variants", "variants, computed live"),
        ("XES import vs iterparse", "pm4py read_xes (iterparse)", "miner read_xes"),
        ("XES import vs rustxes", "pm4py read_xes (rustxes)", "miner read_xes"),
        ("OCEL 2.0 JSON import", "pm4py read_ocel2_json", "miner read_ocel2_json"),
    ]
    record: dict[str, Any] = {"events": n, "machine": platform.platform(), "cores": os.cpu_count(),
                              "miner": ours, "pm4py": theirs, "ratios": {}}
    for name, theirs_key, ours_key in pairs:
        if theirs_key in theirs and ours_key in ours:
            ratio = theirs[theirs_key]["seconds"] / ours[ours_key]["seconds"]
            record["ratios"][name] = ratio
            print(f"  {name:<28} {ratio:8.1f}×")
    if "miner read_xes" in ours:
        print(f"  miner XES import: {n / ours['miner read_xes']['seconds']:,.0f} events/s")
    for label, m in ours.items():
        print(f"  bytes per event, {label:<32} {m['peak_added_bytes'] / n:8.1f}")
    with open(OUT / "results.jsonl", "a") as out:
        out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
