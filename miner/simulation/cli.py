"""The ``miner simulate`` subcommand: a thin argparse layer over :func:`miner.simulation.simulate`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from miner.errors import MinerError


def register(subparsers: Any) -> None:
    """Add the ``simulate`` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "simulate",
        help="simulate the asylum chain and write partner exports with ground truth",
        description=(
            "Run a scenario of the Dutch asylum chain as a discrete-event simulation and write each "
            "partner's export (IND INDiGO, Politie PSH-V and Smartflow, COA, DT&V, KMar, KMI+) plus "
            "the ground truth (truth/rows.parquet, truth/foreigners.parquet, truth/phenomena.json). "
            "The same scenario and seed give byte-identical files."
        ),
    )
    parser.add_argument(
        "--scenario",
        default="default",
        metavar="FILE|NAME",
        help="a shipped scenario (default, 2023-minimum, 2023-medio, 2023-maximum) "
        "or the path of a scenario TOML file (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=1, metavar="N", help="random seed (default: %(default)s)"
    )
    parser.add_argument(
        "--years",
        type=float,
        default=None,
        metavar="Y",
        help="simulated years from the scenario's start date (default: the scenario's)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="output folder for the exports and the ground truth",
    )
    parser.add_argument(
        "--summary",
        action="store_true",
        help="print the headline figures next to the seed figures "
        "(always written to DIR/summary.json)",
    )
    parser.add_argument(
        "--postgres",
        metavar="DSN",
        default=None,
        help="also load the exports into this PostgreSQL database, one schema per partner",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``miner simulate``; returns the exit code (0 done, 3 unusable input or failure)."""
    from miner.simulation.api import simulate
    from miner.simulation.postgres import load_postgres

    try:
        result = simulate(args.scenario, seed=args.seed, years=args.years, out=args.out)
        loaded = load_postgres(args.out, args.postgres) if args.postgres else None
    except MinerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    if args.json:
        data = result.to_dict()
        if loaded is not None:
            data["postgres"] = loaded
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    rows = sum(result.files.values())
    print(
        f"{result.scenario}, seed {result.seed}, {result.years:g} year(s): {result.foreigners} "
        f"foreigners, {rows} export rows in {len(result.files)} files under {result.out}"
    )
    if args.summary and result.summary is not None:
        print(result.summary.to_text())
    if loaded is not None:
        print(f"loaded {sum(loaded.values())} rows into {len(loaded)} PostgreSQL tables")
    return 0
