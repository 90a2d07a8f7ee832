"""The chain's activity catalogue: every activity of the reference swimlane model (and the extra steps
the chain performs outside it) with its exact Dutch label, phase and lane.

The catalogue is data (``miner/data/scenarios/chain.toml``, built from section 1.3 of
``../shared/domain/chain-reference-extract.md``); ingest mappings name activities by catalogue id
(``A01`` … ``V21``, ``X01`` …) and the event log carries the exact label.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class ChainActivity:
    """One activity: ``id`` (A01 …), exact Dutch ``label``, ``phase``, owning ``lane`` (the
    organisation responsible in the reference model) and whether it is one of the 56 ``reference``
    activities of the swimlane model (X ids are extra steps such as stays and decisions)."""

    id: str
    label: str
    phase: str
    lane: str
    reference: bool


@cache
def chain_catalogue() -> dict[str, ChainActivity]:
    """The shipped catalogue, by id, in file order."""
    text = (resources.files("miner") / "data" / "scenarios" / "chain.toml").read_text("utf-8")
    return {
        a["id"]: ChainActivity(a["id"], a["label"], a["phase"], a["lane"], bool(a["reference"]))
        for a in tomllib.loads(text)["activity"]
    }
