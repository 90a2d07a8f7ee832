"""``miner ingest``: the command-line face of :func:`miner.ingest.ingest`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``ingest`` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "ingest",
        help="partner exports → one chain event log in a workspace (pseudonymised, accounted for)",
        description=(
            "Read partner exports (CSV, JSON lines, Excel, Parquet, PostgreSQL or DuckDB tables) "
            "with their mapping files, link rows to foreigners across partners, replace identifying "
            "fields by keyed pseudonyms and append everything to a DuckDB workspace. Every row ends "
            "as event(s) or in quarantine with its rule; a delivery ingested before is skipped. "
            "A SOURCE is a file, a folder (files found by the mappings' patterns), a PostgreSQL DSN "
            "or a .duckdb file (the mappings' tables), or DSN#schema.table."
        ),
    )
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help="files, folders or databases; an event log (OCEL 2.0, XES) "
                        "is taken as it is, read with --profile")
    parser.add_argument("--workspace", required=True, type=Path, metavar="WS",
                        help="the workspace (.duckdb file; created when missing)")
    parser.add_argument("--mapping", action="append", type=Path, default=[], metavar="FILE",
                        help="a mapping file (TOML); repeat for several (default: the shipped "
                        "mappings of the simulated chain)")
    parser.add_argument("--key-file", type=Path, metavar="FILE",
                        help="the pseudonymisation key (default: environment MINER_PSEUDONYM_KEY)")
    parser.add_argument("--profile", type=Path, metavar="FILE.toml",
                        help="how an event-log SOURCE (OCEL 2.0, XES) reads as a chain log "
                             "(docs/bring-your-own-log.md)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the summary as JSON")
    parser.add_argument("--memory-limit", default="1GB", metavar="SIZE",
                        help="cap on DuckDB's memory while ingesting; it spills beyond "
                        "(default: %(default)s)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``miner ingest``; returns the exit code."""
    from miner.ingest.mapping import read_mapping
    from miner.ingest.pipeline import ingest
    from miner.ingest.pseudonyms import PseudonymKey
    from miner.model.log import connect
    from miner.progress import spinner

    key = PseudonymKey.load(args.key_file)
    mappings = [read_mapping(p) for p in args.mapping] or None
    log = connect(args.workspace)
    try:
        with spinner("ingesting"):
            summary = ingest(log, args.sources, key=key, mappings=mappings,
                             memory_limit=args.memory_limit, profile=args.profile)
    finally:
        log.close()
    print(summary.to_text())
    if args.json:
        args.json.write_text(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")
    return 0
