"""Gathering the periodic report's results: the chain analyses of one period and of the period
before it, reduced to what the report shows (:func:`build_report_results`).

Terms:

- **period**: a :class:`miner.analysis.period.Period` (month, tertaal, quarter or year, local Dutch
  time); the **previous period** is the period of the same kind just before it
  (:meth:`Period.previous`).
- **report results**: one JSON-safe dict (``kind = "report_results"``, ``schema_version``) that holds
  every figure the report shows and nothing else: no event ids, no pseudonyms, no employees. The
  HTML renders from it alone (:func:`miner.report.render.render_report`), so a report can be
  rendered again without the workspace. Counts stay exact here; the rendering suppresses counts
  under 10 (ARCHITECTURE.md §7).
- **KPI**: a headline figure with its value in the period, its value in the previous period and
  the **delta** = value − previous value (None when either is missing). ``better`` says which
  direction is an improvement (``lower``, ``higher`` or ``none``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import miner
from miner.analysis.period import ZONE, Period
from miner.errors import MinerError
from miner.model.log import Log, connect
from miner.report.datafiles import layout
from miner.report.sources import data_quality, provenance

SCHEMA_VERSION = 1
KIND = "report_results"

#: the analyses the report runs for the period (name → how it is called), in this order
CURRENT = ("bottlenecks", "handoffs", "duplicates", "norms", "stock", "basics")
#: the analyses the report runs for the previous period (for the KPI deltas)
PREVIOUS = ("bottlenecks", "handoffs", "duplicates", "norms")


class NoDataError(MinerError):
    """The asked period holds no events of the workspace."""


def _events_range(log: Log) -> tuple[date, date] | None:
    row = log.con.execute(
        "SELECT min(timestamp), max(timestamp) FROM events").fetchone()
    if row is None or row[0] is None:
        return None
    return row[0].astimezone(ZONE).date(), row[1].astimezone(ZONE).date()


def _events_in(log: Log, period: Period) -> int:
    row = log.con.execute(f"SELECT count(*) FROM events WHERE {period.sql_range('timestamp')}"
                          ).fetchone()
    return int(row[0]) if row else 0


def _run(log: Log, name: str, period: Period) -> dict[str, Any]:
    """One analysis as its ``to_dict()``; duplicates without evidence (event ids, pseudonyms)."""
    if name == "bottlenecks":
        from miner.analysis.bottlenecks import bottlenecks
        return bottlenecks(log, period=period).to_dict()
    if name == "handoffs":
        from miner.analysis.handoffs import handoffs
        return handoffs(log, period=period).to_dict()
    if name == "duplicates":
        from miner.analysis.duplicates import duplicate_work
        return duplicate_work(log, period=period, evidence_limit=0).to_dict()
    if name == "norms":
        from miner.analysis.norms import norms
        return norms(log, period=period).to_dict()
    if name == "basics":
        return _dfg(log, period)
    if name == "stock":
        from miner.analysis.stock import stock
        return {"activity": stock(log, period=period, by="activity").to_dict(),
                "location": stock(log, period=period, by="location").to_dict()}
    raise ValueError(name)


def _dfg(log: Log, period: Period) -> dict[str, Any]:
    """The DFG part of :func:`miner.analysis.basics.basics` (same log, same :func:`dfg`), in the
    shape of its ``to_dict()``, without the variants and case durations the report does not show
    (they cost half of its time). ``cases`` is the sum of the start counts (one start per case),
    ``events`` that plus the sum of the edge frequencies (every other event ends one edge)."""
    from miner.analysis.basics import segmented
    from miner.analysis.dfg import dfg

    with segmented(log, period=period) as flat:
        graph = dfg(flat)
    edges: list[dict[str, Any]] = [{"source": str(r.source), "target": str(r.target), "frequency": int(r.frequency),
              "median_days": float(r.median_s) / 86400.0} for r in graph.table.itertuples()]
    starts = {str(k): int(v) for k, v in graph.start_activities.items()}
    cases = sum(starts.values())
    return {"edges": edges, "start_activities": starts, "cases": cases,
            "events": cases + sum(int(e["frequency"]) for e in edges)}


def run_analyses(log: Log, period: Period, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The named analyses of :data:`CURRENT` on ``period``, each as its ``to_dict()``."""
    return {name: _run(log, name, period) for name in names}


