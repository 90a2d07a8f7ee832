"""Benchmark of ``miner.simulation.simulate``: run time of the default year, and the memory of
a long run, which must not grow with the number of simulated years.

    python benchmarks/bench_simulate.py default            # the default year (target <= 30 s, 2 cores)
    python benchmarks/bench_simulate.py long --years 10 --per-year 100000   # 10 years, ~1M foreigners

``long`` scales every capacity of the default scenario by ``per_year / 25000`` (so the chain stays
in balance instead of queueing without bound), runs the simulation in a child process and samples
its resident memory (VmRSS) every second. It prints the samples per tenth of the run and the
ratio of the peak in the second half to the peak in the first half (flat memory: about 1).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCALED = """base = "default"
name = "bench-long"
years = {years}

[inflow]
per_year = {per_year}

[aanmeld]
ir_quota = {{ ter_apel = {ir}, budel = {ir} }}
hearing_capacity = {{ ter_apel = {hear}, budel = {hear} }}

[rvt]
pol_capacity = {pol}

[aa]
starts_per_workday = {aa}

[gemeenten]
housing_per_week = {housing}

[dtv]
other_sources_per_year = {{ kmar = {kmar}, politie = {politie}, overig = {overig} }}

[initial]
aa_queue = {queue}
va_stock = {va}
permit_holders = {permits}
dtv_caseload = {dtv}
"""


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def bench_default(out: Path, seed: int) -> dict[str, object]:
    from miner.simulation import simulate

    start = time.perf_counter()
    result = simulate("default", seed=seed, out=out)
    seconds = time.perf_counter() - start
    return {
        "benchmark": "default year",
        "seconds": round(seconds, 1),
        "foreigners": result.foreigners,
        "export_rows": sum(result.files.values()),
        "summary": result.summary.to_dict() if result.summary else None,
    }


def bench_long(out: Path, years: float, per_year: int, seed: int) -> dict[str, object]:
    k = per_year / 25000
    scenario = out / "bench-long.toml"
    scenario.write_text(
        SCALED.format(
            years=years, per_year=per_year, ir=round(30 * k), hear=round(60 * k),
            pol=round(9200 * k), aa=round(54 * k), housing=round(170 * k), kmar=round(2350 * k),
            politie=round(720 * k), overig=round(1780 * k), queue=round(9000 * k),
            va=round(3000 * k), permits=round(9000 * k), dtv=round(8600 * k),
        ),
        encoding="utf-8",
    )
    code = (
        "import sys; from pathlib import Path; from miner.simulation import simulate; "
        f"r = simulate({str(scenario)!r}, seed={seed}, out=Path({str(out / 'run')!r})); "
        "print(r.foreigners, sum(r.files.values()))"
    )
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    samples: list[tuple[float, int]] = []
    while proc.poll() is None:
        samples.append((time.perf_counter() - start, _rss_kb(proc.pid)))
        time.sleep(1.0)
    seconds = time.perf_counter() - start
    output = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise SystemExit(f"simulation failed with exit code {proc.returncode}")
    foreigners, rows = (int(x) for x in output.split())
    rss = [r for _, r in samples if r > 0]
    half = len(rss) // 2
    tenths = [max(rss[i * len(rss) // 10 : (i + 1) * len(rss) // 10] or [0]) // 1024 for i in range(10)]
    return {
        "benchmark": f"long run: {years:g} years, {per_year} a year",
        "seconds": round(seconds, 1),
        "foreigners": foreigners,
        "export_rows": rows,
        "rss_mb_per_tenth_of_run": tenths,
        "peak_second_half_over_first_half": round(max(rss[half:]) / max(rss[:half]), 3)
        if half
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("which", choices=["default", "long"])
    parser.add_argument("--years", type=float, default=10.0)
    parser.add_argument("--per-year", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-simulate-") as tmp:
        out = args.out or Path(tmp)
        if args.which == "default":
            report = bench_default(out, args.seed)
        else:
            report = bench_long(out, args.years, args.per_year, args.seed)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
