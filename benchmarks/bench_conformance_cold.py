"""Benchmark: token-replay conformance cold, warm and filtered, miner against pm4py in one run.

    .venv/bin/python benchmarks/bench_conformance_cold.py

Per log and model, each side in a fresh process (imports excluded from the inner time, included
in the whole-process time):

- **cold**: the file never seen → log fitness and precision (token replay). miner reads the file,
  takes the variants and replays each once; pm4py reads the file and runs
  ``fitness_token_based_replay`` and ``precision_token_based_replay``.
- **warm**: miner opens the workspace made beforehand (``miner convert FILE WS.duckdb``); pm4py,
  which has no workspace, reads its file again.
- **filtered**: the cases contained in the middle third of the log's time span (``TimeWindow``
  mode ``contained``; pm4py ``filter_time_range(..., mode="traces_contained")``), the filter and the
  figures timed, the log already open on both sides.

Both sides get the net with its places and transitions in miner's stable order (pm4py's figures
depend on that order, docs/conformance/controlflow.md); every figure is asserted equal. With
``--no-precision`` (the default for bpic2012, where pm4py's precision takes minutes) fitness only.
Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "reallogs"
OUT = Path(__file__).parent / "out"

CHILD = r'''
import contextlib, io, json, sys, time, warnings
warnings.simplefilter("ignore")
spec = json.loads(sys.argv[1])
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    import pm4py
    import miner
    from miner.conformance._controlflow import _stable_model, check_variants, load_model
net, im, fm = _stable_model(*load_model(spec["model"]))
window = spec.get("window")
out = {}
start = time.perf_counter()
if spec["side"] == "miner":
    log = miner.read(spec["source"])
    filters = []
    if window:  # the log open before the timed filter, as pm4py's frame is
        from datetime import datetime
        filters = [miner.TimeWindow(datetime.fromisoformat(window[0]),
                                    datetime.fromisoformat(window[1]), mode="contained")]
        start = time.perf_counter()
    counts = miner.variants(miner.flatten(log, filters=filters)).counts()
    r = check_variants(net, im, fm, counts, alignments=False, precision=spec["precision"],
                       workers=1)
    out = {"fitness": r.log_replay_fitness, "precision": r.precision,
           "cases": sum(counts.values())}
else:
    with contextlib.redirect_stderr(io.StringIO()):
        frame = pm4py.read_xes(spec["source"], variant="iterparse")
        if window:
            start = time.perf_counter()
            frame = pm4py.filter_time_range(frame, window[0][:19].replace("T", " "),
                                            window[1][:19].replace("T", " "),
                                            mode="traces_contained")
        fit = pm4py.fitness_token_based_replay(frame, net, im, fm)["log_fitness"]
        prec = (pm4py.precision_token_based_replay(frame, net, im, fm)
                if spec["precision"] else None)
    out = {"fitness": fit, "precision": prec, "cases": int(frame["case:concept:name"].nunique())}
out["inner_s"] = time.perf_counter() - start
print(json.dumps(out))
'''


def run(side: str, source: Path, model: Path, precision: bool, window: list[str] | None = None
        ) -> dict[str, Any]:
    spec = {"side": side, "source": str(source), "model": str(model), "precision": precision,
            "window": window}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], capture_output=True,
                          text=True, check=True, cwd=ROOT)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - start
    return result


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["cases"] == b["cases"] and math.isclose(a["fitness"], b["fitness"], abs_tol=1e-12) \
        and (a["precision"] is None or math.isclose(a["precision"], b["precision"], abs_tol=1e-12))


def middle_third(source: Path) -> list[str]:
    import miner

    log = miner.read(source)
    first, last = log.con.execute("SELECT min(timestamp), max(timestamp) FROM events").fetchall()[0]
    log.close()
    span = last - first
    return [(first + span / 3).replace(microsecond=0).isoformat(),
            (first + 2 * span / 3).replace(microsecond=0).isoformat()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision-on-bpic", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    cases = [("receipt.xes", REAL / "receipt-imf.ptml", True)]
    bpic_model = OUT / "bpic2012-imf-0.2.pnml"
    if not bpic_model.exists():
        subprocess.run([sys.executable, "-m", "miner.cli", "discover",
                        str(REAL / "bpic2012.xes.gz"), "--out", str(bpic_model)], check=True,
                       capture_output=True, cwd=ROOT)
    cases.append(("bpic2012.xes.gz", bpic_model, args.precision_on_bpic))
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print("| log | figures | step | miner inner s | miner process s | pm4py inner s | "
          "pm4py process s | ratio inner | ratio process |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for name, model, precision in cases:
        source = REAL / name
        workspace = OUT / f"{Path(name).stem.split('.')[0]}-conformance.duckdb"
        workspace.unlink(missing_ok=True)
        subprocess.run([sys.executable, "-m", "miner.cli", "convert", str(source),
                        str(workspace)], check=True, capture_output=True, cwd=ROOT)
        window = middle_third(source)
        theirs = run("pm4py", source, model, precision)
        steps = {
            "cold": (run("miner", source, model, precision), theirs),
            "warm": (run("miner", workspace, model, precision), theirs),
            "filtered": (run("miner", workspace, model, precision, window),
                         run("pm4py", source, model, precision, window)),
        }
        figures = "fitness + precision" if precision else "fitness"
        for step, (ours, pm) in steps.items():
            assert same(ours, pm), (name, step, ours, pm)
            print(f"| {name} | {figures} | {step} | {ours['inner_s']:.2f} | "
                  f"{ours['process_s']:.2f} | {pm['inner_s']:.2f} | {pm['process_s']:.2f} | "
                  f"{pm['inner_s'] / ours['inner_s']:.1f}× | "
                  f"{pm['process_s'] / ours['process_s']:.1f}× |", flush=True)


if __name__ == "__main__":
    main()
