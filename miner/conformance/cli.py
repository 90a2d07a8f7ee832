"""``miner conformance``: the command-line face of
:func:`miner.conformance.check.check_conformance`."""

from __future__ import annotations

import argparse
import csv
import json
import tomllib
from pathlib import Path
from typing import Any

DEVIATION_COLUMNS = ("foreigner", "category", "activity", "task", "lane", "organisation", "partner",
                     "phase", "detail", "accepted_by", "event_ids", "sources", "source_rows",
                     "times", "reading", "status")
#: ``status`` of a row of deviations.csv/.parquet: a finding, accepted by an allowlist entry, or
#: read away by an accepted reading of the model (``reading`` names it).
STATUSES = ("finding", "accepted", "read")


from miner.adopt.cli import add_log_arguments, open_log


def register(subparsers: Any) -> None:
    """Add the ``conformance`` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "conformance",
        help="check the journeys against the reference swimlane model: control flow, lanes, norms",
        description=(
            "Check a workspace made by `miner ingest`, or any log (docs/bring-your-own-log.md), "
            "against the reference swimlane model (or --model, which a log without the chain "
            "catalogue's labels needs): alignments per phase, wrong lanes, unexpected and missing "
            "hand-offs, late steps; deviations per foreigner with evidence and conformance rates. "
            "Definitions: docs/conformance/check.md."),
    )
    add_log_arguments(parser, verb="check")
    parser.add_argument("--model", type=Path, metavar="FILE",
                        help="own model: .bpmn with lanes, or .pnml / .ptml (control flow and "
                             "norms only)")
    parser.add_argument("--lanes", type=Path, metavar="FILE.toml",
                        help="lane name = organisation, for an own BPMN")
    parser.add_argument("--allowlist", type=Path, metavar="FILE",
                        help="accepted deviations (TOML, see docs/conformance/check.md)")
    parser.add_argument("--period", metavar="P",
                        help="a month (2021-03), tertaal (2021-T1), quarter (2021-Q2) or year")
    parser.add_argument("--budget", type=float, default=10.0, metavar="SECONDS",
                        help="alignment time budget per variant (default 10)")
    add_reading_argument(parser)
    parser.add_argument("--compare", action="store_true",
                        help="instead of the check: compare the chain's behaviour with the model "
                             "per phase (forbidden flows, unused model paths, lane moves) into "
                             "DIR/compare.json (docs/conformance/compare.md)")
    parser.add_argument("--noise", type=float, default=None, metavar="F",
                        help="with --compare: leave out forbidden flows below F of the phase's "
                             "transitions, counted as left out (default 0)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``miner conformance``; returns the exit code."""
    import time

    from miner.analysis.period import Period
    from miner.conformance.check import check_conformance
    from miner.errors import InputError
    from miner.progress import spinner

    period = Period.parse(args.period) if args.period else None
    lanes = read_lanes(args.lanes)
    if getattr(args, "compare", False):
        return run_compare(args, period, lanes)
    if getattr(args, "noise", None) is not None:
        raise InputError("--noise belongs to --compare (the check leaves nothing out)")
    started = time.perf_counter()
    log = open_log(args)
    try:
        require_model(log, args.model)
        with spinner("checking conformance"):
            result = check_conformance(log, args.model, allowlist=args.allowlist, period=period,
                                       budget_s=args.budget, lane_organisations=lanes,
                                       reject_readings=args.reject_reading)
    finally:
        log.close()
    write_outputs(result, args.out)
    rate = "-" if result.conformance_rate is None else f"{100 * result.conformance_rate:.1f} %"
    print(f"{result.foreigners} foreigners checked against {result.model}; conforming: {rate}")
    for name in ("replay_fitness", "alignment_fitness", "precision"):
        value = getattr(result, name)
        print(f"  {name:<18} {'-' if value is None else f'{value:.4f}'}")
    for c in result.counts:
        print(f"  {c.category:<18} {c.deviations:>8} deviations {c.foreigners:>7} foreigners"
              f" {c.accepted:>6} accepted")
    print_readings(result)
    if result.unresolved:
        print(f"  {result.unresolved} variant(s) unresolved within {args.budget:g} s")
    for e in result.expired:
        print(f"  allowlist entry {e.entry} ({e.category}) expired on {e.expires}")
    for u in result.unmatched_organisations:
        print(f"  organisation {u.name!r} matches no lane or alias ({u.events} events, "
              f"{u.foreigners} foreigners): judged wrong lane; add it to "
              "miner/data/reference/organisations.toml or map the lanes with --lanes")
    print(f"written to {args.out} in {time.perf_counter() - started:.1f} s")
    return 0


def add_reading_argument(parser: Any) -> None:
    """``--reject-reading ID`` (repeatable): a documented reading of the model the auditor does
    not accept (docs/conformance/readings.md)."""
    parser.add_argument("--reject-reading", action="append", default=[], metavar="ID",
                        help="reject a documented reading of the reference model (repeatable; "
                             "the ids: docs/conformance/readings.md); its deviations become "
                             "findings")


