"""The one benchmark command: every workload side by side, outputs checked, one table appended.

    .venv/bin/python benchmarks/run_all.py --events 1000000 [--events 10000000] [--no-spark]

Runs, for each size, ``bench_questions.py`` (the first questions — DFG with performance, variants,
case durations, handover network — cold from XES, CSV, Parquet and OCEL 2.0 JSON in fresh processes,
warm from a workspace, and under every filter, against pm4py, outputs checked equal; at 10^7 without
the XES file, as bench_core skips pm4py's XES import there; its tables are printed first),
``bench_core.py`` (import XES and OCEL 2.0, DFG, performance DFG, variants
against pm4py, outputs checked identical), ``bench_handoffs.py`` (hand-offs against pm4py's
handover-of-work network, identical values) and the workloads of this file (:func:`workloads`: case
durations against pm4py's ``get_all_case_durations``, token replay of the variants against pm4py's
``fitness_token_based_replay`` on the net pm4py's inductive miner (noise threshold 0.5) discovers
from the same log (up to ``--replay-max`` events: at 10^7 each side takes about 20 minutes), and
duplicate work and the end-to-end report (analyses of 2021 and 2020, rendered to HTML), which pm4py
has no counterpart of, on the simulated year); then ``bench_spark.py``
on the simulated default year (the chain analyses on Spark local[2] against DuckDB on 2 threads,
identical results). Each step stops with an error when outputs differ, so a table is only written
for checked outputs. Prints the table (seconds, ratios, peak bytes per event) and appends it, with
the machine description, to docs/benchmarks.md.
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


def workloads(n: int, year: Path | None, *, replay: bool = True) -> dict[str, Any]:
    """Case durations, token replay on variants (both against pm4py, outputs checked; the replay
    only when ``replay``), duplicate work and the end-to-end report (miner only) at ``n`` events;
    appends a ``workloads`` row to results.jsonl."""
    import math
    import platform

    import pandas as pd
    from bench_core import measured, quiet_pm4py
    from synthetic import synthetic_log

    import miner
    from miner.analysis.cases import case_durations

    data = synthetic_log(n, OUT / f"synthetic-{n}.parquet")
    workspace = OUT / f"synthetic-{n}-workloads.duckdb"
    workspace.unlink(missing_ok=True)
    mapping = miner.ColumnMapping(activity="activity", timestamp="timestamp",
                                  objects={"case_id": "case"})
    log = miner.read(data, workspace=workspace, mapping=mapping)
    flat = miner.flatten(log)
    flat.steps_sql()  # the case index, timed by bench_core as "case index (first query)"
    pm4py = quiet_pm4py()
    frame = pm4py.format_dataframe(pd.read_parquet(data), case_id="case_id",
                                   activity_key="activity", timestamp_key="timestamp")
    ours: dict[str, dict[str, float]] = {}
    theirs: dict[str, dict[str, float]] = {}
    rows: list[dict[str, Any]] = []

    print(f"{n:,} events: case durations")
    with measured("miner case_durations", ours):
        durations = case_durations(flat)
    with measured("pm4py get_all_case_durations", theirs):
        expected = pm4py.get_all_case_durations(frame)
    found = sorted(float(d) for d in durations.table["duration_s"])
    assert len(found) == len(expected) and all(
        math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) for a, b in zip(found, expected, strict=True)
    ), "case durations differ from pm4py"
    per_case = pm4py.statistics.traces.generic.pandas.case_statistics.get_cases_description(frame)
    assert {str(c): float(d) for c, d in zip(durations.table["case_id"],
                                             durations.table["duration_s"], strict=True)} == {
        str(c): float(v["caseDuration"]) for c, v in per_case.items()}, "per-case durations differ"
    print("  identical: every case's duration")
    rows.append({"step": "case durations", "miner": ours["miner case_durations"],
                 "pm4py": theirs["pm4py get_all_case_durations"]})

    if not replay:
        print("token replay: skipped at this size (--replay-max)")
    else:
        _replay(pm4py, frame, flat, ours, theirs, rows)
    log.close()
    workspace.unlink(missing_ok=True)
    if year is not None:
        _on_the_year(year, ours, rows)
    record = {"benchmark": "workloads", "events": n, "machine": platform.platform(),
              "cores": os.cpu_count(), "load": os.getloadavg()[0], "rows": rows}
    with open(OUT / "results.jsonl", "a") as out:
        out.write(json.dumps(record) + "\n")
    return record


def _replay(pm4py: Any, frame: Any, flat: Any, ours: dict[str, dict[str, float]],
            theirs: dict[str, dict[str, float]], rows: list[dict[str, Any]]) -> None:
    """Token replay of the variants against pm4py's, on the net its inductive miner finds."""
    import contextlib
    import io
    import math

    from bench_core import measured

    import miner
    from miner.conformance._controlflow import check_variants

    print("token replay on variants (net: pm4py inductive miner, noise 0.5, on the same log)")
    # Noise threshold 0.5: at 0 and 0.2 the net of this Markov log is a flower every trace fits;
    # at 0.5 about 11 % of the traces fit (log fitness about 0.83), so the check means something.
    net, im, fm = pm4py.discover_petri_net_inductive(frame, noise_threshold=0.5)
    with measured("miner variants + token replay", ours):
        variants = miner.variants(flat).counts()
        replay = check_variants(net, im, fm, variants, alignments=False, precision=False,
                                workers=1)
    with measured("pm4py fitness_token_based_replay", theirs), \
            contextlib.redirect_stderr(io.StringIO()):  # its progress bar
        fitness = pm4py.fitness_token_based_replay(frame, net, im, fm)
    cases = sum(variants.values())
    fits = 100.0 * sum(c.cases for c in replay.variants if c.replay_fits) / cases
    mean = sum(c.cases * (c.replay_fitness or 0.0) for c in replay.variants) / cases
    for name, a, b in (("log fitness", replay.log_replay_fitness, fitness["log_fitness"]),
                       ("fitting traces %", fits, fitness["percentage_of_fitting_traces"]),
                       ("average trace fitness", mean, fitness["average_trace_fitness"])):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"token replay {name}: {a} vs {b}"
    print(f"  identical: log fitness {replay.log_replay_fitness:.6f}, fitting traces {fits:.2f} %, "
          f"average trace fitness {mean:.6f} ({len(variants):,} variants, {cases:,} cases)")
    rows.append({"step": f"token replay on variants ({len(variants):,} variants, 1 process, "
                         f"log fitness {replay.log_replay_fitness:.4f})",
                 "miner": ours["miner variants + token replay"],
                 "pm4py": theirs["pm4py fitness_token_based_replay"]})


