"""``miner explore``: start the explorer on a log and print its URL (with the token)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``explore`` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "explore",
        help="an interactive process explorer in the browser (local, token-guarded)",
        description=(
            "Open a log or workspace (read-only) and serve the explorer on 127.0.0.1: the process "
            "map with activity and path sliders, stackable filters with what each keeps, "
            "variants, statistics, case drill-down and export. Open the printed URL; Ctrl-C "
            "stops it. See docs/explore.md."),
    )
    parser.add_argument("log", type=Path, metavar="LOG",
                        help="a .duckdb workspace or a log file (OCEL 2.0, XES)")
    parser.add_argument("--object-type", metavar="T",
                        help="the case notion (default: vreemdeling, or the only object type)")
    parser.add_argument("--port", type=int, default=0, metavar="N",
                        help="the port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--lang", choices=("nl", "en"), default="nl",
                        help="language of the page (default nl)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``miner explore``; returns the exit code when the server stops."""
    from miner.explore import open_explorer, serve

    explorer = open_explorer(args.log, object_type=args.object_type)
    try:
        serve(explorer, port=args.port, lang=args.lang)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how the explorer is meant to stop; uvicorn has shut down cleanly
    finally:
        explorer.base.log.close()
    print("miner explore: stopped", flush=True)
    return 0
