"""Gathering the conformance audit's results (:func:`build_audit_results`): a conformance result
(:class:`~miner.conformance.check.Conformance`) and the workspace it was checked on, reduced to
what the audit report shows.

Terms (every figure is defined in ``docs/conformance/check.md``; the audit adds no new figure):

- **audit results**: one JSON-safe dict (``kind = "audit_results"``, ``schema_version``) that
  holds everything the audit HTML shows and nothing else. The HTML renders from it alone
  (:func:`miner.audit.render.render_audit`), so an audit can be rendered again, in another
  language, without the workspace. Counts are exact here; the rendering suppresses counts of
  people under 10 in aggregate tables (ARCHITECTURE.md §7), not in one foreigner's drill-down.
- **headline figures**: foreigners checked, conforming (no finding of a rated category),
  deviating (the rest), the conformance rate, the fitness figures and precision of the result,
  the number of findings and of accepted deviations.
- **rates**: the conformance rate per value of each dimension (``month``, ``phase``, ``lane``,
  ``partner``), as the conformance result has them.
- **audit id**: 16 hexadecimal digits of SHA-256 over the results; the page keeps its sign-off
  state under it, so two audits never share one.

The drill-down sample is :mod:`miner.audit.drilldown`, the accepted deviations
:mod:`miner.audit.accepted`, the finding ids :mod:`miner.audit.findings`, the section "Model en
praktijk" (the model comparison, :mod:`miner.conformance.compare`) :mod:`miner.audit.comparison`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import miner
from miner.audit.accepted import accepted_section, check_entries
from miner.audit.comparison import audit_comparison, comparison_section
from miner.audit.drilldown import drilldown
from miner.audit.findings import finding_ids
from miner.audit.loading import file_sha256
from miner.audit.readings import readings_section
from miner.conformance.allowlist import AllowEntry, read_allowlist
from miner.conformance.check import DIMENSIONS, Conformance
from miner.conformance.compare import ModelComparison
from miner.model.log import Log, connect
from miner.report.datafiles import layout
from miner.report.sources import provenance

SCHEMA_VERSION = 1
KIND = "audit_results"


def build_audit_results(source: Log | str | Path, conformance: Conformance, *,
                        drilldown_per_category: int | None = None,
                        accepted_sample: int | None = None,
                        allowlist: str | Path | Sequence[AllowEntry] | None = None,
                        model: str | Path | None = None,
                        conformance_source: str | Path | None = None,
                        comparison: ModelComparison | None = None,
                        lane_organisations: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The audit results of ``conformance``, checked on the workspace ``source`` (a path, or an
    open :class:`Log`, which stays open).

    Args:
        drilldown_per_category: foreigners per category in the drill-down sample (default
            ``[audit] drilldown_per_category`` of ``miner/data/report/layout.toml``).
        accepted_sample: accepted deviations shown per allowlist entry (default ``[audit]
            accepted_sample``).
        allowlist: the allowlist the conformance was checked with (a file or its entries), to
            show each entry's fields and reason; without it the accepted deviations are listed by
            entry number only.
        model: the model file the conformance was checked against, for the provenance (None: the
            shipped reference model).
        conformance_source: the ``miner conformance`` folder the result was read from, for the
            provenance (None: computed for this audit).
        comparison: the model comparison for the section "Model en praktijk" (None: compared
            now, on ``source`` with ``model`` in the result's period,
            :func:`miner.audit.comparison.audit_comparison`).
        lane_organisations: lane name → organisation of an own BPMN ``model``, for the
            comparison.

    Raises:
        InputError: ``allowlist`` does not match the result's accepted deviations.

    Example::

        log = miner.connect("chain.duckdb", read_only=True)
        results = build_audit_results(log, check_conformance(log))
    """
    limits = layout()["audit"]
    per_category = int(drilldown_per_category if drilldown_per_category is not None
                       else limits["drilldown_per_category"])
    sample = int(accepted_sample if accepted_sample is not None else limits["accepted_sample"])
    compare_rows = int(limits["compare_rows"])
    entries, allow_info = _allowlist(allowlist)
    c = conformance
    if entries is not None:
        check_entries(c.accepted, entries, allow_info["file"] if allow_info else "allowlist")
    ids = finding_ids([*c.deviations, *c.accepted])
    found = len(c.deviations)
    log = connect(source, read_only=True) if isinstance(source, (str, Path)) else source
    try:
        drill = drilldown(log, c.deviations, ids[:found], per_category)
        origin = provenance(log)
        workspace = log.path.name if log.path is not None else None
        from miner.adopt import log_facts
        chain = log_facts(log).chain
        if comparison is None:
            comparison = audit_comparison(log, c, model, lane_organisations)
    finally:
        if isinstance(source, (str, Path)):
            log.close()
    results: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "miner_version": miner.__version__,
        "model": {"name": c.model, "kind": c.model_kind},
        "period": c.period,
        "as_of": c.as_of,
        "headline": _headline(c),
        "rates": {dim: [{"value": r.value, "foreigners": r.foreigners, "deviating": r.deviating,
                         "conforming": r.conforming, "rate": r.rate}
                        for r in c.rates if r.dimension == dim] for dim in DIMENSIONS},
        "categories": [{"category": x.category, "findings": x.deviations,
                        "foreigners": x.foreigners, "accepted": x.accepted} for x in c.counts],
        "phases": [asdict(p) for p in c.phases],
        "accepted": accepted_section(c.accepted, ids[found:], entries, c.expired, sample),
        "drilldown": drill,
        "comparison": comparison_section(comparison, compare_rows),
        "readings": readings_section(c),
        "provenance": {
            **origin, "workspace": workspace,
            "model": _file_info(model) or {"file": None, "sha256": None},
            "allowlist": allow_info,
            "conformance": _file_info(Path(conformance_source) / "conformance.json"
                                      if conformance_source is not None else None),
            "parameters": {"period": c.period, "as_of": c.as_of,
                           "reject_readings": ", ".join(u.id for u in c.readings if not u.accepted) or None,
                           "drilldown_per_category": per_category,
                           "accepted_sample": sample, "compare_rows": compare_rows}},
    }
    if not chain:
        results["subject"] = "cases"  # a log without the chain catalogue: its cases, no foreigners
    # json round trip: the results hold only what the saved file holds (lists, not tuples)
    results = json.loads(json.dumps(results, sort_keys=True, ensure_ascii=False))
    text = json.dumps(results, sort_keys=True, ensure_ascii=False)
    results["audit_id"] = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return results


