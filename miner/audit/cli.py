"""``miner audit``: the command-line face of :func:`miner.audit.write_audit` and
:func:`miner.audit.render_audit`."""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path
from typing import Any

from miner.adopt.cli import add_log_arguments, open_log
from miner.conformance.cli import add_reading_argument
from miner.errors import InputError


def register(subparsers: Any) -> None:
    """Add the ``audit`` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "audit",
        help="the conformance audit: rates, categories, a drill-down per foreigner, sign-off",
        description=(
            "Write the conformance audit of a workspace: FILE.html (one self-contained file with "
            "rates per month/phase/lane/partner, deviation categories, model and practice per "
            "phase (forbidden flows, unused model paths, lane moves), a drill-down per "
            "pseudonymised foreigner with timeline and evidence, the accepted deviations apart "
            "and a sign-off per finding), FILE-annex.csv (every finding) and FILE.results.json. "
            "The conformance is checked now, or read from a `miner conformance` folder with "
            "--conformance. --results renders saved results again without the workspace. "
            "Definitions: docs/audit.md."),
    )
    add_log_arguments(parser, verb="audit")
    parser.add_argument("--results", type=Path, metavar="FILE.results.json",
                        help="render saved audit results (no log needed)")
    parser.add_argument("--conformance", type=Path, metavar="DIR",
                        help="with the log: a folder written by `miner conformance` (not "
                             "checked again)")
    parser.add_argument("--model", type=Path, metavar="FILE",
                        help="own model (.bpmn with lanes, .pnml, .ptml); with --conformance: "
                             "the model it was checked against, for the provenance")
    parser.add_argument("--lanes", type=Path, metavar="FILE.toml",
                        help="lane name = organisation, for an own BPMN")
    parser.add_argument("--allowlist", type=Path, metavar="FILE",
                        help="accepted deviations (TOML); with --conformance: the allowlist it "
                             "was checked with, to show each entry's reason")
    parser.add_argument("--period", metavar="P",
                        help="a month (2021-03), tertaal (2021-T1), quarter (2021-Q2) or year")
    parser.add_argument("--as-of", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="the date the allowlist is valid on (default today)")
    parser.add_argument("--budget", type=float, default=10.0, metavar="SECONDS",
                        help="alignment time budget per variant (default 10)")
    add_reading_argument(parser)
    parser.add_argument("--lang", choices=("nl", "en"), default="nl",
                        help="language of the audit (default nl)")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.html")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``miner audit``; returns the exit code."""
    from miner.audit.render import (
        annex_path,
        read_audit_results,
        write_audit,
        write_audit_html,
    )
    from miner.report.render import results_path

    started = time.perf_counter()
    if args.results is not None and (args.log or args.workspace):
        raise InputError("give either the log (LOG or --workspace) or --results, not both")
    if args.results is not None:
        if args.conformance is not None:
            raise InputError("miner audit --results renders saved results; --conformance needs "
                             "the log")
        write_audit_html(read_audit_results(args.results), args.out, lang=args.lang)
        print(f"audit written to {args.out}")
        return 0
    from miner.conformance.cli import read_lanes, require_model
    from miner.progress import spinner

    log = open_log(args)
    try:
        if args.conformance is None:
            require_model(log, args.model)
        conformance = _conformance(args, log)
        with spinner("writing the audit"):
            write_audit(log, conformance, args.out, lang=args.lang, allowlist=args.allowlist,
                        model=args.model, conformance_source=args.conformance,
                        lane_organisations=read_lanes(args.lanes))
    finally:
        log.close()
    print(f"{len(conformance.deviations)} findings and {len(conformance.accepted)} accepted "
          f"deviations of {conformance.foreigners} foreigners")
    print(f"audit written to {args.out}, annex {annex_path(args.out)}, results "
          f"{results_path(args.out)} in {time.perf_counter() - started:.1f} s")
    return 0


def _conformance(args: argparse.Namespace, log: Any) -> Any:
    """The conformance result: read from ``--conformance``, or checked on the workspace."""
    if args.conformance is not None:
        given = [name for name in ("period", "as_of", "lanes") if getattr(args, name)]
        if given:
            flags = ", ".join("--" + n.replace("_", "-") for n in given)
            raise InputError(f"{flags}: fixed by the conformance result in {args.conformance}; "
                             "leave them out, or check again without --conformance")
        from miner.audit.loading import read_conformance_dir
        return read_conformance_dir(args.conformance)
    from miner.analysis.period import Period
    from miner.conformance.check import check_conformance
    from miner.conformance.cli import read_lanes
    from miner.progress import spinner

    lanes = read_lanes(args.lanes)
    period = Period.parse(args.period) if args.period else None
    with spinner("checking conformance"):
        return check_conformance(log, args.model, allowlist=args.allowlist, period=period,
                                 budget_s=args.budget, as_of=args.as_of,
                                 lane_organisations=lanes, reject_readings=args.reject_reading)

