"""Benchmark: XES import into a workspace (``miner.read``), median of N runs per file.

    .venv/bin/python benchmarks/bench_xes_import.py                 # bpic2012, receipt, synthetic 10^6
    .venv/bin/python benchmarks/bench_xes_import.py --runs 5 FILE…
    .venv/bin/python benchmarks/bench_xes_import.py --phases FILE…  # where the time goes

The synthetic 10^6-event XES is the one bench_core.py writes (benchmarks/out/synthetic-1000000.xes);
it is made here from the same synthetic log when missing. Prints wall seconds per run, the median,
events per second, whether the fast path takes the file, and the load average (the machine may be
shared, so compare figures taken under the same load). ``--phases`` splits one fast-path import into
its steps (best of the runs, thread CPU in brackets; scanning includes the inflating thread's wait).
The peak resident memory a read added is sampled every 5 ms (see bench_ocel_import.py).
Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import miner
from miner.formats import xes_fast
from miner.model.loading import TableSink
from miner.model.log import connect

OUT = Path(__file__).parent / "out"
REAL = Path(__file__).resolve().parents[2] / "shared" / "reallogs"


def synthetic_xes(n: int) -> Path:
    """benchmarks/out/synthetic-<n>.xes, written from the synthetic Parquet log when missing."""
    from synthetic import synthetic_log

    xes = OUT / f"synthetic-{n}.xes"
    if not xes.exists():
        OUT.mkdir(exist_ok=True)
        data = synthetic_log(n, OUT / f"synthetic-{n}.parquet")
        mapping = miner.ColumnMapping(
            activity="activity", timestamp="timestamp", objects={"case_id": "case"}
        )
        log = miner.read(data, mapping=mapping)
        miner.write(log, xes)
        log.close()
    return xes


def measure(path: Path, runs: int) -> None:
    """Time ``miner.read(path)`` ``runs`` times; print the runs, the best, the median and the
    peak resident memory a read added (sampled every 5 ms, the largest over the runs)."""
    from bench_ocel_import import miner_read, timed

    seconds, peaks = [], []
    for _ in range(runs):
        took, added = timed(miner_read(path))
        seconds.append(took)
        peaks.append(added)
    log = miner.read(path)
    events = log.count("events")
    log.close()
    median = statistics.median(seconds)
    shown = " ".join(f"{s:.3f}" for s in seconds)
    print(
        f"{path.name:<28} {events:>9,} events  runs {shown}  best {min(seconds):.3f}  "
        f"median {median:.3f} s  {events / median:>9,.0f} events/s  "
        f"peak +{max(peaks) / 2**20:,.0f} MiB  fast path {xes_fast.fits_fast_path(path)}  "
        f"load {os.getloadavg()[0]:.2f}",
        flush=True,
    )


class _Steps:
    """Best wall and thread-CPU seconds per named step, over several runs."""

    def __init__(self) -> None:
        self.best: dict[str, tuple[float, float]] = {}
        self._since = (0.0, 0.0)

    def start(self) -> None:
        self._since = (time.perf_counter(), time.thread_time())

    def step(self, name: str) -> None:
        now = (time.perf_counter(), time.thread_time())
        took = (now[0] - self._since[0], now[1] - self._since[1])
        self.best[name] = min(self.best.get(name, took), took)
        self._since = now


def phases(path: Path, runs: int) -> None:
    """The steps of one fast-path import, each the best of ``runs``: wall (thread CPU) seconds."""
    steps = _Steps()
    for _ in range(runs):
        steps.start()
        log = connect(None)
        sink = TableSink(log.con)
        steps.step("workspace and sink")
        header = xes_fast._header(path)
        assert header is not None, "the fast path does not take this file"
        steps.step("header split")
        meta = xes_fast._log_meta(path, header)
        assert meta is not None, "the fast path does not take this file"
        steps.step("header (lxml, log_meta)")
        tables = xes_fast._read_body(path, len(header))
        steps.step("body: inflate, scan, tables")
        xes_fast._stage(sink, tables, meta)
        steps.step("stage (TableSink.add_arrow)")
        sink.commit(what=str(path))
        steps.step("commit")
        log.close()
    total = sum(wall for wall, _ in steps.best.values())
    print(f"{path.name}: best of {runs}, load {os.getloadavg()[0]:.2f}")
    for name, (wall, cpu) in steps.best.items():
        print(f"  {name:<30} {wall:7.3f} s ({cpu:.3f})  {wall / total:4.0%}")
    print(f"  {'sum':<30} {total:7.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--synthetic", type=int, default=1_000_000, help="events of the synthetic log"
    )
    parser.add_argument("--phases", action="store_true", help="split the fast path into its steps")
    args = parser.parse_args()
    files = args.files or [
        REAL / "bpic2012.xes.gz",
        REAL / "receipt.xes",
        synthetic_xes(args.synthetic),
    ]
    for path in files:
        (phases if args.phases else measure)(path, args.runs)


if __name__ == "__main__":
    main()
