"""The audit's "Lezingen van het model": the documented readings of the reference model
(:mod:`miner.conformance.readings`) the check accepted or rejected, each with its conflict, seed
lines, followers, the deviations that hold only when it is rejected, and the conformance rate
either way, so the auditor decides once per reading (``--reject-reading ID``), not finding by
finding."""

from __future__ import annotations

from typing import Any

from miner.conformance.check import Conformance
from miner.conformance.readings import load_readings


def readings_section(c: Conformance) -> dict[str, Any]:
    """``rows`` (one per reading of the check, in the file's order) and ``rejected`` (their ids)
    and ``read`` (deviations read away by the accepted readings). A reading the shipped file does
    not hold (one given through the API) has no title or seed."""
    known = {r.id: r for r in load_readings()}
    rows = []
    for use in c.readings:
        meta = known.get(use.id)
        rows.append({
            "id": use.id, "conflict": use.conflict, "kind": use.kind, "accepted": use.accepted,
            "followers": use.followers, "deviations": use.deviations,
            "foreigners": use.foreigners, "rate_accepted": use.rate_accepted,
            "rate_rejected": use.rate_rejected,
            "seed": meta.seed if meta else None,
            "title": {"nl": meta.nl, "en": meta.en} if meta else None,
        })
    return {"rows": rows, "rejected": [u.id for u in c.readings if not u.accepted],
            "read": len(c.read)}
