"""The ``miner`` command line: a thin layer over the public Python API, one function per command.

Exit codes: 0 done; 2 usage error (argparse); 3 unusable input or a refused operation (a
:class:`~miner.errors.MinerError`, one paragraph on stderr); 1 an unexpected internal error.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import miner
from miner.analysis.cli import register as register_analyze
from miner.audit.cli import register as register_audit
from miner.conformance.cli import register as register_conformance
from miner.conformance.cli import register_discover
from miner.demo import register as register_demo
from miner.errors import MinerError
from miner.explore.cli import register as register_explore
from miner.ingest.cli import register as register_ingest
from miner.model.filters import (
    AttributeFilter,
    DurationFilter,
    EndpointFilter,
    Filter,
    FollowsFilter,
    TimeWindow,
    VariantFilter,
)
from miner.report.cli import register as register_report
from miner.simulation.cli import register as register_simulate


def _timestamp(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 date or time (e.g. 2024-01-31 or 2024-01-31T08:00+01:00)"
        ) from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _attribute(text: str) -> tuple[str, tuple[str, ...]]:
    name, sep, values = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=VALUE[,VALUE...]")
    return name, tuple(values.split(","))


def _add_input(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="a log file (OCEL 2.0, XES) or a .duckdb workspace")


def _add_case_notion(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--object-type",
        metavar="T",
        help="the case notion: flatten on objects of type T (optional when the log has one type)",
    )
    group = parser.add_argument_group("filters (applied before the figures are computed)")
    group.add_argument("--from", dest="start", type=_timestamp, help="keep from this time (ISO 8601)")
    group.add_argument("--to", dest="end", type=_timestamp, help="keep before this time (ISO 8601)")
    group.add_argument(
        "--window-mode",
        choices=("events", "contained", "intersecting"),
        default="events",
        help="events: keep events in the window; contained/intersecting: keep whole cases that lie "
        "in / touch the window (default: events)",
    )
    for flag, metavar, parse, build, help_text in _FILTER_OPTIONS:
        group.add_argument(flag, type=parse, action=_AppendFilter, build=build, dest="filters",
                           default=[], metavar=metavar, help=help_text)


class _AppendFilter(argparse.Action):
    """Appends the filter its option builds to ``args.filters``, so filters keep the order in which
    they were given (each applies to what the ones before it kept)."""

    def __init__(self, *args: Any, build: Callable[[Any], Filter], **kwargs: Any) -> None:
        self.build = build
        super().__init__(*args, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        found = list(getattr(namespace, "filters", None) or [])
        found.append(self.build(values))
        namespace.filters = found


def _names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"{text!r}: expected one or more activity names, comma-separated")
    return names


def _sequence(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(">"))
    if not all(names):
        raise argparse.ArgumentTypeError(f"{text!r}: expected activities separated by '>', e.g. 'A>B>C'")
    return names


def _pair(text: str) -> tuple[str, str]:
    names = _sequence(text)
    if len(names) != 2:
        raise argparse.ArgumentTypeError(f"{text!r}: expected two activities, e.g. 'A>B'")
    return names[0], names[1]


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _duration_arg(text: str) -> float:
    number, unit = (text[:-1], text[-1]) if text and text[-1].lower() in _UNITS else (text, "s")
    try:
        return float(number) * _UNITS[unit.lower()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: give seconds or a number with a unit s, m, h, d or w (e.g. 3d)"
        ) from exc


#: The filter options: flag, metavar, parser of the value, the filter it builds, help.
_FILTER_OPTIONS: tuple[tuple[str, str, Callable[[str], Any], Callable[[Any], Filter], str], ...] = (
    ("--where", "NAME=V[,V]", _attribute, lambda v: AttributeFilter(v[0], v[1], level="event"),
     "keep the events whose attribute NAME has one of the values (NAME 'activity' for the activity)"),
    ("--where-not", "NAME=V[,V]", _attribute,
     lambda v: AttributeFilter(v[0], v[1], level="event", retain=False),
     "drop the events whose attribute NAME has one of the values"),
    ("--case-where", "NAME=V[,V]", _attribute, lambda v: AttributeFilter(v[0], v[1], level="case"),
     "keep the cases with at least one event whose attribute NAME has one of the values"),
    ("--case-where-not", "NAME=V[,V]", _attribute,
     lambda v: AttributeFilter(v[0], v[1], level="case", retain=False),
     "keep the cases with no event whose attribute NAME has one of the values"),
    ("--with-activity", "A[,A]", _names, lambda v: AttributeFilter("activity", v, level="case"),
     "keep the cases in which one of the activities occurs"),
    ("--without-activity", "A[,A]", _names,
     lambda v: AttributeFilter("activity", v, level="case", retain=False),
     "keep the cases in which none of the activities occurs"),
    ("--variant", "A>B>C", _sequence, lambda v: VariantFilter((v,)),
     "keep the cases of this variant (activities in order, separated by '>'; repeat for more)"),
    ("--follows", "A>B", _pair, lambda v: FollowsFilter(v[0], v[1]),
     "keep the cases in which B directly follows A"),
    ("--eventually", "A>B", _pair, lambda v: FollowsFilter(v[0], v[1], directly=False),
     "keep the cases in which B follows A, directly or later"),
    ("--starts-with", "A[,A]", _names, lambda v: EndpointFilter(v, side="start"),
     "keep the cases whose first activity is one of these"),
    ("--ends-with", "A[,A]", _names, lambda v: EndpointFilter(v, side="end"),
     "keep the cases whose last activity is one of these"),
    ("--min-duration", "D", _duration_arg, lambda v: DurationFilter(min_s=v),
     "keep the cases lasting at least D (seconds, or with a unit: 90m, 12h, 3d, 2w)"),
    ("--max-duration", "D", _duration_arg, lambda v: DurationFilter(max_s=v),
     "keep the cases lasting at most D"),
)


def _filters(args: argparse.Namespace) -> tuple[Filter, ...]:
    found: list[Filter] = []
    if args.start or args.end:
        found.append(TimeWindow(start=args.start, end=args.end, mode=args.window_mode))
    found += list(getattr(args, "filters", None) or [])
    return tuple(found)


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def cmd_convert(args: argparse.Namespace) -> int:
    miner.convert(args.input, args.output, object_type=args.object_type)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    log = miner.read(args.input)
    case_notion = None
    if args.object_type is not None or len(log.object_types()) == 1 or _filters(args):
        case_notion = miner.flatten(log, object_type=args.object_type, filters=_filters(args))
    stats = miner.log_statistics(log, case_notion=case_notion)
    if args.json:
        _print_json(stats.to_dict())
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{args.input.name}", show_header=False)
    for key, value in stats.to_dict().items():
        if key != "schema_version" and value is not None:
            table.add_row(key.replace("_", " "), f"{value:,}" if isinstance(value, int) else str(value))
    Console().print(table)
    return 0


def cmd_dfg(args: argparse.Namespace) -> int:
    log = miner.read(args.input)
    graph = miner.dfg(miner.flatten(log, object_type=args.object_type, filters=_filters(args)))
    if args.json:
        _print_json(graph.to_dict()["edges"])
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Directly-follows graph of {args.input.name} (case notion {graph.object_type})")
    for column in ("source", "target", "frequency", "mean", "median", "p90"):
        table.add_column(column, justify="right" if column not in ("source", "target") else "left")
    for row in graph.table.itertuples():
        table.add_row(
            str(row.source), str(row.target), f"{row.frequency:,}",
            _duration(row.mean_s), _duration(row.median_s), _duration(row.p90_s),
        )
    Console().print(table)
    return 0


def cmd_variants(args: argparse.Namespace) -> int:
    log = miner.read(args.input)
    found = miner.variants(miner.flatten(log, object_type=args.object_type, filters=_filters(args)))
    if args.json:
        _print_json(found.to_dict()["variants"][: args.top])
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Variants of {args.input.name}: {len(found.table):,} over {found.cases:,} cases")
    table.add_column("cases", justify="right")
    table.add_column("share", justify="right")
    table.add_column("activities")
    for row in found.table.head(args.top).itertuples():
        table.add_row(f"{row.cases:,}", f"{row.share:.1%}", " → ".join(row.variant))
    Console().print(table)
    return 0


def _duration(seconds: float) -> str:
    if math.isnan(seconds):
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="miner",
        description="Object-centric process mining for the Dutch asylum chain.",
    )
    parser.add_argument("--version", action="version", version=f"miner {miner.__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    convert = commands.add_parser(
        "convert",
        help="convert a log between formats (by extension), or import it into a .duckdb workspace",
        description="Convert IN to OUT; formats by extension: .jsonocel/.json(.gz), .xmlocel/.xml(.gz), "
        ".sqlite, .xes(.gz), and .duckdb to import into a workspace (appended if it exists).",
    )
    convert.add_argument("input", type=Path, help="the log to read")
    convert.add_argument("output", type=Path, help="the file to write")
    convert.add_argument("--object-type", metavar="T", help="case notion when writing XES")
    convert.set_defaults(func=cmd_convert)

    stats = commands.add_parser("stats", help="counts: events, objects, links, activities, cases, variants")
    _add_input(stats)
    _add_case_notion(stats)
    stats.add_argument("--json", action="store_true", help="print a JSON object on stdout")
    stats.set_defaults(func=cmd_stats)

    dfg = commands.add_parser("dfg", help="the directly-follows graph with frequency and performance")
    _add_input(dfg)
    _add_case_notion(dfg)
    dfg.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list of {source, target, frequency, mean_s, median_s, p90_s, min_s, max_s}",
    )
    dfg.set_defaults(func=cmd_dfg)

    variants = commands.add_parser("variants", help="the variants (activity sequences) with case counts")
    _add_input(variants)
    _add_case_notion(variants)
    variants.add_argument("--top", type=int, default=20, help="show the N most frequent (default 20)")
    variants.add_argument("--json", action="store_true", help="print a JSON list on stdout")
    variants.set_defaults(func=cmd_variants)

    register_simulate(commands)
    register_ingest(commands)
    register_analyze(commands)
    register_conformance(commands)
    register_discover(commands)
    register_report(commands)
    register_audit(commands)
    register_demo(commands)
    register_explore(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except MinerError as exc:
        if args.debug:
            raise
        print(f"miner {args.command}: error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("miner: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an unexpected failure: say so plainly, traceback on --debug
        if args.debug:
            raise
        print(
            f"miner {args.command}: internal error: {type(exc).__name__}: {exc}. "
            "Run again with --debug for the traceback and report it.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
