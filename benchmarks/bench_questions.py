"""Benchmark: an analyst's first questions (DFG with performance, variants, case durations, handover
network), cold, warm and filtered, miner against pm4py on the same data, outputs checked equal.

    .venv/bin/python benchmarks/bench_questions.py --events 1000000
    .venv/bin/python benchmarks/bench_questions.py --events 100000 --formats csv --skip-filtered

Three sections, on the synthetic log with resources (``synthetic-N-res.parquet``) and the XES, CSV
and OCEL 2.0 JSON files derived from it once (cached in benchmarks/out/):

1. **cold** — a file never seen, in a fresh process per side and format: miner ``read`` (in memory;
   the case index is built inside it), ``flatten``, ``dfg``, ``variants``, ``case_durations``;
   pm4py its reader (XES: ``read_xes``, default variant; CSV / Parquet: pandas and
   ``format_dataframe``; OCEL 2.0 JSON: ``read_ocel2_json``, ``ocel_flattening(ocel, "case")`` and
   a stable sort on case and time, without which pm4py's variants of the flattened frame are
   wrong), then ``discover_dfg``, ``discover_performance_dfg``, ``get_variants`` and
   ``get_all_case_durations``. The time is taken inside the process from just before the read to
   just after the last figure (library imports excluded); "process total" is the wall time of the
   whole process (interpreter, imports, exit) less the time it spent handing its figures over to
   this benchmark for the check.
2. **warm** — a workspace made beforehand (``read(parquet, workspace=...)``, closed) is opened in a
   fresh process with ``connect(read_only=True)`` and answers a first query (the three figures, and
   each alone, each in a process of its own); pm4py reads the Parquet file again and computes the
   same.
3. **filtered** — in this process: the workspace opened read-only once, pm4py's dataframe read
   beforehand. Per filter and figure, miner's time is ``flatten(log, filters=[F])`` plus the figure
   (miner applies the filter inside every figure call); pm4py's filter is timed once per filter and
   its time added to each figure's computation time (its variant filter includes the cast to object
   columns it needs). Filters that keep or drop whole cases have the target >= 20x, those that trim
   events inside cases >= 5x. The resident memory each miner query added (sampled: bench_core's
   ``measured``) is given per event of the log (target <= 100 bytes).

Every figure is compared with pm4py's (DFG frequencies, start and end activities, performance mean
and median to 1e-9, variants, sorted case durations, handover metric to 1e-9); a difference is
printed loudly and recorded, never hidden. Prints the three sections and markdown tables, and
appends a ``questions`` row to benchmarks/out/results.jsonl. Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Only the standard library at module level: the fresh processes import miner or pm4py, not both.
HERE = Path(__file__).parent
OUT = HERE / "out"
FORMATS = ("xes", "csv", "parquet", "ocel")
FORMAT_NAMES = {"xes": "XES", "csv": "CSV", "parquet": "Parquet", "ocel": "OCEL 2.0 JSON"}
COLD_TARGET = {"xes": 5.0, "csv": 5.0, "parquet": 5.0, "ocel": 2.0}
WARM_TARGET = 20.0
WHOLE_TARGET = 20.0
TRIM_TARGET = 5.0
BYTES_TARGET = 100.0
WHOLE, TRIMS = "whole cases", "trims events"
FIGURES = ("dfg", "variants", "durations")
FIGURE_NAMES = {"dfg": "DFG + performance", "variants": "variants", "durations": "case durations",
                "handover": "handover network", "all": "DFG + performance, variants, durations"}
#: The comparison keys (see :func:`differences`) of each figure.
FIGURE_KEYS = {"dfg": ("dfg", "starts", "ends", "performance (mean, median)"),
               "variants": ("variants",), "durations": ("durations",), "handover": ("handover",)}
OCEL_OBJECT_TYPE = "case"  # the object type of the mapping below, as miner.write names it


# --------------------------------------------------------------------------------------------------
# data


def mapping() -> Any:
    import miner

    return miner.ColumnMapping(activity="activity", timestamp="timestamp",
                               objects={"case_id": "case"})


def data_files(n: int, formats: list[str]) -> dict[str, Path]:
    """The synthetic log with resources as Parquet and, of ``formats``, the XES, CSV and OCEL 2.0
    JSON files derived from it (each made once; made again when older than the Parquet file)."""
    from synthetic import synthetic_log

    OUT.mkdir(exist_ok=True)
    parquet = synthetic_log(n, OUT / f"synthetic-{n}-res.parquet", resources=True)
    files = {"parquet": parquet, "xes": OUT / f"synthetic-{n}-res.xes",
             "csv": OUT / f"synthetic-{n}-res.csv", "ocel": OUT / f"synthetic-{n}-res.jsonocel"}
    stale = [k for k, p in files.items() if k != "parquet" and k in formats
             and (not p.exists() or p.stat().st_mtime < parquet.stat().st_mtime)]
    if "csv" in stale:
        import pyarrow.compute as pc
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        table = pq.read_table(parquet)
        at = table.schema.get_field_index("timestamp")
        iso = pc.strftime(table.column("timestamp"), format="%Y-%m-%dT%H:%M:%S%Ez")  # +00:00
        partial = files["csv"].with_name(".partial-" + files["csv"].name)
        pcsv.write_csv(table.set_column(at, "timestamp", iso), partial)
        partial.rename(files["csv"])
    derived = [k for k in stale if k in ("xes", "ocel")]
    if derived:
        import miner

        log = miner.read(parquet, mapping=mapping())
        try:
            for k in derived:
                partial = files[k].with_name(".partial-" + files[k].name)
                miner.write(log, partial)
                partial.rename(files[k])
        finally:
            log.close()
    for k in stale:
        print(f"  made {files[k].name} ({files[k].stat().st_size / 1e6:,.0f} MB)", flush=True)
    return files


# --------------------------------------------------------------------------------------------------
# figures, and the comparison


def _count(v: Any) -> int:
    return len(v) if isinstance(v, list) else int(v)


def miner_figures(flat: Any, which: tuple[str, ...]) -> dict[str, Any]:
    """miner's figures of ``flat``: its result objects (computed here, so this is what is timed)."""
    import miner

    compute = {"dfg": miner.dfg, "variants": miner.variants, "durations": miner.case_durations,
               "handover": miner.handover_network}
    return {name: compute[name](flat) for name in which}