def print_readings(result: Any) -> None:
    """One line per reading of the model: accepted or rejected, followers, the deviations that
    hold only when it is rejected, and the conformance rate each way."""
    if not result.readings:
        return
    print("  readings of the model (accepted unless --reject-reading; deviations that hold only "
          "when rejected):")
    for r in result.readings:
        state = "accepted" if r.accepted else "REJECTED"
        rates = "" if r.rate_accepted is None else (
            f"  rate {100 * r.rate_accepted:.1f} % accepted / {100 * r.rate_rejected:.1f} % "
            "rejected")
        print(f"    {r.id:<36} {r.conflict:<6} {state:<8} {r.followers:>7} following"
              f" {r.deviations:>7} deviations {r.foreigners:>6} foreigners{rates}")


def read_lanes(path: Path | None) -> dict[str, str] | None:
    """The ``--lanes`` file (lane name = organisation), or None."""
    from miner.errors import SchemaError

    if path is None:
        return None
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SchemaError(f"{path}: cannot read the lane mapping: {exc}") from exc
    if not all(isinstance(v, str) for v in raw.values()):
        raise SchemaError(f"{path}: every entry must be lane name = \"organisation\"")
    return {str(k): str(v) for k, v in raw.items()}


#: Rows of each table printed per phase by ``miner conformance --compare`` (all are in the JSON).
COMPARE_ROWS = 5


def run_compare(args: argparse.Namespace, period: Any, lanes: dict[str, str] | None) -> int:
    """``miner conformance --compare``: the model comparison into ``DIR/compare.json``, and the
    top rows of each phase printed."""
    import time

    from miner.conformance.compare import compare_models
    from miner.errors import InputError
    from miner.progress import spinner

    if args.allowlist is not None:
        raise InputError("--allowlist: the model comparison accepts no deviations; leave it out "
                         "with --compare")
    noise = 0.0 if args.noise is None else args.noise
    started = time.perf_counter()
    log = open_log(args)
    try:
        require_model(log, args.model)
        with spinner("comparing the log with the model"):
            result = compare_models(log, args.model, noise=noise, period=period,
                                    lane_organisations=lanes)
    finally:
        log.close()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "compare.json").write_text(
        json.dumps(result.to_dict(), ensure_ascii=False, sort_keys=True) + "\n",
        encoding="utf-8")
    print_comparison(result)
    print(f"written to {args.out / 'compare.json'} in {time.perf_counter() - started:.1f} s")
    return 0


def print_comparison(result: Any, rows: int = COMPARE_ROWS) -> None:
    """One rich table per phase: its top forbidden flows, unused model paths and lane moves."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"{result.foreigners:,} foreigners compared with {result.model}"
                  + (f" in {result.period}" if result.period else "")
                  + (f", noise {result.noise:g}" if result.noise else ""))
    for p in result.phases:
        share = p.forbidden_share
        title = (f"{p.phase or 'all'}: {p.traces:,} traces, {p.judged_transitions:,} judged "
                 f"transitions, {p.forbidden_transitions:,} forbidden"
                 + (f" ({share:.1%})" if share is not None else ""))
        table = Table(title=title, title_justify="left")
        for name, justify in (("what", "left"), ("from", "left"), ("to", "left"),
                              ("frequency", "right"), ("foreigners", "right")):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for r in p.forbidden[:rows]:
            table.add_row(f"forbidden {r.kind}", r.source or "(start)", r.target or "(end)",
                          f"{r.frequency:,}", f"{r.foreigners:,}")
        if p.left_out:
            table.add_row("left out (noise)", f"{p.left_out:,} rows", "",
                          f"{p.left_out_frequency:,}", "")
        if p.model_states is None:
            table.add_row("flows not compared", "the model's state space is too large", "", "",
                          "")
        table.add_section()
        for u in p.unused[:rows]:
            table.add_row(f"unused {u.kind}", u.source or "(start)",
                          "" if u.kind == "task" else u.target or "(end)", "0",
                          f"{u.source_foreigners:,} / {u.target_foreigners:,}")
        table.add_section()
        for m in p.lane_moves[:rows]:
            table.add_row("lane move", m.activity, f"{m.organisation} (lanes: "
                          f"{', '.join(m.lanes)})", f"{m.events:,} ({m.share:.1%})",
                          f"{m.foreigners:,}")
        console.print(table)


def require_model(log: Any, model: Path | None) -> None:
    """Refuse to check a log without the chain catalogue against the chain's reference model."""
    from miner.adopt import log_facts
    from miner.errors import InputError

    facts = log_facts(log)
    if model is None and not facts.chain:
        raise InputError(
            f"{facts.file or log.path}: {facts.catalogue_share:.0%} of the events carry an "
            "activity of the chain catalogue, so the reference model of the chain does not apply; "
            "give the model to check against with --model FILE.bpmn|.pnml|.ptml (e.g. one "
            "discovered with pm4py), or map the labels in [activities] of a --profile.")