def _on_the_year(year: Path, ours: dict[str, dict[str, float]], rows: list[dict[str, Any]]) -> None:
    """Duplicate work and the end-to-end report on the simulated year (no pm4py counterpart)."""
    from bench_core import measured

    from miner.analysis.duplicates import duplicate_work
    from miner.model.log import connect
    from miner.report.render import write_report
    from miner.report.results import build_report_results

    on_year = connect(year, read_only=True)
    events = int(on_year.con.execute("SELECT count(*) FROM events").fetchall()[0][0])
    print(f"duplicate work on the simulated year ({events:,} events; no pm4py counterpart)")
    with measured("miner duplicate_work", ours):
        result = duplicate_work(on_year)
    print(f"  {result.repeats:,} repeats; identical on Spark: see bench_spark.py")
    rows.append({"step": f"duplicate work (simulated year, {events:,} events)",
                 "miner": ours["miner duplicate_work"], "pm4py": None, "events": events})
    on_year.close()
    # A fresh connection, as `miner report` has: the journey table is built inside the timing.
    on_year = connect(year, read_only=True)
    html = OUT / "bench-report.html"
    print("end-to-end report: period 2021 against 2020, every analysis, rendered to HTML")
    with measured("miner report --period 2021", ours):
        results = build_report_results(on_year, "2021")
        write_report(results, html)
    on_year.close()
    kpis = results["kpis"]
    print(f"  {html.stat().st_size / 1e6:.2f} MB HTML, {len(kpis)} KPIs")
    rows.append({"step": f"end-to-end report (simulated year, period 2021 vs 2020, {events:,} events)",
                 "miner": ours["miner report --period 2021"], "pm4py": None, "events": events})


