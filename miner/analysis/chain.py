"""``miner analyze``: every chain analysis on a workspace, one JSON-serialisable bundle.

The analyses (each its own module, each defined in docs/analyses/):

=================== ====================================================================
duplicates          the same purpose done twice for one foreigner (:mod:`.duplicates`)
handoffs            transfers between organisations (:mod:`.handoffs`)
bottlenecks         waiting before each step, ranking, queue growth, Little's law
stock               foreigners waiting per step and staying per COA location, per day
norms               statutory terms and day norms, met / late / open at risk
queues              distance from first-in-first-out, who overtakes whom
no_shows            hearings planned but not held, re-planning
registration_lag    how late a second system records the same fact
measures            before/after effect of each measure in ``miner/data/measures.toml``
basics              DFG, variants and case durations of the foreigners, per segment
=================== ====================================================================

Results first (ARCHITECTURE.md §6): a report renders from the saved JSON, without the workspace.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from miner.analysis.period import Period
from miner.errors import UnknownNameError
from miner.model.log import Log

if TYPE_CHECKING:
    from miner.analysis.basics import Segment

SCHEMA_VERSION = 1

#: name → "module:function" (imported when run); each takes ``(log, *, period=...)``; ``basics``
#: also takes the ``segment`` (:class:`miner.analysis.basics.Segment`).
ANALYSES: dict[str, str] = {
    "duplicates": "miner.analysis.duplicates:duplicate_work",
    "handoffs": "miner.analysis.handoffs:handoffs",
    "bottlenecks": "miner.analysis.bottlenecks:bottlenecks",
    "stock": "miner.analysis.stock:stock",
    "norms": "miner.analysis.norms:norms",
    "queues": "miner.analysis.queues:queue_discipline",
    "no_shows": "miner.analysis.noshows:no_shows",
    "registration_lag": "miner.analysis.lag:registration_lag",
    "measures": "miner.analysis.chain:all_measures",
    "basics": "miner.analysis.basics:basics",
}
#: the analyses that take a segment
SEGMENTED = frozenset({"basics"})


def _function(name: str) -> Callable[..., Any]:
    module, _, attribute = ANALYSES[name].partition(":")
    return getattr(importlib.import_module(module), attribute)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class MeasureEffects:
    """The effect of every measure defined in ``miner/data/measures.toml``."""

    effects: tuple[Any, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": "measures",
                "effects": [e.to_dict() for e in self.effects]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MeasureEffects:
        from miner.analysis.measures import MeasureEffect

        return cls(tuple(MeasureEffect.from_dict(e) for e in data["effects"]))


def all_measures(log: Log, *, period: Period | None = None) -> MeasureEffects:
    """Every measure of the data file, each on its own KPI, place and start date."""
    from miner.analysis.measures import measure_definitions, measure_effect

    effects = []
    for measure in measure_definitions():
        arguments = {k: v for k, v in measure.items()
                     if k in ("kpi", "place", "start", "comparison")}
        effects.append(measure_effect(log, period=period, **arguments))
    return MeasureEffects(tuple(effects))


@dataclass(frozen=True)
class ChainAnalysis:
    """The results of every analysis that ran, by name, with the period and their run times."""

    period: str | None
    results: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": "chain_analysis", "period": self.period,
                "results": {k: v.to_dict() for k, v in self.results.items()},
                "seconds": self.seconds}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChainAnalysis:
        results = {}
        for name, value in data["results"].items():
            owner = _function(name)
            result_type = owner.__annotations__.get("return")
            module = importlib.import_module(owner.__module__)
            kind: Any = (getattr(module, result_type) if isinstance(result_type, str)
                         else result_type)
            results[name] = kind.from_dict(value)
        return cls(data["period"], results, dict(data.get("seconds", {})))


def analyze(log: Log, *, period: Period | str | None = None,
            only: Sequence[str] | None = None, segment: Segment | None = None) -> ChainAnalysis:
    """Run the chain analyses (all, or ``only`` these names) on a workspace made by ingest.
    ``segment`` restricts the analyses of :data:`SEGMENTED` (``basics``); the others ignore it."""
    if isinstance(period, str):
        period = Period.parse(period)
    names = list(only) if only else list(ANALYSES)
    for name in names:
        if name not in ANALYSES:
            raise UnknownNameError("analysis", name, ANALYSES)
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for name in names:
        started = time.perf_counter()
        extra = {"segment": segment} if name in SEGMENTED and segment is not None else {}
        results[name] = _function(name)(log, period=period, **extra)
        seconds[name] = round(time.perf_counter() - started, 3)
    return ChainAnalysis(period.label if period else None, results, seconds)
