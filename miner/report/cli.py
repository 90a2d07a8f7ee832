"""``miner report``: the command-line face of :func:`miner.report.build_report_results` and
:func:`miner.report.render_report`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from miner.adopt.cli import add_log_arguments, open_log
from miner.errors import InputError


def register(subparsers: Any) -> None:
    """Add the ``report`` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "report",
        help="the periodic bottleneck report: one self-contained HTML file",
        description=(
            "Render the periodic bottleneck report of a period from a workspace (the results are "
            "saved beside the HTML as FILE.results.json), or render saved results again with "
            "--results. Definitions: docs/reports.md."
        ),
    )
    add_log_arguments(parser, verb="report on")
    parser.add_argument("--results", type=Path, metavar="RESULTS.json",
                        help="render saved report results (no log needed)")
    parser.add_argument("--period", metavar="P",
                        help="with --workspace: 2021-03 (month), 2021-T1 (tertaal), 2021-Q2, 2021")
    parser.add_argument("--lang", choices=("nl", "en"), default="nl",
                        help="language of the report (default nl)")
    parser.add_argument("--conformance", type=Path, metavar="DIR_OR_JSON",
                        help="a conformance result (JSON file, or a folder holding "
                        "conformance.json) to summarise")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.html")
    parser.set_defaults(func=run)


def read_conformance(path: Path) -> dict[str, Any]:
    """The conformance dict of a JSON file, or of ``conformance.json`` in a folder."""
    file = path / "conformance.json" if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{file}: cannot read a conformance result as JSON ({exc})") from exc
    if isinstance(data, dict) and data.get("kind") != "conformance" and isinstance(
            data.get("conformance"), dict):
        data = data["conformance"]
    if not isinstance(data, dict):
        raise InputError(f"{file}: a conformance result is a JSON object")
    return data


def run(args: argparse.Namespace) -> int:
    """Execute ``miner report``; returns the exit code."""
    from miner.progress import spinner
    from miner.report.render import write_report
    from miner.report.results import build_report_results

    conformance = read_conformance(args.conformance) if args.conformance else None
    if args.results is not None and (args.log or args.workspace):
        raise InputError("give either the log (LOG or --workspace) or --results, not both")
    if args.results is not None:
        try:
            results = json.loads(args.results.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{args.results}: cannot read report results ({exc})") from exc
        if not isinstance(results, dict) or results.get("kind") != "report_results":
            raise InputError(f"{args.results}: not report results (kind 'report_results')")
        if conformance is not None:
            from miner.report.sections import conformance_section
            results["conformance"] = conformance_section(conformance)
        write_report(results, args.out, lang=args.lang, save_results=False)
    else:
        if not args.period:
            raise InputError("miner report LOG needs --period (e.g. 2021-T1)")
        log = open_log(args)
        try:
            with spinner("analysing"):
                results = build_report_results(log, args.period, conformance=conformance)
        finally:
            log.close()
        write_report(results, args.out, lang=args.lang)
        print(f"results written to {args.out.with_name(args.out.stem + '.results.json')}")
    print(f"report written to {args.out}")
    return 0