def table(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown lines: one row per (size, step)."""
    lines = ["| events | step | miner s | pm4py s | pm4py / miner | miner peak bytes/event |",
             "|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        n = r.get("events", 0)
        if r.get("benchmark") == "handoffs":
            p = r["pm4py"]["discover_handover_of_work_network"]
            j = r["miner"]["journey table (once per connection)"]
            lines.append(f"| {n:,} | journey table (once per connection) | {j['seconds']:.3f} | | | "
                         f"{j['peak_added_bytes'] / n:.0f} |")
            for label, name in (("handover_of_work", "handover of work (the network)"),
                                ("handoffs", "hand-off analysis (network, latencies, phases)")):
                if label in r["miner"]:
                    m = r["miner"][label]
                    lines.append(f"| {n:,} | {name} | {m['seconds']:.3f} | {p['seconds']:.2f} | "
                                 f"**{p['seconds'] / m['seconds']:.1f}×** | "
                                 f"{m['peak_added_bytes'] / n:.0f} |")
        elif "ratios" in r:
            for label, m in r["miner"].items():
                lines.append(f"| {n:,} | {label} | {m['seconds']:.3f} | | | "
                             f"{m['peak_added_bytes'] / n:.0f} |")
            for label, p in r["pm4py"].items():
                lines.append(f"| {n:,} | pm4py: {label} | | {p['seconds']:.2f} | | |")
            for name, ratio in r["ratios"].items():
                lines.append(f"| {n:,} | ratio: {name} | | | **{ratio:.1f}×** | |")
        elif r.get("benchmark") == "workloads":
            for w in r["rows"]:
                m, p = w["miner"], w["pm4py"]
                size = w.get("events", n)
                pm4py_s = f"{p['seconds']:.2f}" if p else "–"
                ratio = f"**{p['seconds'] / m['seconds']:.1f}×**" if p else "–"
                lines.append(f"| {size:,} | {w['step']} | {m['seconds']:.3f} | {pm4py_s} | "
                             f"{ratio} | {m['peak_added_bytes'] / size:.0f} |")
    spark = [r for r in rows if r.get("benchmark") == "spark"]
    for r in spark:
        data = ("the simulated year" if r.get("object_type", "vreemdeling") == "vreemdeling"
                else f"synthetic log, case notion {r['object_type']}")
        heading = (f"Spark {r['master']} against DuckDB on {r['cores']} threads, "
                   f"{r['events']:,} events ({data}); Parquet export "
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
    parser.add_argument("--workloads", type=int, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--year", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--replay-max", type=int, default=1_000_000, metavar="N",
                        help="token replay only up to N events (default 10^6)")
    args = parser.parse_args()
    if args.workloads:  # the workloads of this file, in their own process (as the other scripts)
        workloads(args.workloads, args.year, replay=args.workloads <= args.replay_max)
        return
    description = machine()
    start = _size()
    args.work.mkdir(parents=True, exist_ok=True)
    year = simulated_year(args.work)
    for i, n in enumerate(args.events or [1_000_000]):
        formats = ["--formats", "csv,parquet,ocel"] if n >= 10_000_000 else []
        _script("bench_questions.py", "--events", str(n), *formats)
        extra = ["--no-pm4py-xes"] if n >= 10_000_000 else []
        _script("bench_core.py", "--events", str(n), *extra)
        _script("bench_handoffs.py", "--events", str(n))
        on_year = ["--year", str(year)] if i == 0 else []  # the year's workloads once
        _script("run_all.py", "--workloads", str(n), *on_year, "--replay-max", str(args.replay_max))
    if not args.no_spark:
        _script("bench_spark.py", "--workspace", str(year))
    from bench_questions import table as questions_table

    rows = _rows_since(start)
    lines = []
    for r in rows:  # the first questions' tables first
        if r.get("benchmark") == "questions":
            lines += [*questions_table(r), ""]
    lines += table(rows)
    print("\n" + "\n".join(lines))
    if not args.no_doc:
        with open(DOC, "a", encoding="utf-8") as doc:
            doc.write(f"\n## {dt.date.today().isoformat()}, benchmarks/run_all.py\n"
                      f"Machine: {description}.\n\n" + "\n".join(lines) + "\n")
        print(f"\nappended to {DOC}")


if __name__ == "__main__":
    main()
