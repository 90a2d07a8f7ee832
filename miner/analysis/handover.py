"""The handover-of-work network of a case-centric log: who passes work to whom.

For every two consecutive events of one case, the resource (the ``org:resource`` event attribute)
of the first *hands over* to the resource of the second; a resource followed by itself counts too.
``counts`` holds, per ordered pair of resources, how many such consecutive pairs the cases have;
the *handover-of-work metric* (van der Aalst's social-network metric with beta = 0, as pm4py's
``discover_handover_of_work_network`` computes it) is each count divided by all pairs. A pair where
either event has no resource is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from miner.analysis._result import SCHEMA_VERSION
from miner.model.case_index import RESOURCE_ATTRIBUTE
from miner.model.flatten import EventLog
from miner.model.view import open_scope

KIND = "handover_network"


@dataclass(frozen=True)
class HandoverNetwork:
    """``counts``: (from resource, to resource, consecutive pairs), most first; ``pairs``: all."""

    object_type: str
    resource: str
    pairs: int
    counts: tuple[tuple[str, str, int], ...]

    def metric(self) -> dict[tuple[str, str], float]:
        """Pair → share of all consecutive pairs (pm4py's handover-of-work value)."""
        return {(a, b): n / self.pairs for a, b, n in self.counts} if self.pairs else {}

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": KIND, "object_type": self.object_type,
                "resource": self.resource, "pairs": self.pairs,
                "counts": [{"source": a, "target": b, "pairs": n} for a, b, n in self.counts]}


def handover_network(log: EventLog) -> HandoverNetwork:
    """The handover-of-work network of ``log`` between its ``org:resource`` values."""
    with open_scope(log) as scope:
        names = scope.index.table("resource_codes")
        rows = log.log.con.execute(f"""
            SELECT a.resource, b.resource, p.n FROM (
                SELECT res, next_res, count(*) AS n FROM ({scope.steps})
                WHERE res IS NOT NULL AND next_res IS NOT NULL GROUP BY ALL) p
            JOIN {names} a ON a.code = p.res JOIN {names} b ON b.code = p.next_res
            ORDER BY p.n DESC, 1, 2""").fetchall()
    counts = tuple((str(a), str(b), int(n)) for a, b, n in rows)
    return HandoverNetwork(log.object_type, RESOURCE_ATTRIBUTE, sum(n for _, _, n in counts), counts)
