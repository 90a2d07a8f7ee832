"""The one benchmark command: every workload side by side, outputs checked, one table appended.

    .venv/bin/python benchmarks/run_all.py --events 1000000 [--events 10000000] [--no-spark]

Runs, for each size, ``bench_core.py`` (import XES and OCEL 2.0, DFG, performance DFG, variants
against pm4py, outputs checked identical) and ``bench_handoffs.py`` (hand-offs against pm4py's
handover-of-work network, identical values); then ``bench_spark.py`` on the simulated default year
(the engine-side analyses on Spark local[2] against DuckDB on 2 threads, identical results). Each
script stops with an error when outputs differ, so a table is only written for checked outputs.
Prints the table (seconds, ratios, peak bytes per event) and appends it, with the machine
description, to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
ROOT = HERE.parent
OUT = HERE / "out"
DOC = ROOT / "docs" / "benchmarks.md"


def machine() -> str:
    """nproc, memory, CPU model, OS and the versions that matter."""
    import duckdb
    import pandas

    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        kib = int(info.readline().split()[1])
    versions = f"Python {platform.python_version()}, DuckDB {duckdb.__version__}, pandas {pandas.__version__}"
    try:
        import pyspark

        versions += f", PySpark {pyspark.__version__}"
    except ImportError:
        pass
    return (f"{os.cpu_count()} cores ({cpu}), {kib / 2**20:.0f} GiB, {platform.system()} "
            f"{platform.release()}, {versions}; load average {os.getloadavg()[0]:.1f} at the start")


def _rows_since(offset: int) -> list[dict[str, Any]]:
    path = OUT / "results.jsonl"
    if not path.exists():
        return []
    with open(path) as f:
        f.seek(offset)
        return [json.loads(line) for line in f if line.strip()]


def _size() -> int:
    path = OUT / "results.jsonl"
    return path.stat().st_size if path.exists() else 0


def _script(name: str, *args: str) -> None:
    print(f"\n$ {name} {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, str(HERE / name), *args], check=True, cwd=HERE)


def simulated_year(folder: Path) -> Path:
    """The simulated default year, ingested once into ``folder/year.duckdb``."""
    workspace = folder / "year.duckdb"
    if workspace.exists():
        return workspace
    key = folder / "bench.key"
    key.write_text(base64.b64encode(os.urandom(32)).decode())
    miner = [sys.executable, "-m", "miner.cli"]
    subprocess.run([*miner, "simulate", "--out", str(folder / "sim")], check=True, cwd=ROOT)
    subprocess.run([*miner, "ingest", "--workspace", str(workspace), "--key-file", str(key),
                    str(folder / "sim")], check=True, cwd=ROOT)
    return workspace


def table(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown lines: one row per (size, step)."""
    lines = ["| events | step | miner s | pm4py s | pm4py / miner | miner peak bytes/event |",
             "|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        n = r.get("events", 0)
        if r.get("benchmark") == "handoffs":
            m, p = r["miner"]["handoffs"], r["pm4py"]["discover_handover_of_work_network"]
            lines.append(f"| {n:,} | handover of work | {m['seconds']:.3f} | {p['seconds']:.2f} | "
                         f"{r['ratio']:.1f}× | {m['peak_added_bytes'] / n:.0f} |")
        elif "ratios" in r:
            for label, m in r["miner"].items():
                lines.append(f"| {n:,} | {label} | {m['seconds']:.3f} | | | "
                             f"{m['peak_added_bytes'] / n:.0f} |")
            for label, p in r["pm4py"].items():
                lines.append(f"| {n:,} | pm4py: {label} | | {p['seconds']:.2f} | | |")
            for name, ratio in r["ratios"].items():
                lines.append(f"| {n:,} | ratio: {name} | | | **{ratio:.1f}×** | |")
    spark = [r for r in rows if r.get("benchmark") == "spark"]
    for r in spark:
        heading = (f"Spark {r['master']} against DuckDB on {r['cores']} threads, "
                   f"{r['events']:,} events (the simulated year); Parquet export "
                   f"{r['export_s']:.1f} s.")
        lines += ["", heading, "",
                  "| analysis | DuckDB s | Spark s | Spark / DuckDB | identical |",
                  "|---|---:|---:|---:|---|"]
        for a in r["rows"]:
            lines.append(f"| {a['analysis']} | {a['duckdb_s']:.2f} | {a['spark_s']:.2f} | "
                         f"{a['spark_s'] / a['duckdb_s']:.1f}× | "
                         f"{'yes' if a['identical'] else '**no**'} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, action="append",
                        help="log size (repeatable; default 10^6)")
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave the docs alone")
    parser.add_argument("--work", type=Path, default=Path("/tmp/miner-bench"))
    args = parser.parse_args()
    description = machine()
    start = _size()
    for n in args.events or [1_000_000]:
        extra = ["--no-pm4py-xes"] if n >= 10_000_000 else []
        _script("bench_core.py", "--events", str(n), *extra)
        _script("bench_handoffs.py", "--events", str(n))
    if not args.no_spark:
        args.work.mkdir(parents=True, exist_ok=True)
        _script("bench_spark.py", "--workspace", str(simulated_year(args.work)))
    lines = table(_rows_since(start))
    print("\n" + "\n".join(lines))
    if not args.no_doc:
        with open(DOC, "a", encoding="utf-8") as doc:
            doc.write(f"\n## {dt.date.today().isoformat()}, benchmarks/run_all.py\n"
                      f"Machine: {description}.\n\n" + "\n".join(lines) + "\n")
        print(f"\nappended to {DOC}")


if __name__ == "__main__":
    main()
