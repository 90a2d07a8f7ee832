"""``miner analyze``: the command-line face of :func:`miner.analysis.chain.analyze`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from miner.adopt.cli import add_log_arguments, log_path, open_log
from miner.analysis.chain import ANALYSES

#: the needs of :data:`miner.analysis.chain.NEEDS` in a few words
NEED_WORDS = {"chain": "the chain catalogue's activity labels",
              "organisation": "the organisation of each event",
              "sources": "two or more source systems"}


def register(subparsers: Any) -> None:
    """Add the ``analyze`` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "analyze",
        help="the chain analyses: duplicate work, hand-offs, bottlenecks, stock, norms, queues …",
        description=(
            "Run the chain analyses on a workspace made by `miner ingest`, or on any log (OCEL "
            "2.0, XES, CSV/Parquet, a converted workspace), and print the run time of each; an "
            "analysis the log cannot feed is left out with what it needs. --json writes every "
            "result (the input of the reports). Definitions: docs/analyses/; other logs: "
            "docs/bring-your-own-log.md."
        ),
    )
    add_log_arguments(parser)
    parser.add_argument("--period", metavar="P",
                        help="a month (2021-03), tertaal (2021-T1), quarter (2021-Q2) or year (2021)")
    parser.add_argument("--only", action="append", choices=sorted(ANALYSES), metavar="NAME",
                        help=f"run only this analysis (repeatable): {', '.join(sorted(ANALYSES))}")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write all results as JSON")
    parser.add_argument("--engine", default="duckdb", metavar="E",
                        help="where the queries run: duckdb (default), spark (local[2]), "
                             "spark:local[N] or spark://HOST:PORT (docs/scaling.md)")
    segment = parser.add_argument_group(
        "segment (basics only)",
        "restrict the basics (DFG, variants, case durations) to a part of the chain; each option "
        "is repeatable (any of the values), options combine (all must hold); see "
        "docs/analyses/basics.md")
    segment.add_argument("--spoor", action="append", metavar="S",
                         help="the foreigners in this spoor (e.g. 'Spoor 1', HASA)")
    segment.add_argument("--location", action="append", metavar="L",
                         help="the foreigners with an event at this location (e.g. 'pol Almere')")
    segment.add_argument("--nationality-group", action="append", metavar="N",
                         help="the foreigners of this nationality (ISO-3, ISO-2 or Dutch name)")
    segment.add_argument("--partner", action="append", metavar="P",
                         help="only the events recorded by this partner (IND, COA, …)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``miner analyze``; returns the exit code."""
    from miner.analysis.basics import Segment
    from miner.analysis.chain import SEGMENTED, analyze
    from miner.analysis.period import Period
    from miner.errors import InputError
    from miner.progress import spinner

    period = Period.parse(args.period) if args.period else None
    fields = {k: getattr(args, k) for k in ("spoor", "location", "nationality_group", "partner")}
    segment = Segment(**{k: tuple(v) if v else None for k, v in fields.items()})
    if not segment.empty:
        print(f"segment applies to {', '.join(sorted(SEGMENTED))} only")
    if args.engine == "duckdb":
        log = open_log(args)
    else:
        from miner.adopt import is_ingested
        from miner.engine import connect as connect_engine

        path = log_path(args)
        if not is_ingested(path):
            raise InputError(f"{path}: --engine {args.engine} reads a workspace made by `miner "
                             "ingest`; analyse other logs with the default engine (duckdb)")
        log = connect_engine(path, engine=args.engine)
    try:
        with spinner("analysing"):
            result = analyze(log, period=period, only=args.only,
                             segment=None if segment.empty else segment)
    finally:
        log.close()
    data = result.to_dict()
    for name, seconds in result.seconds.items():
        print(f"{name:<18} {seconds:>7.2f} s")
    for name, needs in result.left_out.items():
        print(f"{name:<18} left out: needs {' and '.join(NEED_WORDS[n] for n in needs)}")
    if result.left_out:
        print("  (what each needs and how to give it: `miner analyze LOG --only NAME`, "
              "docs/bring-your-own-log.md)")
    if args.json:
        args.json.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"results written to {args.json}")
    return 0
