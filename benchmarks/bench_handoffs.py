"""Benchmark: miner's hand-off analysis against pm4py's handover-of-work network on the same data.

    .venv/bin/python benchmarks/bench_handoffs.py --events 1000000
    .venv/bin/python benchmarks/bench_handoffs.py --events 10000000

The synthetic log of benchmarks/synthetic.py (cases = foreigners) gets an ``activity_id`` (a
catalogue id per activity, so the phases resolve) and an ``organisation``: the catalogue lane of
that activity, or for 15 % of the events a random one of eight organisations. miner imports it into
a workspace (timed apart), the ``journey`` table is built (timed apart: it is built once per
connection and shared by all chain analyses; it carries each event's consecutive-pair columns), then
``handover_of_work(log)`` (the network alone, pm4py's figure) and the full ``handoffs(log)``
(latencies, ping-pongs, phases besides) run on it; pm4py gets the same events as a DataFrame in case, time and read order and runs ``discover_handover_of_work_network(beta=0,
resource_key='org:resource')``. Prints wall and CPU seconds, the ratio pm4py / miner and the peak
resident memory each step added (sampled every 5 ms), checks that the networks are identical (every
value equal) and appends a row to benchmarks/out/results.jsonl. Not part of the test run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from bench_core import measured as wall_and_memory
from bench_core import quiet_pm4py
from synthetic import ACTIVITIES, synthetic_log

import miner
from miner.analysis.handoffs import handoffs, handover_of_work
from miner.analysis.journey import create_journey
from miner.catalogue import chain_catalogue

OUT = Path(__file__).parent / "out"
ORGANISATIONS = ["IND", "Politie", "COA", "DT&V", "KMar", "GZA", "advocaat", "VluchtelingenWerk"]


@contextlib.contextmanager
def measured(label: str, results: dict[str, dict[str, float]]) -> Iterator[None]:
    """Wall seconds and peak memory (bench_core), plus the CPU seconds of all the process's threads
    and the load average: the machine is shared, so CPU time is the steadier figure."""
    cpu = time.process_time()
    with wall_and_memory(label, results):
        yield
    results[label]["cpu_seconds"] = time.process_time() - cpu
    results[label]["load"] = os.getloadavg()[0]
    print(f"  {'':<34} cpu {results[label]['cpu_seconds']:7.3f} s   load {results[label]['load']:.1f}",
          flush=True)


def with_organisations(n: int, *, seed: int = 11) -> Path:
    """The synthetic log of ``n`` events plus ``activity_id`` and ``organisation`` (Parquet)."""
    path = OUT / f"handoffs-{n}.parquet"
    if path.exists():
        return path
    base = pq.read_table(synthetic_log(n, OUT / f"synthetic-{n}.parquet"))
    catalogue = list(chain_catalogue().values())
    # spread the 20 activities over the catalogue (and so over the phases)
    picked = [catalogue[(i * 7) % len(catalogue)] for i in range(len(ACTIVITIES))]
    index = {name: i for i, name in enumerate(ACTIVITIES)}
    acts = np.array([index[a] for a in base.column("activity").to_pylist()])
    rng = np.random.default_rng(seed)
    lane = np.array([ORGANISATIONS.index(a.lane.split(", ")[0])
                     if a.lane.split(", ")[0] in ORGANISATIONS else 0 for a in picked])
    org = lane[acts]
    other = rng.random(n) < 0.15
    org[other] = rng.integers(0, len(ORGANISATIONS), size=int(other.sum()))
    table = base.append_column("activity_id", pa.array(np.array([a.id for a in picked])[acts]))
    table = table.append_column("organisation", pa.array(np.array(ORGANISATIONS)[org]))
    pq.write_table(table, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.events
    OUT.mkdir(exist_ok=True)
    data = with_organisations(n)
    pm4py = quiet_pm4py()
    ours: dict[str, dict[str, float]] = {}
    theirs: dict[str, dict[str, float]] = {}
    print(f"{n:,} events, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")

    workspace = OUT / f"handoffs-{n}.duckdb"
    if not workspace.exists():
        mapping = miner.ColumnMapping(activity="activity", timestamp="timestamp",
                                      objects={"case_id": "vreemdeling"}, qualifier="vreemdeling")
        with measured("import parquet → workspace (once)", ours):
            miner.read(data, workspace=workspace, mapping=mapping).close()
    log = miner.connect(workspace)
    log.con.execute("SET enable_progress_bar = false")
    print("miner")
    with measured("journey table (once per connection)", ours):
        create_journey(log)
    with measured("handover_of_work", ours):
        network = handover_of_work(log)
    with measured("handoffs", ours):
        result = handoffs(log)
    with measured("handoffs (second run)", ours):
        handoffs(log)

    print("pm4py")
    with measured("read parquet → dataframe", theirs):
        frame = pd.read_parquet(data).rename(columns={
            "case_id": "case:concept:name", "activity": "concept:name",
            "timestamp": "time:timestamp", "organisation": "org:resource"})
        # the file is in case order and, within a case, in time and read order: ours exactly
    with measured("discover_handover_of_work_network", theirs):
        theirs_network = pm4py.discover_handover_of_work_network(
            frame, beta=0, resource_key="org:resource")

    expected = theirs_network.connections
    found = result.handover_of_work()
    assert set(found) == set(expected), "organisation pairs differ from pm4py"
    worst = max(abs(found[k] - expected[k]) for k in expected)
    assert found == expected, f"values differ from pm4py by up to {worst}"  # not even 1 ulp
    assert network.network() == expected, "handover_of_work differs from pm4py"
    print(f"identical output: {len(expected)} organisation pairs, largest difference {worst:.1e}; "
          f"{result.handoffs:,} hand-offs in {result.pairs:,} consecutive pairs")

    pm = theirs["discover_handover_of_work_network"]
    journey = ours["journey table (once per connection)"]
    alone = pm["seconds"] / ours["handover_of_work"]["seconds"]
    ratio = pm["seconds"] / ours["handoffs"]["seconds"]
    second = pm["seconds"] / ours["handoffs (second run)"]["seconds"]
    cpu_ratio = pm["cpu_seconds"] / ours["handoffs"]["cpu_seconds"]
    cold = pm["seconds"] / (journey["seconds"] + ours["handoffs"]["seconds"])
    print(f"\nratio pm4py / miner, the network alone: {alone:.1f}× (with the journey table built "
          f"first {pm['seconds'] / (journey['seconds'] + ours['handover_of_work']['seconds']):.1f}×)")
    print(f"ratio pm4py / the full hand-off analysis, wall: {ratio:.1f}× (second run {second:.1f}×, with the journey "
          f"table built first {cold:.1f}×); CPU seconds: {cpu_ratio:.1f}×")
    for label, m in {**ours, **theirs}.items():
        print(f"  bytes per event, {label:<36} {m['peak_added_bytes'] / n:8.1f}")
    record = {"benchmark": "handoffs", "events": n, "machine": platform.platform(),
              "cores": os.cpu_count(), "load": os.getloadavg()[0], "miner": ours, "pm4py": theirs,
              "ratio": ratio, "ratio_network": alone, "ratio_second_run": second, "ratio_with_journey": cold,
              "cpu_ratio": cpu_ratio,
              "largest_difference": worst}
    with open(OUT / "results.jsonl", "a") as out:
        out.write(json.dumps(record) + "\n")
    log.close()


if __name__ == "__main__":
    main()
