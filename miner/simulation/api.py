"""``simulate()``: run a scenario and write the partner exports with their ground truth."""

from __future__ import annotations

import gc
import json
import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from miner.simulation._aanmeld import ir_street, journey
from miner.simulation._departure import other_sources
from miner.simulation._initial import seed_initial
from miner.simulation._procedure import aa_planner, gemeenten
from miner.simulation._record import Recorder
from miner.simulation._world import Proc, World, arrivals
from miner.simulation.scenario import ScenarioError, load_scenario
from miner.simulation.summary import Summary, phenomena, summary


@dataclass(frozen=True)
class SimulationResult:
    """What :func:`simulate` wrote.

    ``files`` maps each export file (relative to ``out``) to its number of data rows; ``truth``
    lists the ground-truth files; ``phenomena`` counts each planted phenomenon (the same numbers as
    ``truth/phenomena.json``); ``summary`` holds the headline figures next to the seed figures.
    """

    out: Path
    scenario: str
    seed: int
    years: float
    files: dict[str, int]
    truth: tuple[str, ...]
    foreigners: int
    phenomena: dict[str, int] = field(default_factory=dict)
    summary: Summary | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "scenario": self.scenario,
            "seed": self.seed,
            "years": self.years,
            "files": self.files,
            "truth": list(self.truth),
            "foreigners": self.foreigners,
            "phenomena": self.phenomena,
            "summary": self.summary.to_dict() if self.summary is not None else None,
        }


def horizon_days(start: date, years: float) -> float:
    """Days from ``start`` to ``start`` plus ``years`` (whole years follow the calendar)."""
    whole = math.floor(years)
    end = date(start.year + whole, start.month, start.day)
    return (end - start).days + (years - whole) * 365.0


def simulate(
    scenario: str | Path = "default", *, seed: int = 1, years: float | None = None, out: Path
) -> SimulationResult:
    """Simulate the asylum chain and write partner exports plus ground truth to ``out``.

    A *scenario* is a TOML file of capacities, opening hours, durations and routing shares (see
    :func:`~miner.simulation.scenario.load_scenario`). The same scenario and seed give byte-identical
    files; another seed gives other data.

    Args:
        scenario: a shipped scenario name ("default", "2023-minimum", "2023-medio",
            "2023-maximum") or the path of a scenario file.
        seed: the random seed.
        years: simulated years from the scenario's start date; default: the scenario's ``years``.
        out: the output folder (created; existing files of the same names are overwritten).

    Returns:
        The files written, row counts, planted-phenomenon counts and the summary figures.

    Raises:
        ScenarioError: the scenario is unknown or invalid.

    Example:
        >>> result = simulate("default", seed=1, years=0.05, out=tmp_path)  # doctest: +SKIP
        >>> result.files["ind/indigo_zaakhistorie.csv"] > 0  # doctest: +SKIP
        True
    """
    sc = load_scenario(scenario)
    span = sc.years if years is None else float(years)
    if span <= 0:
        raise ScenarioError(f"years is {span!r}. Allowed: a number > 0.")
    horizon = horizon_days(sc.start, span)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rec = Recorder(out, sc, seed)
    w = World(sc, rec, seed, horizon)
    seed_initial(w)
    env = w.env
    env.process(arrivals(w, journey))
    for site in ("ter_apel", "budel"):
        env.process(ir_street(w, site))
    env.process(aa_planner(w))
    env.process(gemeenten(w))
    env.process(other_sources(w))
    env.process(_months(w))
    # the automatic collector rescans the whole simulated population every few thousand objects
    # (two thirds of the run time) and finds nothing: the run makes no cyclic garbage (measured);
    # one full collection per simulated year is the safety net for long runs
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        env.run(until=horizon)
    finally:
        if was_enabled:
            gc.enable()
    rec.month_end(_period(w, horizon - 1e-9), horizon)
    foreigners = w.serial
    w.close()
    files = rec.close()
    counts = phenomena(out)
    (out / "truth" / "phenomena.json").write_text(
        json.dumps(counts, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    result_summary = summary(out, scenario=sc, years=span)
    (out / "summary.json").write_text(
        json.dumps(result_summary.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    truth = ("truth/rows.parquet", "truth/foreigners.parquet", "truth/phenomena.json")
    return SimulationResult(
        out=out,
        scenario=sc.name,
        seed=seed,
        years=span,
        files=files,
        truth=truth,
        foreigners=foreigners,
        phenomena=counts,
        summary=result_summary,
    )


def _period(w: World, t: float) -> str:
    d = w.date_of(t)
    return f"{d.year}-{d.month:02d}"


def _months(w: World) -> Proc:
    """At each month end: the KMI+ rows, and the hearing calendar is pruned (flat memory)."""
    env = w.env
    while True:
        d = w.date_of(env.now)
        nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        t = float((nxt - w.start).days)
        if t >= w.horizon:
            return
        yield w.wait_until(t)
        w.rec.month_end(_period(w, t - 1e-9), t)
        today = int(t)
        for key in [k for k in w.hearings if k[1] < today]:
            del w.hearings[key]
        if nxt.month == 1:
            gc.collect()
