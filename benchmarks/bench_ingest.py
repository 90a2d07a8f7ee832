"""Benchmark of ``miner ingest``: a simulated year from the partners' own files, and a
scaled delivery of about 10^7 source rows.

    python benchmarks/bench_ingest.py year [--sim DIR]            # target <= 20 s on 2 cores
    python benchmarks/bench_ingest.py scaled --copies 10 [--sim DIR]   # ~10^7 rows; <= 90 s, <= 2 GB

``year`` ingests the simulator's exports as delivered (CSV in three encodings and delimiters, JSON
lines, Excel). ``scaled`` writes each export ``--copies`` times as Parquet with every record id and
partner number made unique per copy (the V-nummers stay, so copies add journeys' events to the same
persons), then ingests them all in one run. Each run is a child process; the parent samples its
resident memory (VmRSS) every 0.2 s and reports the peak. Without ``--sim`` the default year is
simulated first (seed 1).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

_CHILD = """
import sys, time
from pathlib import Path
from miner.ingest import PseudonymKey, ingest
from miner.model.log import connect
log = connect(Path(sys.argv[1]))
started = time.perf_counter()
summary = ingest(log, [Path(p) for p in sys.argv[3:]], key=PseudonymKey(b"benchmark-key-0123456789"),
                 memory_limit=sys.argv[2])
print(f"{time.perf_counter() - started:.2f} {summary.rows} {summary.events}")
"""

# export file -> the columns made unique per copy (record id, partner number)
_UNIQUE = {
    "ind/indigo_zaakhistorie.csv": ("Mutatienummer", "Zaaknummer"),
    "politie/pshv_registraties.jsonl": ("mutatie_id", "registratienummer"),
    "politie/smartflow_2021.xlsx": ("SF-nummer",),
    "coa/bewonersregistratie.csv": ("regelnummer", "bewonersnummer"),
    "dtv/vertrekdossiers.csv": ("registratie_id", "dossiernummer"),
    "kmar/kmar_registraties.csv": ("VOLGNR", "KMAR_ZAAK"),
}


def _peak_rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return 0


def run_child(workspace: Path, sources: list[Path], memory_limit: str = "1GB") -> tuple[str, int]:
    """Ingest in a child process (DuckDB capped at ``memory_limit``); its output line and its peak
    resident memory in bytes."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(workspace), memory_limit, *map(str, sources)],
                             stdout=subprocess.PIPE, text=True, env=env)
    peak = 0
    while child.poll() is None:
        peak = max(peak, _peak_rss(child.pid))
        time.sleep(0.2)
    out = child.stdout.read() if child.stdout else ""
    if child.returncode != 0:
        raise SystemExit(f"ingest failed with exit code {child.returncode}")
    return out.strip().splitlines()[-1], peak


def _simulated(sim: Path | None, scratch: Path) -> Path:
    if sim is not None:
        return sim
    from miner.simulation import simulate

    out = scratch / "sim"
    simulate("default", seed=1, out=out)
    return out


def _scaled(sim: Path, copies: int, out: Path) -> list[Path]:
    """Write each export ``copies`` times as Parquet with unique record ids and partner numbers."""
    from miner.ingest.sources import SourceSpec, read_source

    con = duckdb.connect()
    written = []
    for relative, unique in _UNIQUE.items():
        source = sim / relative
        encoding = "cp1252" if relative.startswith("ind/") else "utf-8"
        delimiter = {"ind/": ";", "dtv/": "|"}.get(relative[:4], ",")
        read_source(con, SourceSpec(str(source)), "raw", encoding=encoding,
                    delimiter=delimiter, sheet="Registraties")
        columns = [r[0] for r in con.execute("DESCRIBE raw").fetchall() if r[0] != "_row"]
        for k in range(copies):
            cells = ", ".join(
                f'"{c}" || \'-c{k}\' AS "{c}"' if c in unique else f'"{c}"' for c in columns)
            target = out / relative.split("/")[0] / f"{Path(relative).stem}_c{k}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY (SELECT {cells} FROM raw ORDER BY _row) TO '{target}' (FORMAT parquet)")
            written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("year", "scaled"))
    parser.add_argument("--sim", type=Path, help="a simulated default year (else simulated first)")
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--memory-limit", default="1GB",
                        help="ingest's DuckDB memory cap (`miner ingest --memory-limit`; default 1GB)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="miner-bench-ingest-") as scratch_name:
        scratch = Path(scratch_name)
        sim = _simulated(args.sim, scratch)
        if args.what == "year":
            sources = [sim]
        else:
            sources = [scratch / "scaled"]
            _scaled(sim, args.copies, sources[0])
        line, peak = run_child(scratch / "ws.duckdb", sources, args.memory_limit)
        seconds, rows, events = line.split()
        print(f"ingest {args.what}: {int(rows):,} rows, {int(events):,} events in {seconds} s, "
              f"peak resident memory {peak / 2**20:,.0f} MiB "
              f"({peak / int(rows):,.0f} bytes per row), cap {args.memory_limit}; "
              f"cpus {os.cpu_count()}, "
              f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
