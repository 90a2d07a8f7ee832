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
rework              activities repeated within one case (:mod:`.rework`)
=================== ====================================================================

Each analysis names what it **needs** of the log (:data:`NEEDS`): ``chain`` (the chain catalogue:
an ingested workspace or a log whose labels are catalogue labels, :mod:`miner.adopt`),
``organisation`` (who performed each event) and ``sources`` (events of two or more source
systems). A full run leaves out the analyses the log cannot feed and says why
(:attr:`ChainAnalysis.left_out`); asking for one by name raises :class:`AnalysisNeedsError`.

Results first (ARCHITECTURE.md §6): a report renders from the saved JSON, without the workspace.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from miner.analysis.period import Period
from miner.errors import MinerError, UnknownNameError
from miner.model.log import Log

if TYPE_CHECKING:
    from miner.adopt import LogFacts
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
    "rework": "miner.analysis.rework:rework",
}
#: what each analysis needs of the log (see the module docstring)
NEEDS: dict[str, tuple[str, ...]] = {
    "duplicates": ("chain",), "handoffs": ("organisation",), "bottlenecks": (), "stock": (),
    "norms": ("chain",), "queues": ("chain",), "no_shows": ("chain",),
    "registration_lag": ("chain", "sources"), "measures": ("chain",), "basics": (), "rework": (),
}
#: how to give the log what a need asks for
HOW_TO_GIVE = {
    "chain": "activity labels of the chain catalogue (the exact Dutch labels of "
             "docs/conformance/reference-model.md, or a mapping in [activities] of a log profile, "
             "--profile FILE.toml); {share:.0%} of this log's events carry one",
    "organisation": "who performed each event: an event attribute organisation, org:group or "
                    "org:resource, or [organisation] attribute / object_type / qualifier in a log "
                    "profile",
    "sources": "events from two or more source systems ([organisation] source = \"ATTRIBUTE\" in a "
               "log profile); this log has {sources}",
}
#: the analyses that take a segment
SEGMENTED = frozenset({"basics"})


def _function(name: str) -> Callable[..., Any]:
    module, _, attribute = ANALYSES[name].partition(":")
    return getattr(importlib.import_module(module), attribute)  # type: ignore[no-any-return]


class AnalysisNeedsError(MinerError):
    """An analysis was asked of a log that cannot feed it; the message says what it needs."""


def missing_needs(name: str, facts: LogFacts) -> list[str]:
    """The needs (keys of :data:`HOW_TO_GIVE`) of analysis ``name`` that the log, described by
    ``facts``, lacks; empty when it can run."""
    have = {"chain": facts.chain, "organisation": facts.organisation is not None,
            "sources": facts.sources >= 2}
    return [need for need in NEEDS[name] if not have[need]]


def explain_needs(needs: Sequence[str], facts: LogFacts) -> str:
    """The ``needs`` worded with how to give each."""
    return "; and ".join(HOW_TO_GIVE[n].format(share=facts.catalogue_share, sources=facts.sources)
                         for n in needs)


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
    #: analyses of a full run the log could not feed, with what they need (:data:`NEEDS` keys)
    left_out: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": "chain_analysis", "period": self.period,
                "results": {k: v.to_dict() for k, v in self.results.items()},
                "seconds": self.seconds, "left_out": self.left_out}

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
        return cls(data["period"], results, dict(data.get("seconds", {})),
                   {k: list(v) for k, v in data.get("left_out", {}).items()})


def analyze(log: Log, *, period: Period | str | None = None,
            only: Sequence[str] | None = None, segment: Segment | None = None) -> ChainAnalysis:
    """Run the chain analyses (all, or ``only`` these names) on an ingested workspace or an adopted
    log (:func:`miner.adopt.open_for_analysis`). ``segment`` restricts the analyses of
    :data:`SEGMENTED` (``basics``); the others ignore it.

    Raises:
        AnalysisNeedsError: an analysis named in ``only`` needs what the log lacks.
    """
    from miner.adopt import log_facts

    if isinstance(period, str):
        period = Period.parse(period)
    names = list(only) if only else list(ANALYSES)
    for name in names:
        if name not in ANALYSES:
            raise UnknownNameError("analysis", name, ANALYSES)
    facts = log_facts(log)
    left_out = {name: missing for name in names if (missing := missing_needs(name, facts))}
    if only and left_out:
        name, missing = next(iter(left_out.items()))
        raise AnalysisNeedsError(f"{facts.file or log.path or 'the log'}: the analysis {name!r} "
                                 f"needs {explain_needs(missing, facts)}.")
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for name in (n for n in names if n not in left_out):
        started = time.perf_counter()
        extra = {"segment": segment} if name in SEGMENTED and segment is not None else {}
        results[name] = _function(name)(log, period=period, **extra)
        seconds[name] = round(time.perf_counter() - started, 3)
    return ChainAnalysis(period.label if period else None, results, seconds, left_out)
