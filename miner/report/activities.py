"""Where an activity sits in the chain, for the report's colours and layout.

An activity's **lane** is the first organisation of its catalogue lane
(``miner/data/scenarios/chain.toml``; "IND, tolk" → IND), one of the reference model's lanes
(``miner/data/reference/vreemdelingenketen.toml``); its **phase** is its journey phase
(``miner/data/phases.toml``); its **order** is its place in the catalogue (journey order). A label
outside the catalogue (an unmapped partner code) is not **known**: lane ``other``, no phase.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class ActivityInfo:
    """Catalogue ``id``, ``lane``, ``phase`` and ``order`` of one activity label."""

    id: str | None
    lane: str
    phase: str | None
    order: tuple[int, str]
    known: bool


@cache
def _table() -> dict[str, ActivityInfo]:
    from miner.analysis.handoffs import journey_phases
    from miner.catalogue import chain_catalogue

    _, phases = journey_phases()
    table = {}
    for index, activity in enumerate(chain_catalogue().values()):
        lane = activity.lane.split(",")[0].strip()
        table[activity.label] = ActivityInfo(activity.id, lane, phases[activity.id],
                                             (index, activity.label), True)
    return table


def activity_info(label: str) -> ActivityInfo:
    """The lane, phase and order of ``label`` (unknown labels sort last, by label)."""
    found = _table().get(label)
    return found if found is not None else ActivityInfo(None, "other", None, (10**6, label), False)


@cache
def phase_order() -> tuple[str, ...]:
    """The journey phase keys in journey order."""
    from miner.analysis.handoffs import journey_phases

    return journey_phases()[0]


@cache
def lane_order() -> tuple[str, ...]:
    """The reference model's lanes in model order, then ``other``."""
    from miner.conformance.swimlane import reference_model

    return (*(lane.name for lane in reference_model().lanes.values()), "other")