def miner_plain(found: dict[str, Any]) -> dict[str, Any]:
    """miner's result objects as plain values, as :func:`pm4py_plain` gives pm4py's."""
    plain: dict[str, Any] = {}
    if "dfg" in found:
        g = found["dfg"]
        edges = g.table[["source", "target", "frequency", "mean_s", "median_s"]]
        plain["dfg"] = {(s, t): int(f) for s, t, f, _, _ in edges.itertuples(index=False)}
        plain["perf"] = {(s, t): (float(m), float(md))
                         for s, t, _, m, md in edges.itertuples(index=False)}
        plain["starts"] = dict(g.start_activities)
        plain["ends"] = dict(g.end_activities)
    if "variants" in found:
        plain["variants"] = found["variants"].counts()
    if "durations" in found:
        plain["durations"] = sorted(float(d) for d in found["durations"].table["duration_s"])
    if "handover" in found:
        plain["handover"] = found["handover"].metric()
    return plain


def pm4py_figures(pm4py: Any, frame: Any, which: tuple[str, ...]) -> dict[str, Any]:
    """pm4py's figures of ``frame``: its return values (computed here, so this is what is timed)."""
    found: dict[str, Any] = {}
    for name in which:
        if name == "dfg":
            found["dfg"] = pm4py.discover_dfg(frame)
            found["perf"] = pm4py.discover_performance_dfg(frame)
        elif name == "variants":
            found["variants"] = pm4py.get_variants(frame)
        elif name == "durations":
            found["durations"] = pm4py.get_all_case_durations(frame)
        elif name == "handover":
            found["handover"] = pm4py.discover_handover_of_work_network(frame, beta=0)
    return found


