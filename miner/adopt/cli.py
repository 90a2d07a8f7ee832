"""The command-line options every analysing command shares: which log, read how."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from miner.errors import InputError
from miner.model.log import Log


def add_log_arguments(parser: Any, *, verb: str = "analyse") -> None:
    """``LOG`` (or ``--workspace WS``), ``--profile``, ``--object-type`` and ``--key-file``."""
    parser.add_argument("log", nargs="?", type=Path, metavar="LOG",
                        help=f"the log to {verb}: a workspace made by `miner ingest`, any other "
                             ".duckdb workspace, or a log file (OCEL 2.0, XES, CSV/Parquet with "
                             "[columns] in --profile); see docs/bring-your-own-log.md")
    parser.add_argument("--workspace", type=Path, metavar="WS",
                        help="the same as LOG (kept for scripts written before LOG)")
    parser.add_argument("--profile", type=Path, metavar="FILE.toml",
                        help="how a log not made by ingest reads as a chain log: case notion, "
                             "organisation, label mapping (docs/bring-your-own-log.md)")
    parser.add_argument("--object-type", metavar="T",
                        help="the object type of the foreigners (or cases) in a log not made by "
                             "ingest; an XES log's traces are 'case'")
    parser.add_argument("--key-file", type=Path, metavar="F",
                        help="the pseudonymisation key, for a log with raw V-nummers "
                             "([case] identifiers = \"v-nummers\")")


def log_path(args: argparse.Namespace) -> Path:
    """The log named by ``LOG`` or ``--workspace`` (exactly one)."""
    if args.log is not None and args.workspace is not None and args.log != args.workspace:
        raise InputError(f"give the log once: LOG ({args.log}) or --workspace ({args.workspace})")
    path = args.log or args.workspace
    if path is None:
        raise InputError("name the log to work on: a workspace or log file as LOG "
                         "(e.g. `miner analyze eventlogs/chain.jsonocel`)")
    return Path(path)


def open_log(args: argparse.Namespace) -> Log:
    """The log of the command line, opened for the analyses (:func:`miner.adopt.open_for_analysis`)."""
    from miner.adopt import open_for_analysis

    return open_for_analysis(log_path(args), profile=args.profile, object_type=args.object_type,
                             key_file=args.key_file)
