"""``miner analyze``: the command-line face of :func:`miner.analysis.chain.analyze`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from miner.analysis.chain import ANALYSES


def register(subparsers: Any) -> None:
    """Add the ``analyze`` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "analyze",
        help="the chain analyses: duplicate work, hand-offs, bottlenecks, stock, norms, queues …",
        description=(
            "Run the chain analyses on a workspace made by `miner ingest` and print the headline "
            "of each; --json writes every result (the input of the reports). Definitions: "
            "docs/analyses/."
        ),
    )
    parser.add_argument("--workspace", required=True, type=Path, metavar="WS")
    parser.add_argument("--period", metavar="P",
                        help="a month (2021-03), tertaal (2021-T1), quarter (2021-Q2) or year (2021)")
    parser.add_argument("--only", action="append", choices=sorted(ANALYSES), metavar="NAME",
                        help=f"run only this analysis (repeatable): {', '.join(sorted(ANALYSES))}")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write all results as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``miner analyze``; returns the exit code."""
    from miner.analysis.chain import analyze
    from miner.analysis.period import Period
    from miner.model.log import connect
    from miner.progress import spinner

    period = Period.parse(args.period) if args.period else None
    log = connect(args.workspace, read_only=True)
    try:
        with spinner("analysing"):
            result = analyze(log, period=period, only=args.only)
    finally:
        log.close()
    data = result.to_dict()
    for name, seconds in result.seconds.items():
        print(f"{name:<18} {seconds:>7.2f} s")
    if args.json:
        args.json.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"results written to {args.json}")
    return 0
