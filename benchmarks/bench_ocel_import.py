"""Benchmark: OCEL 2.0 JSON import into a workspace (``miner.read``) against pm4py, N runs per file.

    .venv/bin/python benchmarks/bench_ocel_import.py                  # order-management, synthetic 10^6
    .venv/bin/python benchmarks/bench_ocel_import.py --runs 5 FILE…
    .venv/bin/python benchmarks/bench_ocel_import.py --no-pm4py FILE…  # miner only
    .venv/bin/python benchmarks/bench_ocel_import.py --phases FILE…   # where miner's time goes

The synthetic 10^6-event file is the one bench_core.py writes (benchmarks/out/synthetic-1000000.jsonocel);
it is made here from the same synthetic log when missing. For each reader it prints the wall seconds
of every run, the best and the median, and the peak resident memory the read added (sampled every
5 ms, the largest over the runs). pm4py is timed with its default ``pm4py.read_ocel2_json`` (the
rustxes-backed importer when rustxes is installed) and with its own Python importer
(``OCEL20_STANDARD``). The ratios are pm4py's median over miner's median. Each read runs in the
same process, one after the other; the load average is printed (the machine may be shared).
Not part of the test run.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import os
import statistics
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import miner

OUT = Path(__file__).parent / "out"
REAL = Path(__file__).resolve().parents[2] / "shared" / "reallogs"


def synthetic_ocel(n: int) -> Path:
    """benchmarks/out/synthetic-<n>.jsonocel, written from the synthetic Parquet log when missing."""
    from synthetic import synthetic_log

    path = OUT / f"synthetic-{n}.jsonocel"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        data = synthetic_log(n, OUT / f"synthetic-{n}.parquet")
        mapping = miner.ColumnMapping(
            activity="activity", timestamp="timestamp", objects={"case_id": "case"}
        )
        log = miner.read(data, mapping=mapping)
        miner.write(log, path)
        log.close()
    return path


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed(read: Callable[[], Any]) -> tuple[float, int]:
    """Wall seconds of ``read()`` and the peak resident memory it added (bytes)."""
    gc.collect()
    base = _rss()
    peak = base
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.005):
            peak = max(peak, _rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    result = read()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    peak = max(peak, _rss())
    del result
    gc.collect()
    return seconds, peak - base


def miner_read(path: Path) -> Callable[[], Any]:
    def read() -> int:
        log = miner.read(path)
        count = log.count("events")
        log.close()
        return count

    return read


def pm4py_read(path: Path, own: bool) -> Callable[[], Any]:
    with contextlib.redirect_stdout(io.StringIO()):  # pm4py prints a banner on import
        import pm4py
        from pm4py.objects.ocel.importer.jsonocel import importer

    def read() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if own:
                return importer.apply(str(path), variant=importer.Variants.OCEL20_STANDARD)
            return pm4py.read_ocel2_json(str(path))

    return read


def measure(label: str, read: Callable[[], Any], runs: int) -> float:
    """Print the runs of one reader; return the median seconds."""
    seconds, peaks = [], []
    for _ in range(runs):
        took, added = timed(read)
        seconds.append(took)
        peaks.append(added)
    median = statistics.median(seconds)
    shown = " ".join(f"{s:.3f}" for s in seconds)
    print(
        f"  {label:<26} runs {shown}  best {min(seconds):.3f}  median {median:.3f} s  "
        f"peak +{max(peaks) / 2**20:,.0f} MiB  load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    return median


def phases(path: Path, runs: int) -> None:
    """cProfile of one miner read (the best of ``runs`` wall times is printed first)."""
    import cProfile
    import pstats

    measure("miner", miner_read(path), runs)
    profile = cProfile.Profile()
    profile.runcall(miner_read(path))
    pstats.Stats(profile).sort_stats("cumulative").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--synthetic", type=int, default=1_000_000)
    parser.add_argument("--no-pm4py", action="store_true", help="time miner only")
    parser.add_argument("--no-pm4py-own", action="store_true", help="skip pm4py's Python importer")
    parser.add_argument("--phases", action="store_true", help="profile miner's read")
    args = parser.parse_args()
    files = args.files or [REAL / "order-management.json.gz", synthetic_ocel(args.synthetic)]
    for path in files:
        if args.phases:
            phases(path, args.runs)
            continue
        log = miner.read(path)
        events = log.count("events")
        log.close()
        print(f"{path.name}: {events:,} events, {path.stat().st_size / 2**20:,.1f} MiB on disk")
        ours = measure("miner", miner_read(path), args.runs)
        print(f"  {'':<26} {events / ours:,.0f} events/s")
        if args.no_pm4py:
            continue
        theirs = measure("pm4py default (rustxes)", pm4py_read(path, own=False), args.runs)
        print(f"  {'':<26} pm4py default / miner {theirs / ours:.2f}x")
        if not args.no_pm4py_own:
            own = measure("pm4py own (OCEL20_STANDARD)", pm4py_read(path, own=True), args.runs)
            print(f"  {'':<26} pm4py own / miner {own / ours:.2f}x")


if __name__ == "__main__":
    main()