def pm4py_plain(found: dict[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = {}
    if "dfg" in found:
        graph, starts, ends = found["dfg"]
        plain["dfg"] = {tuple(k): int(v) for k, v in graph.items()}
        plain["starts"] = {k: int(v) for k, v in starts.items()}
        plain["ends"] = {k: int(v) for k, v in ends.items()}
        plain["perf"] = {tuple(k): (float(v["mean"]), float(v["median"]))
                         for k, v in found["perf"][0].items()}
    if "variants" in found:
        plain["variants"] = {tuple(k): _count(v) for k, v in found["variants"].items()}
    if "durations" in found:
        plain["durations"] = sorted(float(d) for d in found["durations"])
    if "handover" in found:
        plain["handover"] = {tuple(k): float(v) for k, v in found["handover"].connections.items()}
    return plain


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _dict_diff(ours: dict[Any, Any], theirs: dict[Any, Any],
               same: Callable[[Any, Any], bool] | None = None, shown: int = 3) -> str:
    """What differs between two dicts (empty: nothing), with a few examples."""
    equal = same or (lambda a, b: a == b)
    only_ours = [k for k in ours if k not in theirs]
    only_theirs = [k for k in theirs if k not in ours]
    differ = [k for k in ours if k in theirs and not equal(ours[k], theirs[k])]
    if not (only_ours or only_theirs or differ):
        return ""
    parts = [f"{len(ours):,} entries in miner, {len(theirs):,} in pm4py"]
    if only_ours:
        parts.append(f"{len(only_ours):,} only in miner, e.g. "
                     + ", ".join(f"{k!r}: {ours[k]!r}" for k in only_ours[:shown]))
    if only_theirs:
        parts.append(f"{len(only_theirs):,} only in pm4py, e.g. "
                     + ", ".join(f"{k!r}: {theirs[k]!r}" for k in only_theirs[:shown]))
    if differ:
        parts.append(f"{len(differ):,} differ, e.g. "
                     + ", ".join(f"{k!r}: miner {ours[k]!r} vs pm4py {theirs[k]!r}"
                                 for k in differ[:shown]))
    return "; ".join(parts)


def differences(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, str]:
    """Comparison key → what differs, for the figures both sides have (empty: identical)."""
    found: dict[str, str] = {}
    for key in ("dfg", "starts", "ends", "variants"):
        if key in ours and key in theirs and (d := _dict_diff(ours[key], theirs[key])):
            found[key] = d
    if "perf" in ours and "perf" in theirs:  # edges only one side has are reported under "dfg"
        shared = {k: v for k, v in ours["perf"].items() if k in theirs["perf"]}
        if d := _dict_diff(shared, theirs["perf"],
                           lambda a, b: _close(a[0], b[0]) and _close(a[1], b[1])):
            found["performance (mean, median)"] = d
    if "durations" in ours and "durations" in theirs:
        a, b = ours["durations"], theirs["durations"]
        if len(a) != len(b):
            found["durations"] = f"{len(a):,} cases in miner, {len(b):,} in pm4py"
        elif bad := [(x, y) for x, y in zip(a, b, strict=True)
                     if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6)]:
            found["durations"] = (f"{len(bad):,} of {len(a):,} sorted durations differ, e.g. "
                                  + ", ".join(f"miner {x!r} vs pm4py {y!r}" for x, y in bad[:3]))
    if "handover" in ours and "handover" in theirs and (
            d := _dict_diff(ours["handover"], theirs["handover"],
                            lambda a, b: math.isclose(a, b, rel_tol=1e-9))):
        found["handover"] = d
    return found


def report_differences(where: str, diff: dict[str, str], record: list[dict[str, str]]) -> bool:
    """Print every difference loudly and record it; True when there is none."""
    for figure, what in diff.items():
        print(f"\n  !!!!!! DIFFERENT FROM PM4PY — {where}, {figure}: {what}\n", flush=True)
        record.append({"where": where, "figure": figure, "difference": what})
    return not diff


# --------------------------------------------------------------------------------------------------
# the fresh processes (cold and warm)


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def child(spec: dict[str, Any]) -> None:
    """One fresh process: import, then (timed) read or open and compute, then hand the figures
    over. The peak memory is the kernel's peak resident size (VmHWM, reset after the imports)."""
    begin = time.perf_counter()
    side, fmt, path, which = spec["side"], spec["format"], spec["path"], tuple(spec["figures"])
    if side == "miner":
        import miner
    else:
        import contextlib
        import io

        import pandas as pd

        with contextlib.redirect_stdout(io.StringIO()):  # its banner
            import pm4py
    imported = time.perf_counter()
    try:  # "5" resets the peak resident size to the current one (Linux)
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass
    base = _status_kib("VmRSS")
    start = time.perf_counter()
    if side == "miner":
        if fmt == "workspace":
            log = miner.connect(path, read_only=True)
        else:
            log = miner.read(path, mapping=mapping() if fmt in ("csv", "parquet") else None)
        found = miner_figures(miner.flatten(log), which)
    else:
        if fmt == "xes":
            frame = pm4py.read_xes(path)
        elif fmt in ("csv", "parquet"):
            raw = pd.read_csv(path) if fmt == "csv" else pd.read_parquet(path)
            frame = pm4py.format_dataframe(raw, case_id="case_id", activity_key="activity",
                                           timestamp_key="timestamp")
        elif fmt == "ocel":
            frame = pm4py.ocel_flattening(pm4py.read_ocel2_json(path), OCEL_OBJECT_TYPE)
            # The flattening keeps the log's global time order; pm4py's variants need each case's
            # events together (in time order, ties in file order), as a case log has them.
            frame = frame.sort_values(["case:concept:name", "time:timestamp"], kind="stable",
                                      ignore_index=True)
        else:
            raise ValueError(f"pm4py cannot read {fmt!r} here")
        found = pm4py_figures(pm4py, frame, which)
    seconds = time.perf_counter() - start
    peak = (_status_kib("VmHWM") - base) * 1024
    handing = time.perf_counter()
    plain = miner_plain(found) if side == "miner" else pm4py_plain(found)
    result = {"import_s": imported - begin, "seconds": seconds, "peak_added_bytes": peak,
              "figures": plain}
    with open(spec["out"], "wb") as out:
        pickle.dump(result, out, protocol=pickle.HIGHEST_PROTOCOL)
    with open(spec["out"] + ".handover", "w") as out:
        out.write(repr(time.perf_counter() - handing))


def fresh(side: str, fmt: str, path: Path, figures: tuple[str, ...], tag: str) -> dict[str, Any]:
    """Run :func:`child` in a fresh interpreter: its timings, its figures and the process total."""
    work = OUT / "questions-tmp"
    work.mkdir(exist_ok=True)
    out, console = work / f"{tag}.pkl", work / f"{tag}.log"
    handover = work / f"{tag}.pkl.handover"
    spec = {"side": side, "format": fmt, "path": str(path), "figures": list(figures),
            "out": str(out)}
    command = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    start = time.perf_counter()
    with open(console, "w") as printed:
        done = subprocess.run(command, cwd=HERE, stdout=printed, stderr=subprocess.STDOUT,
                              check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        tail = console.read_text(errors="replace").splitlines()[-25:]
        raise RuntimeError(f"{side} on {fmt} failed (exit {done.returncode}):\n" + "\n".join(tail))
    with open(out, "rb") as f:
        result: dict[str, Any] = pickle.load(f)
    result["process_s"] = wall - float(handover.read_text())
    with open(console, errors="replace") as printed:  # e.g. rustxes' warnings, one per event
        result["console_lines"] = sum(1 for _ in printed)
    for p in (out, handover, console):
        p.unlink(missing_ok=True)
    return result


def _line(label: str, r: dict[str, Any], n: int) -> None:
    printed = (f"   ({r['console_lines']:,} lines of console output)"
               if r.get("console_lines", 0) > 100 else "")
    print(f"  {label:<30} {r['seconds']:9.3f} s   process total {r['process_s']:8.3f} s   "
          f"imports {r['import_s']:5.2f} s   +{r['peak_added_bytes'] / 2**20:7.1f} MiB "
          f"({r['peak_added_bytes'] / n:5.0f} B/event){printed}", flush=True)


def _pair(where: str, ours: dict[str, Any], theirs: dict[str, Any], target: float,
          discrepancies: list[dict[str, str]]) -> dict[str, Any]:
    """Compare the figures of two fresh processes, print the ratio, give the row to record."""
    same = report_differences(where, differences(ours.pop("figures"), theirs.pop("figures")),
                              discrepancies)
    ratio = theirs["seconds"] / ours["seconds"]
    total = theirs["process_s"] / ours["process_s"]
    print(f"  ratio {ratio:.1f}× (target ≥ {target:.0f}×), process total {total:.1f}×; "
          f"{'identical figures' if same else 'FIGURES DIFFER'}", flush=True)
    return {"miner": ours, "pm4py": theirs, "ratio": ratio, "process_ratio": total,
            "target": target, "identical": same}


# --------------------------------------------------------------------------------------------------
# the sections


def cold(n: int, files: dict[str, Path], formats: list[str],
         discrepancies: list[dict[str, str]]) -> dict[str, Any]:
    print("\n== cold: a file never seen → DFG + performance, variants, case durations "
          "(a fresh process per side and format) ==", flush=True)
    rows: dict[str, Any] = {}
    for fmt in formats:
        path = files[fmt]
        print(f"{FORMAT_NAMES[fmt]} ({path.name}, {path.stat().st_size / 1e6:,.1f} MB)", flush=True)
        ours = fresh("miner", fmt, path, FIGURES, f"cold-miner-{fmt}")
        _line("miner", ours, n)
        theirs = fresh("pm4py", fmt, path, FIGURES, f"cold-pm4py-{fmt}")
        _line("pm4py", theirs, n)
        rows[fmt] = _pair(f"cold {FORMAT_NAMES[fmt]}", ours, theirs, COLD_TARGET[fmt],
                          discrepancies)
    return rows


def make_workspace(parquet: Path, n: int) -> Path:
    import miner

    workspace = OUT / f"questions-{n}.duckdb"
    workspace.unlink(missing_ok=True)
    workspace.with_name(workspace.name + ".wal").unlink(missing_ok=True)
    start = time.perf_counter()
    miner.read(parquet, workspace=workspace, mapping=mapping()).close()
    print(f"\nworkspace {workspace.name} made beforehand in {time.perf_counter() - start:.2f} s "
          f"({workspace.stat().st_size / 1e6:,.0f} MB)", flush=True)
    return workspace


def warm(n: int, workspace: Path, parquet: Path,
         discrepancies: list[dict[str, str]]) -> dict[str, Any]:
    print("\n== warm: the workspace opened read-only in a fresh process, a first query; pm4py "
          "reads the Parquet file again ==", flush=True)
    rows: dict[str, Any] = {}
    for key, which in (("all", FIGURES), *((f, (f,)) for f in FIGURES)):
        print(FIGURE_NAMES[key], flush=True)
        ours = fresh("miner", "workspace", workspace, which, f"warm-miner-{key}")
        _line("miner connect + query", ours, n)
        theirs = fresh("pm4py", "parquet", parquet, which, f"warm-pm4py-{key}")
        _line("pm4py read Parquet + compute", theirs, n)
        rows[key] = _pair(f"warm {FIGURE_NAMES[key]}", ours, theirs, WARM_TARGET, discrepancies)
    return rows


def _utc(ts: Any) -> datetime:
    moment: datetime = (ts.tz_convert("UTC").to_pydatetime() if ts.tzinfo
                        else ts.to_pydatetime().replace(tzinfo=UTC))
    return moment


def filter_cases(log: Any, frame: Any, pm4py: Any) -> list[dict[str, Any]]:
    """Each filter: name, kind, miner's filter, pm4py's filtering of a frame, and its arguments,
    read off the log (untimed): the middle third of the time span, the activity most cases (not
    all) have, the two busiest resources, the resource most cases (not all) have, the three
    commonest variants, the middle half of the case durations, the busiest edge between two
    activities, the commonest start and end activities."""
    import miner

    flat = miner.flatten(log)
    graph, found, durations = miner.dfg(flat), miner.variants(flat), miner.case_durations(flat)
    first, last = frame["time:timestamp"].min(), frame["time:timestamp"].max()
    t1, t2 = (first + (last - first) / 3).floor("s"), (first + 2 * (last - first) / 3).floor("s")
    s1, s2 = (_utc(t).strftime("%Y-%m-%d %H:%M:%S") for t in (t1, t2))
    w1, w2 = _utc(t1), _utc(t2)
    case, act, res = "case:concept:name", "concept:name", "org:resource"
    cases = frame[case].nunique()
    with_act = frame.drop_duplicates([case, act])[act].value_counts()
    activity = next(str(a) for a, k in with_act.items() if k < cases)
    busiest = [str(r) for r in frame[res].value_counts().index[:2]]
    with_res = frame.drop_duplicates([case, res])[res].value_counts()
    resource = next(str(r) for r, k in with_res.items() if k < cases)
    top = [tuple(v) for v in found.table["variant"][:3]]
    spans = sorted(float(d) for d in durations.table["duration_s"])
    lo, hi = spans[len(spans) // 4], spans[3 * len(spans) // 4]
    edges = graph.table[graph.table["source"] != graph.table["target"]]
    a, b = str(edges.iloc[0]["source"]), str(edges.iloc[0]["target"])
    starts, ends = graph.start_activities, graph.end_activities
    start_act = min(starts, key=lambda x: (-starts[x], x))
    end_act = min(ends, key=lambda x: (-ends[x], x))
    attribute = pm4py.filter_event_attribute_values

    def objects(d: Any) -> Any:  # pm4py's variant filter fails on pandas 3's Arrow strings
        return d.astype({act: object, case: object})

    def f(name: str, kind: str, args: str, ours: Any,
          theirs: Callable[[Any], Any]) -> dict[str, Any]:
        return {"name": name, "kind": kind, "args": args, "miner": ours, "pm4py": theirs}

    return [
        f("time window, events", TRIMS, f"{s1} … {s2}", miner.TimeWindow(w1, w2, mode="events"),
          lambda d: pm4py.filter_time_range(d, s1, s2, mode="events")),
        f("time window, contained", WHOLE, f"{s1} … {s2}",
          miner.TimeWindow(w1, w2, mode="contained"),
          lambda d: pm4py.filter_time_range(d, s1, s2, mode="traces_contained")),
        f("time window, intersecting", WHOLE, f"{s1} … {s2}",
          miner.TimeWindow(w1, w2, mode="intersecting"),
          lambda d: pm4py.filter_time_range(d, s1, s2, mode="traces_intersecting")),
        f("event attribute: activity dropped", TRIMS, activity,
          miner.AttributeFilter("activity", (activity,), level="event", retain=False),
          lambda d: attribute(d, act, [activity], level="event", retain=False)),
        f("event attribute: resources kept", TRIMS, " ".join(busiest),
          miner.AttributeFilter(res, tuple(busiest), level="event"),
          lambda d: attribute(d, res, busiest, level="event")),
        f("case attribute: resource", WHOLE, resource,
          miner.AttributeFilter(res, (resource,), level="case"),
          lambda d: attribute(d, res, [resource], level="case")),
        f("activity present", WHOLE, activity,
          miner.AttributeFilter("activity", (activity,), level="case"),
          lambda d: attribute(d, act, [activity], level="case")),
        f("activity absent", WHOLE, activity,
          miner.AttributeFilter("activity", (activity,), level="case", retain=False),
          lambda d: attribute(d, act, [activity], level="case", retain=False)),
        f("variants (top 3)", WHOLE, f"{len(top)} variants", miner.VariantFilter(tuple(top)),
          lambda d: pm4py.filter_variants(objects(d), top)),
        f("case duration (middle half)", WHOLE, f"{lo:,.0f} … {hi:,.0f} s",
          miner.DurationFilter(lo, hi), lambda d: pm4py.filter_case_performance(d, lo, hi)),
        f("directly follows", WHOLE, f"{a} → {b}", miner.FollowsFilter(a, b),
          lambda d: pm4py.filter_directly_follows_relation(d, [(a, b)])),
        f("eventually follows", WHOLE, f"{a} ⇢ {b}", miner.FollowsFilter(a, b, directly=False),
          lambda d: pm4py.filter_eventually_follows_relation(d, [(a, b)])),
        f("start activity", WHOLE, start_act, miner.EndpointFilter((start_act,), side="start"),
          lambda d: pm4py.filter_start_activities(d, [start_act])),
        f("end activity", WHOLE, end_act, miner.EndpointFilter((end_act,), side="end"),
          lambda d: pm4py.filter_end_activities(d, [end_act])),
    ]


def filtered(n: int, workspace: Path, parquet: Path,
             discrepancies: list[dict[str, str]]) -> list[dict[str, Any]]:
    import pandas as pd
    from bench_core import measured, quiet_pm4py

    import miner

    print("\n== filtered: the workspace open read-only, pm4py's dataframe in memory; per filter "
          "and figure (miner: flatten with the filter + the figure; pm4py: its filter, timed once "
          "and added to each figure, + the figure) ==", flush=True)
    pm4py = quiet_pm4py()
    log = miner.connect(workspace, read_only=True)
    frame = pm4py.format_dataframe(pd.read_parquet(parquet), case_id="case_id",
                                   activity_key="activity", timestamp_key="timestamp")
    all_cases = frame["case:concept:name"].nunique()
    rows: list[dict[str, Any]] = []
    figures = ("dfg", "variants", "durations", "handover")
    for case in filter_cases(log, frame, pm4py):
        name, kind = case["name"], case["kind"]
        target = WHOLE_TARGET if kind == WHOLE else TRIM_TARGET
        print(f"{name} [{kind}] ({case['args']})", flush=True)
        ours: dict[str, dict[str, float]] = {}
        theirs: dict[str, dict[str, float]] = {}
        mine: dict[str, Any] = {}
        failed: dict[str, str] = {}
        for figure in figures:
            try:
                with measured(f"miner {FIGURE_NAMES[figure]}", ours):
                    view = miner.flatten(log, filters=[case["miner"]])
                    mine.update(miner_figures(view, (figure,)))
            except Exception as exc:  # noqa: BLE001 — a miner API problem: recorded, the rest runs
                failed[figure] = f"{type(exc).__name__}: {exc}"
                print(f"\n  !!!!!! MINER FAILED — {name}, {figure}: {failed[figure]}\n", flush=True)
                discrepancies.append({"where": f"filtered {name}", "figure": figure,
                                      "difference": failed[figure]})
        with measured("pm4py filter", theirs):
            subset = case["pm4py"](frame)
        found: dict[str, Any] = {}
        for figure in figures:
            with measured(f"pm4py {FIGURE_NAMES[figure]}", theirs):
                found.update(pm4py_figures(pm4py, subset, (figure,)))
        kept = subset["case:concept:name"].nunique()
        print(f"  pm4py kept {kept:,} of {all_cases:,} cases, {len(subset):,} of {len(frame):,} "
              "events", flush=True)
        diff = differences(miner_plain(mine), pm4py_plain(found))
        same = report_differences(f"filtered {name}", diff, discrepancies)
        filter_s = theirs["pm4py filter"]["seconds"]
        ratios = []
        for figure in figures:
            label = FIGURE_NAMES[figure]
            row: dict[str, Any] = {
                "filter": name, "kind": kind, "args": case["args"], "figure": label,
                "kept_cases": kept, "kept_events": len(subset), "pm4py_filter_s": filter_s,
                "pm4py_s": filter_s + theirs[f"pm4py {label}"]["seconds"], "target": target,
                "identical": figure not in failed
                and not any(k in diff for k in FIGURE_KEYS[figure])}
            if figure in failed:
                row["error"] = failed[figure]
            else:
                m = ours[f"miner {label}"]
                row.update(miner_s=m["seconds"], miner_peak_added_bytes=m["peak_added_bytes"],
                           ratio=row["pm4py_s"] / m["seconds"])
                ratios.append(f"{label} {row['ratio']:.1f}×")
            rows.append(row)
        print(f"  {', '.join(ratios)} (target ≥ {target:.0f}×); "
              f"{'identical figures' if same else 'FIGURES DIFFER'}", flush=True)
    log.close()
    return rows


# --------------------------------------------------------------------------------------------------
# the tables


def _range(values: list[float]) -> str:
    if not values:
        return ""
    lo, hi = min(values), max(values)
    return f"{lo:.1f}×" if math.isclose(lo, hi, rel_tol=0.05) else f"{lo:.1f}–{hi:.1f}×"


def _mark(ratio: float, target: float) -> str:
    if ratio >= target:
        return f"**{ratio:.1f}×**"
    shown = f"{ratio:.2f}" if round(ratio, 1) >= target else f"{ratio:.1f}"
    return f"{shown}× (below {target:.0f}×)"


def _header(*columns: str, right: tuple[int, ...]) -> list[str]:
    """A markdown header; the columns numbered in ``right`` are right-aligned."""
    align = ["---:" if i in right else "---" for i in range(len(columns))]
    return ["| " + " | ".join(columns) + " |", "|" + "|".join(align) + "|"]


def _bytes(per_event: float) -> str:
    """Bytes per event, whole; rounded up above the target, so 100.3 does not read as 100."""
    return f"{math.ceil(per_event) if per_event > BYTES_TARGET else round(per_event)}"


def _yes(same: bool) -> str:
    return "yes" if same else "**no**"


def table(record: dict[str, Any]) -> list[str]:
    """Markdown lines of one ``questions`` row of results.jsonl: the summary, then per section."""
    n = record["events"]
    cold_rows, warm_rows = record.get("cold", {}), record.get("warm", {})
    filt = record.get("filtered", [])

    def warm_cells(w: dict[str, Any] | None) -> str:
        if not w:
            return " | | "
        return (f"{w['miner']['seconds']:.3f} | {w['pm4py']['seconds']:.2f} | "
                f"{_mark(w['ratio'], w['target'])}")

    lines = [(f"Questions at {n:,} events (seconds inside the process, imports excluded; ratio "
              "pm4py / miner; targets: cold ≥ 5× (OCEL JSON ≥ 2×), warm ≥ 20×, filtered whole "
              "cases ≥ 20×, filtered trimming events ≥ 5×, miner memory ≤ 100 B/event)"), "",
             *_header("figure", "miner cold s", "pm4py cold s", "ratio", "miner warm s", "pm4py s",
                      "ratio", "filtered: whole cases", "filtered: trims events",
                      "miner peak B/event", right=tuple(range(1, 10)))]
    for fmt, r in cold_rows.items():
        w = warm_rows.get("all") if fmt == "parquet" else None
        lines.append(f"| all three, from {FORMAT_NAMES[fmt]} | {r['miner']['seconds']:.3f} | "
                     f"{r['pm4py']['seconds']:.2f} | {_mark(r['ratio'], r['target'])} | "
                     f"{warm_cells(w)} | | | {r['miner']['peak_added_bytes'] / n:.0f} |")
    if "parquet" not in cold_rows and "all" in warm_rows:
        w = warm_rows["all"]
        lines.append(f"| all three | | | | {warm_cells(w)} | | | "
                     f"{w['miner']['peak_added_bytes'] / n:.0f} |")
    for key in (*FIGURES, "handover"):
        label, w = FIGURE_NAMES[key], warm_rows.get(key)
        mine = [r for r in filt if r["figure"] == label and "ratio" in r]
        if not (w or mine):
            continue
        whole = _range([r["ratio"] for r in mine if r["kind"] == WHOLE])
        trims = _range([r["ratio"] for r in mine if r["kind"] == TRIMS])
        peak = max((r["miner_peak_added_bytes"] / n for r in mine), default=None)
        memory = (f"≤ {_bytes(peak)} (filtered)" if peak is not None
                  else f"{w['miner']['peak_added_bytes'] / n:.0f}" if w else "")
        lines.append(f"| {label} | | | | {warm_cells(w)} | {whole} | {trims} | {memory} |")
    if cold_rows:
        lines += ["", ("Cold, per format (a fresh process per side; process total includes the "
                       "interpreter's start, the imports and the exit):"), "",
                  *_header("format", "miner s", "pm4py s", "ratio", "target",
                           "miner process total s", "pm4py process total s", "ratio", "identical",
                           right=tuple(range(1, 8)))]
        for fmt, r in cold_rows.items():
            lines.append(f"| {FORMAT_NAMES[fmt]} | {r['miner']['seconds']:.3f} | "
                         f"{r['pm4py']['seconds']:.2f} | {_mark(r['ratio'], r['target'])} | "
                         f"≥ {r['target']:.0f}× | {r['miner']['process_s']:.2f} | "
                         f"{r['pm4py']['process_s']:.2f} | {r['process_ratio']:.1f}× | "
                         f"{_yes(r['identical'])} |")
    if warm_rows:
        lines += ["", ("Warm (miner: connect read-only + a first query in a fresh process; pm4py: "
                       "read Parquet + compute in a fresh process):"), "",
                  *_header("query", "miner s", "pm4py s", "ratio", "miner process total s",
                           "pm4py process total s", "ratio", "identical", right=tuple(range(1, 7)))]
        for key, r in warm_rows.items():
            lines.append(f"| {FIGURE_NAMES[key]} | {r['miner']['seconds']:.3f} | "
                         f"{r['pm4py']['seconds']:.2f} | {_mark(r['ratio'], r['target'])} | "
                         f"{r['miner']['process_s']:.2f} | {r['pm4py']['process_s']:.2f} | "
                         f"{r['process_ratio']:.1f}× | {_yes(r['identical'])} |")
    if filt:
        lines += ["", ("Filtered (miner: flatten with the filter + the figure; pm4py: its filter, "
                       "timed once and added to each figure, + the figure):"), "",
                  *_header("filter", "kind", "kept cases", "figure", "miner s", "pm4py s", "ratio",
                           "miner peak B/event", "identical", right=(2, 4, 5, 6, 7))]
        for r in filt:
            start = f"| {r['filter']} | {r['kind']} | {r['kept_cases']:,} | {r['figure']} |"
            if "ratio" not in r:
                lines.append(f"{start} failed | {r['pm4py_s']:.3f} | | | **no**: {r['error']} |")
                continue
            memory = r["miner_peak_added_bytes"] / n
            shown = f"{_bytes(memory)} (over 100)" if memory > BYTES_TARGET else _bytes(memory)
            lines.append(f"{start} {r['miner_s']:.3f} | {r['pm4py_s']:.3f} | "
                         f"{_mark(r['ratio'], r['target'])} | {shown} | {_yes(r['identical'])} |")
    found = record.get("discrepancies", [])
    lines += ["", f"Differences from pm4py: {len(found)}" + (":" if found else "")]
    lines += [f"- {d['where']}, {d['figure']}: {d['difference']}" for d in found]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--formats", default=",".join(FORMATS),
                        help="the cold formats, comma-separated (default: xes,csv,parquet,ocel)")
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--skip-filtered", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    if unknown := [f for f in formats if f not in FORMATS]:
        parser.error(f"unknown format(s) {unknown}; choose from {', '.join(FORMATS)}")
    n = args.events
    print(f"{n:,} events on {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    files = data_files(n, [] if args.skip_cold else formats)
    discrepancies: list[dict[str, str]] = []
    record: dict[str, Any] = {"benchmark": "questions", "events": n,
                              "machine": platform.platform(), "cores": os.cpu_count(),
                              "load": os.getloadavg()[0]}
    if not args.skip_cold:
        record["cold"] = cold(n, files, formats, discrepancies)
    workspace = make_workspace(files["parquet"], n)
    record["warm"] = warm(n, workspace, files["parquet"], discrepancies)
    if not args.skip_filtered:
        record["filtered"] = filtered(n, workspace, files["parquet"], discrepancies)
    workspace.unlink(missing_ok=True)
    record["discrepancies"] = discrepancies
    with open(OUT / "results.jsonl", "a") as out:
        out.write(json.dumps(record) + "\n")
    print("\n" + "\n".join(table(record)))
    if discrepancies:
        print(f"\n!!!!!! {len(discrepancies)} DIFFERENCE(S) FROM PM4PY OR MINER FAILURE(S), listed "
              "above and recorded in benchmarks/out/results.jsonl", flush=True)


if __name__ == "__main__":
    main()