def deviation_rows(result: Any) -> list[dict[str, Any]]:
    """One row per deviation (findings, then accepted, then read under an accepted reading),
    evidence lists joined by ``;``."""
    rows = []
    tagged = [*((d, "finding") for d in result.deviations),
              *((d, "accepted") for d in result.accepted), *((d, "read") for d in result.read)]
    for d, status in tagged:
        rows.append({"reading": d.reading, "status": status,
            "foreigner": d.foreigner, "category": d.category, "activity": d.activity,
            "task": d.task, "lane": d.lane, "organisation": d.organisation, "partner": d.partner,
            "phase": d.phase, "detail": d.detail, "accepted_by": d.accepted_by,
            "event_ids": ";".join(e.event_id for e in d.evidence),
            "sources": ";".join(e.source for e in d.evidence),
            "source_rows": ";".join(str(e.source_row) for e in d.evidence),
            "times": ";".join(e.ts for e in d.evidence)})
    return rows


def write_outputs(result: Any, out: Path) -> None:
    """``conformance.json``, ``deviations.csv``/``.parquet``, ``rates.csv``, ``variants.csv``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    # The full lists live in deviations.parquet/.csv; the JSON (the report's input) keeps the
    # figures and the first findings of each category as a sample, so it stays small.
    summary = result.to_dict()
    for key in ("deviations", "accepted", "read"):
        sample: dict[str, int] = {}
        kept = []
        for d in summary[key]:
            if sample.get(d["category"], 0) < SAMPLE_PER_CATEGORY:
                sample[d["category"]] = sample.get(d["category"], 0) + 1
                kept.append(d)
        summary[key] = kept
    summary["deviations_file"] = "deviations.parquet"
    summary["read_total"] = len(result.read)
    (out / "conformance.json").write_text(
        json.dumps(summary, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    rows = deviation_rows(result)
    _csv(out / "deviations.csv", DEVIATION_COLUMNS, [[r[c] for c in DEVIATION_COLUMNS] for r in rows])
    table = pa.table({c: pa.array([r[c] for r in rows],
                                  pa.int64() if c == "accepted_by" else pa.string())
                      for c in DEVIATION_COLUMNS})
    pq.write_table(table, out / "deviations.parquet")
    _csv(out / "rates.csv", ("dimension", "value", "foreigners", "deviating", "conforming", "rate"),
         [[r.dimension, r.value, r.foreigners, r.deviating, r.conforming, f"{r.rate:.6f}"]
          for r in result.rates])
    _csv(out / "variants.csv", ("phase", "variant", "cases", "status", "replay_fitness",
                                "alignment_fitness", "alignment_cost", "deviations", "reason"),
         [[v.phase, " > ".join(v.variant), v.cases, v.status, v.replay_fitness,
           v.alignment_fitness, v.alignment_cost, v.deviations, v.reason] for v in result.variants])


#: Findings per category kept in conformance.json as a sample (all are in deviations.parquet).
SAMPLE_PER_CATEGORY = 20


def _csv(path: Path, header: tuple[str, ...], rows: list[list[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in r] for r in rows])


def register_discover(subparsers: Any) -> None:
    """Add the ``discover`` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "discover",
        help="discover a process model from a log: BPMN with lanes, PNML or PTML",
        description=(
            "Discover a model of what the log's cases do (pm4py's inductive or heuristics "
            "miner) and write it as BPMN 2.0 with a lane per organisation (bpmn.io, Camunda "
            "Modeler), PNML or PTML (ProM, pm4py); prints its fitness and precision on the log. "
            "Definitions: docs/conformance/check.md."),
    )
    add_log_arguments(parser, verb="discover a model of")
    parser.add_argument("--algorithm", choices=("inductive", "heuristics"), default="inductive")
    parser.add_argument("--noise", type=float, default=0.2, metavar="F",
                        help="share of infrequent behaviour left out, 0..1 (default 0.2)")
    parser.add_argument("--out", required=True, type=Path, metavar="FILE.bpmn|.pnml|.ptml")
    parser.set_defaults(func=run_discover)


def run_discover(args: argparse.Namespace) -> int:
    """Execute ``miner discover``; returns the exit code."""
    from miner.conformance.discover import activity_lanes, discover
    from miner.model.flatten import EventLog
    from miner.progress import spinner

    log = open_log(args)
    try:
        # every log the analyses read has its cases as 'vreemdeling' objects (miner.adopt)
        view = EventLog(log, "vreemdeling")
        with spinner("discovering"):
            found = discover(view, args.out, algorithm=args.algorithm, noise=args.noise,
                             lanes=activity_lanes(view))
    finally:
        log.close()
    print(f"{found.algorithm} miner (noise {found.noise:g}) on {found.cases:,} cases, "
          f"{found.variants:,} variants: fitness {found.fitness:.4f}, precision "
          f"{found.precision:.4f}")
    if found.lanes and args.out.suffix == ".bpmn":
        print(f"  {len(set(found.lanes.values()))} lanes: "
              f"{', '.join(sorted(set(found.lanes.values())))}")
    print(f"written to {args.out}")
    return 0
