"""``miner demo``: the whole job on the built-in simulated chain, in one command.

The demo simulates the default year of the chain (the partners' exports with their planted
duplicate work, hand-off delays and queues), ingests the exports into a fresh workspace, runs the
chain analyses for the last tertaal of that year, checks every journey against the reference
swimlane model, and renders the two HTML reports: the periodic bottleneck report and the
conformance audit report. Everything it writes lies under one folder:

* ``exports/``: the simulated partner exports and the ground truth (``miner simulate``);
* ``demo.key``: the pseudonymisation key (random; the data are simulated, yet the demo handles
  them as it would real ones);
* ``chain.duckdb``: the workspace (``miner ingest``);
* ``conformance/``: the conformance outputs (``miner conformance``);
* ``report.html`` with ``report.results.json``: the bottleneck report and its results
  (``miner analyze`` + ``miner report``);
* ``audit.html`` with its CSV annex and results (``miner audit``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The steps in order, as shown while the demo runs.
STEPS = ("simulate", "ingest", "analyse", "conformance", "report", "audit")


@dataclass
class DemoResult:
    """What the demo made: the output folder, the files per step and seconds per step."""

    out: Path
    period: str
    files: dict[str, Path] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    headline: dict[str, Any] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


#: Called as ``announce(step_number, step_name, seconds_or_None, detail)``: once when a step
#: starts (seconds None) and once when it ends.
Announce = Callable[[int, str, float | None, str], None]


def _quiet(number: int, name: str, seconds: float | None, detail: str) -> None:
    return None


def run_demo(out: str | Path = "reports/demo", *, seed: int = 1, period: str | None = None,
             lang: str = "nl", announce: Announce = _quiet) -> DemoResult:
    """Run the demo into ``out`` (see the module docstring) and return what it made.

    ``period``: the report period (default: the last tertaal of the simulated year);
    ``lang``: the reports' language. A workspace left by an earlier demo in ``out`` is replaced.
    """
    from miner.analysis.period import Period
    from miner.audit import write_audit
    from miner.conformance.check import check_conformance
    from miner.conformance.cli import write_outputs
    from miner.ingest.pipeline import ingest
    from miner.ingest.pseudonyms import PseudonymKey
    from miner.model.log import connect
    from miner.report.render import write_report
    from miner.report.results import build_report_results
    from miner.simulation.api import simulate

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = DemoResult(out=out, period=period or "")

    @contextmanager
    def step(name: str) -> Iterator[dict[str, str]]:
        number = STEPS.index(name) + 1
        announce(number, name, None, "")
        detail: dict[str, str] = {"text": ""}
        started = time.perf_counter()
        yield detail
        result.seconds[name] = time.perf_counter() - started
        announce(number, name, result.seconds[name], detail["text"])

    with step("simulate") as detail:
        run = simulate("default", seed=seed, out=out / "exports")
        result.files["exports"] = out / "exports"
        detail["text"] = f"{run.foreigners:,} foreigners, {sum(run.files.values()):,} export rows"
        year = _simulated_year(run.scenario)
    chosen = Period.parse(period or f"{year}-T3")
    result.period = chosen.label

    with step("ingest") as detail:
        key_file = out / "demo.key"
        if not key_file.exists():
            key_file.write_bytes(secrets.token_urlsafe(32).encode("ascii") + b"\n")
        workspace = out / "chain.duckdb"
        for stale in (workspace, workspace.with_name(workspace.name + ".wal")):
            stale.unlink(missing_ok=True)
        log = connect(workspace)
        summary = ingest(log, [out / "exports"], key=PseudonymKey.load(key_file))
        result.files["workspace"] = workspace
        detail["text"] = (f"{summary.rows:,} rows read, {summary.events:,} events, "
                          f"{sum(summary.quarantined.values()):,} rows quarantined")
    try:
        with step("analyse") as detail:
            results = build_report_results(log, chosen)
            detail["text"] = f"period {chosen.label}, compared with {chosen.previous().label}"
        with step("conformance") as detail:
            conformance = check_conformance(log)
            write_outputs(conformance, out / "conformance")
            result.files["conformance"] = out / "conformance"
            rate = conformance.conformance_rate
            detail["text"] = (f"{conformance.foreigners:,} foreigners, conforming "
                              f"{'-' if rate is None else f'{100 * rate:.1f} %'}")
        with step("report") as detail:
            from miner.report.sections import conformance_section
            results["conformance"] = conformance_section(conformance.to_dict())
            result.files["report"] = write_report(results, out / "report.html", lang=lang)
            detail["text"] = str(result.files["report"])
        with step("audit") as detail:
            result.files["audit"] = write_audit(log, conformance, out / "audit.html", lang=lang)
            detail["text"] = str(result.files["audit"])
    finally:
        log.close()
    result.headline = {"foreigners": run.foreigners, "conformance_rate": rate}
    return result


def _simulated_year(scenario: str) -> int:
    """The calendar year the simulation covers (the scenario's start year)."""
    from miner.simulation.scenario import load_scenario

    return int(load_scenario(scenario).start.year)


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "demo",
        help="the whole job on the built-in simulated chain: simulate, ingest, analyse, "
        "conformance, and both reports",
        description=(
            "Simulate the default year of the chain, ingest the partners' exports into a fresh "
            "workspace, analyse the last tertaal, check conformance against the reference model, "
            "and write the bottleneck report (report.html) and the audit report (audit.html) to "
            "DIR. Takes about a minute and a half on two cores."),
    )
    parser.add_argument("--out", type=Path, default=Path("reports/demo"), metavar="DIR",
                        help="output folder (default reports/demo)")
    parser.add_argument("--seed", type=int, default=1, help="simulation seed (default 1)")
    parser.add_argument("--period", metavar="P",
                        help="report period (default: the last tertaal of the simulated year)")
    parser.add_argument("--lang", choices=("nl", "en"), default="nl",
                        help="language of the reports (default nl)")
    parser.set_defaults(func=run)


def run(args: Any) -> int:
    """Execute ``miner demo``: one line per step with its time; the files at the end."""
    from contextlib import ExitStack

    from miner.progress import spinner

    running = ExitStack()  # the spinner of the step under way (shown on a terminal only)

    def announce(number: int, name: str, seconds: float | None, detail: str) -> None:
        if seconds is None:
            running.enter_context(spinner(f"[{number}/{len(STEPS)}] {name}"))
            return
        running.close()
        print(f"[{number}/{len(STEPS)}] {name:<12} {seconds:6.1f} s  {detail}", flush=True)

    try:
        result = run_demo(args.out, seed=args.seed, period=args.period, lang=args.lang,
                          announce=announce)
    finally:
        running.close()
    print(f"demo done in {result.total_seconds:.1f} s (period {result.period}):")
    for name in ("report", "audit", "conformance", "workspace", "exports"):
        print(f"  {name:<12} {result.files[name]}")
    return 0