def _headline(c: Conformance) -> dict[str, Any]:
    return {"foreigners": c.foreigners, "conforming": c.conforming,
            "deviating": c.foreigners - c.conforming, "conformance_rate": c.conformance_rate,
            "replay_fitness": c.replay_fitness, "alignment_fitness": c.alignment_fitness,
            "percentage_fitting": c.percentage_fitting, "precision": c.precision,
            "unresolved": c.unresolved, "findings": len(c.deviations),
            "accepted": len(c.accepted),
            "foreigners_with_findings": len({d.foreigner for d in c.deviations})}


def _file_info(path: str | Path | None) -> dict[str, Any] | None:
    """The name (not the path: the results must not depend on where the file lies) and SHA-256."""
    if path is None:
        return None
    path = Path(path)
    return {"file": path.name, "sha256": file_sha256(path) if path.is_file() else None}


def _allowlist(allowlist: str | Path | Sequence[AllowEntry] | None
               ) -> tuple[tuple[AllowEntry, ...] | None, dict[str, Any] | None]:
    if allowlist is None:
        return None, None
    if isinstance(allowlist, (str, Path)):
        entries = read_allowlist(allowlist)
        info = _file_info(allowlist) or {}
        return entries, {**info, "entries": len(entries)}
    entries = tuple(allowlist)
    return entries, {"file": None, "sha256": None, "entries": len(entries)}
