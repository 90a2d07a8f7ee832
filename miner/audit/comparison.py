"""The audit's section "Model en praktijk" (Model and practice): the model comparison
(:func:`miner.conformance.compare.compare_models`) of the audited log, reduced to what the page
shows.

- :func:`audit_comparison`: the comparison of the audited log with the model its conformance was
  checked against (same period, same lane mapping), or None when that model is not known (a
  conformance result read from a folder of an own model, without ``--model``);
- :func:`comparison_section`: per phase the figures and the first ``rows`` rows of each of the
  three tables (forbidden flows, unused model paths, lane moves) with the number of rows there are.

Every figure is defined in ``docs/conformance/compare.md``; the page suppresses counts of people
under 10 as elsewhere in the audit (a lane move's share is hidden with a suppressed event count).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from miner.conformance.check import Conformance
from miner.conformance.compare import ModelComparison, compare_models
from miner.model.log import Log


def audit_comparison(log: Log, conformance: Conformance, model: str | Path | None,
                     lane_organisations: Mapping[str, str] | None = None
                     ) -> ModelComparison | None:
    """The comparison of ``log`` with ``model`` (None: the shipped reference model) in the
    conformance result's period; None when ``model`` is None and the result was checked against
    another model than the reference model."""
    from miner.analysis.period import Period
    from miner.conformance.swimlane import reference_model

    if model is None and (conformance.model_kind != "swimlane"
                          or conformance.model != reference_model().name):
        return None
    period = Period.parse(conformance.period) if conformance.period else None
    return compare_models(log, model, period=period, lane_organisations=lane_organisations)


def comparison_section(found: ModelComparison | None, rows: int) -> dict[str, Any] | None:
    """The JSON-safe section of ``found``: model, noise, coverage start, foreigners and per phase
    its figures, the first ``rows`` rows of each table and each table's number of rows."""
    if found is None:
        return None
    phases = []
    for p in found.phases:
        figures = {k: v for k, v in asdict(p).items()
                   if k not in ("forbidden", "unused", "lane_moves")}
        phases.append({
            **figures, "forbidden_share": p.forbidden_share,
            "forbidden": [asdict(r) for r in p.forbidden[:rows]],
            "forbidden_rows": len(p.forbidden),
            "unused": [asdict(r) for r in p.unused[:rows]],
            "unused_rows": len(p.unused),
            "lane_moves": [asdict(r) for r in p.lane_moves[:rows]],
            "lane_move_rows": len(p.lane_moves),
        })
    return {"model": found.model, "model_kind": found.model_kind, "period": found.period,
            "noise": found.noise, "coverage_start": found.coverage_start,
            "foreigners": found.foreigners, "rows": rows, "phases": phases}
