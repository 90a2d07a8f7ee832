"""Benchmark: the engine-side analyses on Spark (local mode) against DuckDB, on one workspace.

    .venv/bin/python benchmarks/bench_spark.py --workspace eventlogs/chain.duckdb [--master local[2]]
    .venv/bin/python benchmarks/bench_spark.py --workspace benchmarks/out/synthetic-10000000.duckdb \
        --object-type case

With ``--object-type`` other than ``vreemdeling`` (a synthetic workspace of bench_core.py, which has
no chain attributes) only the case-notion analyses run: DFG, variants, case durations.

Runs DFG (with the case index), variants, case durations, hand-offs, stock, norms, duplicate
work, bottlenecks, queue discipline, no-shows, registration lag and measures (every analysis of
``miner analyze`` but the basics) on DuckDB and on Spark through the same analysis functions,
checks the results are identical (floats to 1e-9 relative), and prints seconds and events per
second per core for both. DuckDB is limited to as many threads as Spark has cores, so the ratio is
per core. Appends a row to benchmarks/out/results.jsonl. Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from miner.analysis.bottlenecks import bottlenecks
from miner.analysis.cases import case_durations
from miner.analysis.chain import all_measures
from miner.analysis.dfg import dfg
from miner.analysis.duplicates import duplicate_work
from miner.analysis.handoffs import handoffs
from miner.analysis.lag import registration_lag
from miner.analysis.norms import norms
from miner.analysis.noshows import no_shows
from miner.analysis.queues import queue_discipline
from miner.analysis.stock import stock
from miner.analysis.variants import variants
from miner.engine import connect, spark_session
from miner.engine.compare import differences
from miner.model.flatten import flatten
from miner.model.log import Log

OUT = Path(__file__).parent / "out"
T = "vreemdeling"


def case_analyses(object_type: str) -> dict[str, Callable[[Log], Any]]:
    """DFG (building the case index), variants and case durations on ``object_type``."""

    def _dfg(log: Log) -> Any:
        g = dfg(flatten(log, object_type=object_type))
        return [g.table.to_dict("list"), g.start_activities, g.end_activities]

    def _variants(log: Log) -> Any:
        t = variants(flatten(log, object_type=object_type)).table
        return [[list(v) for v in t["variant"]], t["cases"].tolist()]

    return {
        "DFG + performance (builds the case index)": _dfg,
        "variants": _variants,
        "case durations": lambda log: case_durations(flatten(log, object_type=object_type)).to_dict(),
    }


ANALYSES: dict[str, Callable[[Log], Any]] = {
    **case_analyses(T),
    "hand-offs": lambda log: handoffs(log).to_dict(),
    "stock over time": lambda log: stock(log).to_dict(),
    "norms": lambda log: norms(log).to_dict(),
    "duplicate work": lambda log: duplicate_work(log).to_dict(),
    "bottlenecks": lambda log: bottlenecks(log).to_dict(),
    "queue discipline (builds the chain-event selection)": lambda log: queue_discipline(log).to_dict(),
    "no-shows": lambda log: no_shows(log).to_dict(),
    "registration lag": lambda log: registration_lag(log).to_dict(),
    "measures": lambda log: all_measures(log).to_dict(),
}


def run(workspace: Path, master: str, object_type: str = T) -> dict[str, Any]:
    cores = int(master.removeprefix("local[").rstrip("]")) if master.startswith("local[") else 0
    folder = Path(tempfile.mkdtemp(prefix="miner-bench-spark-"))
    copy = folder / "ws.duckdb"
    shutil.copy(workspace, copy)
    duck = connect(copy)
    # A case index left in the workspace would spare DuckDB the work Spark does: drop it.
    duck.con.execute("DELETE FROM log_meta WHERE key = 'miner.case_index'")
    if cores:
        duck.con.execute(f"SET threads = {cores}")
    events = int(duck.con.execute("SELECT count(*) FROM events").fetchall()[0][0])
    session = spark_session(master, driver_memory="4g")
    started = time.perf_counter()
    on_spark = connect(duck, engine="spark", session=session, parquet=folder / "parquet")
    export = time.perf_counter() - started
    print(f"{events:,} events; Parquet export and registration {export:.1f} s")
    rows: list[dict[str, Any]] = []
    chosen = ANALYSES if object_type == T else case_analyses(object_type)
    for name, analysis in chosen.items():
        t0 = time.perf_counter()
        expected = analysis(duck)
        t1 = time.perf_counter()
        found = analysis(on_spark)
        t2 = time.perf_counter()
        diff = differences(expected, found, rel=1e-9)
        rows.append({"analysis": name, "duckdb_s": t1 - t0, "spark_s": t2 - t1,
                     "identical": not diff})
        print(f"  {name:<44} duckdb {t1 - t0:8.2f} s   spark {t2 - t1:8.2f} s   "
              f"{(t2 - t1) / (t1 - t0):6.1f}×  {'identical' if not diff else diff[:3]}",
              flush=True)
    session.stop()
    duck.close()
    shutil.rmtree(folder, ignore_errors=True)
    total_d = sum(r["duckdb_s"] for r in rows)
    total_s = sum(r["spark_s"] for r in rows)
    per_core = f"{cores} cores each" if cores else "cluster"
    print(f"total: duckdb {total_d:.1f} s, spark {total_s:.1f} s ({per_core}); Spark per-core "
          f"throughput is 1/{total_s / total_d:.1f} of DuckDB's")
    record = {"benchmark": "spark", "events": events, "master": master, "cores": cores,
              "object_type": object_type,
              "machine": platform.platform(), "load": os.getloadavg()[0], "export_s": export,
              "rows": rows}
    OUT.mkdir(exist_ok=True)
    with open(OUT / "results.jsonl", "a") as out:
        out.write(json.dumps(record) + "\n")
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--object-type", default=T,
                        help="case notion; other than vreemdeling: only DFG, variants, durations")
    args = parser.parse_args()
    run(args.workspace, args.master, args.object_type)


if __name__ == "__main__":
    main()