def build_report_results(source: Log | str | Path, period: Period | str, *,
                         conformance: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The report results of ``period`` (and the deltas against the previous period) from a
    workspace made by ``miner ingest`` (a path or an open :class:`Log`).

    Raises :class:`NoDataError` (a :class:`MinerError`) when the period holds no events, naming
    the period and the date range of the data. ``conformance`` is an optional
    :meth:`miner.conformance.check.Conformance.to_dict` to summarise.
    """
    from miner.adopt import log_facts
    from miner.analysis.chain import missing_needs

    if isinstance(period, str):
        period = Period.parse(period)
    log = connect(source, read_only=True) if isinstance(source, (str, Path)) else source
    try:
        facts = log_facts(log)
        # sections whose analysis the log cannot feed (a log without the chain catalogue) are
        # left out of the report, not shown empty
        left_out = [n for n in CURRENT if n != "basics" and missing_needs(n, facts)]
        span = _events_range(log)
        if span is None or _events_in(log, period) == 0:
            found = (f"the data run from {span[0].isoformat()} to {span[1].isoformat()}"
                     if span else "the workspace holds no events")
            raise NoDataError(
                f"period {period.label} ({period.start.isoformat()} to "
                f"{period.end.isoformat()}, end excluded) holds no events: {found}. "
                "Choose a period inside that range.")
        before = period.previous()
        current = run_analyses(log, period, [n for n in CURRENT if n not in left_out])
        previous = (run_analyses(log, before, [n for n in PREVIOUS if n not in left_out])
                    if _events_in(log, before) else None)
        quality = data_quality(log)
        origin = provenance(log)
    finally:
        if isinstance(source, (str, Path)):
            log.close()
    results = assemble(period, before, span, current, previous, quality, origin, conformance,
                       left_out, catalogue=facts.chain)
    if not facts.chain:
        results["subject"] = "cases"  # a log without the chain catalogue: its cases, no foreigners
    return results


def assemble(period: Period, before: Period, span: tuple[date, date],
             current: Mapping[str, Any], previous: Mapping[str, Any] | None,
             quality: dict[str, Any], origin: dict[str, Any],
             conformance: Mapping[str, Any] | None,
             left_out: Sequence[str] = (), *, catalogue: bool = True) -> dict[str, Any]:
    """The report results from the analyses' dicts (pure: no workspace). ``left_out``: the
    analyses of :data:`CURRENT` the log cannot feed, their sections None; ``catalogue``: whether
    the log's activities are the chain catalogue's (else the process map shows every one)."""
    from miner.report.sections import (
        bottleneck_section,
        conformance_section,
        duplicates_section,
        handoffs_section,
        kpis,
        norms_section,
        process_map_section,
        stock_section,
    )

    limits = layout()["limits"]
    steps = bottleneck_section(current["bottlenecks"],
                               previous["bottlenecks"] if previous else None)
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "miner_version": miner.__version__,
        "period": _period_dict(period),
        "previous": {**_period_dict(before), "has_data": previous is not None},
        "data_range": {"first": span[0].isoformat(), "last": span[1].isoformat()},
        "kpis": kpis(current, previous),
        "bottlenecks": steps,
        "process_map": process_map_section(current["basics"], catalogue=catalogue),
        "stock": stock_section(current["stock"], steps["steps"], limits),
        "handoffs": handoffs_section(current["handoffs"]) if "handoffs" in current else None,
        "duplicates": (duplicates_section(current["duplicates"]) if "duplicates" in current
                       else None),
        "norms": norms_section(current["norms"]) if "norms" in current else None,
        "left_out": list(left_out),
        "conformance": conformance_section(conformance),
        "data_quality": quality,
        "provenance": {**origin, "parameters": {
            "period": period.label, "previous_period": before.label,
            "analyses": [n for n in CURRENT if n not in left_out],
            "previous_analyses": [n for n in PREVIOUS if n not in left_out],
            "duplicates_window_days": current.get("duplicates", {}).get("window_days"),
            "duplicates_session_hours": current.get("duplicates", {}).get("session_hours"),
            "norms_as_of": current.get("norms", {}).get("as_of"),
            "conformance": conformance is not None,
        }},
    }


def _period_dict(period: Period) -> dict[str, str]:
    return {"label": period.label, "kind": period.kind, "start": period.start.isoformat(),
            "end": period.end.isoformat()}
