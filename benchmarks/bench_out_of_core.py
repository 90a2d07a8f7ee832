"""Benchmark: a workspace of N events (10^8 by hand) built and analysed under a DuckDB memory cap.

    .venv/bin/python benchmarks/bench_out_of_core.py --events 100000000 --memory-limit 8GB

Generates the synthetic log of benchmarks/synthetic.py (written chunk by chunk), imports it into a
workspace file with DuckDB's ``memory_limit`` set (beyond it DuckDB spills to the ``.tmp`` folder
beside the workspace), builds the case index and runs the DFG, variants and case durations from the
index and the DFG computed live (the filtered path). For every step it prints seconds, the peak
resident memory the step added, that peak per event, and the largest spill seen (sampled every
50 ms). Checks that the figures agree with each other (events, cases, DFG frequencies against the
case count, the live DFG equal to the index's) — pm4py itself cannot hold 10^8 events on this machine
(a 10^7 DataFrame and one DFG already take ≈3.4 GB), so there is no pm4py column. Appends a row to
benchmarks/out/results.jsonl. Not part of the test run.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench_core import peaks, rss
from synthetic import synthetic_log

import miner
from miner.analysis.cases import case_durations

OUT = Path(__file__).parent / "out"


def folder_bytes(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.path.getsize(os.path.join(root, name))
    return total


@contextlib.contextmanager
def measured(label: str, results: dict[str, dict[str, float]], n: int, spill: Path) -> Iterator[None]:
    gc.collect()
    base = rss()
    start = time.perf_counter()
    with peaks(rss, lambda: folder_bytes(spill), every=0.05) as peak:
        yield
    seconds = time.perf_counter() - start
    added = peak[0] - base
    results[label] = {"seconds": seconds, "peak_added_bytes": added, "peak_rss_bytes": peak[0],
                      "spill_bytes": peak[1], "load": os.getloadavg()[0]}
    print(f"  {label:<32} {seconds:8.1f} s  +{added / 2**20:7.0f} MiB ({added / n:5.1f} B/event)"
          f"  RSS {peak[0] / 2**30:5.2f} GiB  spill {peak[1] / 2**30:5.2f} GiB"
          f"  load {os.getloadavg()[0]:.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--memory-limit", default="8GB", help="DuckDB memory_limit (default 8GB)")
    parser.add_argument("--work", type=Path, default=OUT, help="folder for the log and workspace")
    parser.add_argument("--reuse", action="store_true",
                        help="keep a workspace left by an earlier run (no import; its case index too)")
    args = parser.parse_args()
    n = args.events
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"{n:,} events, {os.cpu_count()} cores, memory_limit {args.memory_limit}", flush=True)
    start = time.perf_counter()
    data = synthetic_log(n, args.work / f"synthetic-{n}.parquet")
    print(f"  synthetic log {data} ({data.stat().st_size / 2**30:.2f} GiB): "
          f"{time.perf_counter() - start:.0f} s", flush=True)

    workspace = args.work / f"out-of-core-{n}.duckdb"
    reuse = args.reuse and workspace.exists()
    if not reuse:
        workspace.unlink(missing_ok=True)
    spill = args.work / f"out-of-core-{n}.spill"
    spill.mkdir(exist_ok=True)
    log = miner.connect(workspace)
    log.con.execute(f"SET memory_limit = '{args.memory_limit}'")
    log.con.execute(f"SET temp_directory = '{spill}'")
    ours: dict[str, dict[str, float]] = {}
    mapping = miner.ColumnMapping(activity="activity", timestamp="timestamp", objects={"case_id": "case"})
    if not reuse:
        with measured("import parquet → workspace", ours, n, spill):
            miner.load(data, log, mapping=mapping)
        log.con.execute("CHECKPOINT")
    size = workspace.stat().st_size
    print(f"  workspace file {size / 2**30:.2f} GiB ({size / n:.0f} bytes/event)", flush=True)
    flat = miner.flatten(log)
    with measured("case index (first query)", ours, n, spill):
        flat.steps_sql()
    with measured("dfg (frequency + performance)", ours, n, spill):
        graph = miner.dfg(flat)
    with measured("variants", ours, n, spill):
        found = miner.variants(flat)
    with measured("case durations", ours, n, spill):
        durations = case_durations(flat)
    live = miner.flatten(log, filters=(miner.TimeWindow(mode="events"),))
    with measured("dfg, computed live (no index)", ours, n, spill):
        live_graph = miner.dfg(live)

    events = log.count("events")
    cases = len(durations.table)
    counts = found.counts()
    assert events == n, f"{events} events in the workspace, {n} generated"
    assert sum(counts.values()) == cases, "variants do not cover every case"
    assert int(graph.table["frequency"].sum()) == n - cases, "DFG frequencies ≠ events − cases"
    assert sum(graph.start_activities.values()) == cases == sum(graph.end_activities.values())
    assert live_graph.table.equals(graph.table), "live DFG differs from the index's"
    print(f"consistent: {events:,} events, {cases:,} cases, {len(counts):,} variants, "
          f"{len(graph.table)} DFG edges (frequencies sum to events − cases), live DFG = index DFG")
    log.close()
    record: dict[str, Any] = {"benchmark": "out_of_core", "events": n, "cases": cases,
                              "variants": len(counts), "memory_limit": args.memory_limit,
                              "reused_workspace": reuse,
                              "workspace_bytes": size, "machine": platform.platform(),
                              "cores": os.cpu_count(), "miner": ours}
    OUT.mkdir(exist_ok=True)
    with open(OUT / "results.jsonl", "a") as out:
        out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
