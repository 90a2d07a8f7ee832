"""The chain's vocabulary: the activity catalogue (``chain.toml``) and the simulated foreigner."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from miner.simulation._people import variant


@dataclass(frozen=True)
class Activity:
    """One catalogue entry of ``chain.toml``."""

    id: str
    label: str
    lane: str
    exports: tuple[str, ...]
    code: str
    reference: bool
    also: dict[str, str] = field(default_factory=dict)

    def code_in(self, export: str) -> str:
        return self.also.get(export, self.code)


def read_catalogue() -> dict[str, Activity]:
    """The activity catalogue shipped in ``miner/data/scenarios/chain.toml``, by id."""
    text = (resources.files("miner") / "data" / "scenarios" / "chain.toml").read_text("utf-8")
    return {
        a["id"]: Activity(
            a["id"],
            a["label"],
            a["lane"],
            tuple(a["exports"]),
            a["code"],
            a["reference"],
            dict(a.get("also", {})),
        )
        for a in tomllib.loads(text)["activity"]
    }


@dataclass(eq=False)
class Foreigner:
    """A simulated person (vreemdeling) moving through the chain; mutable while the run lasts."""

    fid: int
    vnr: str
    given: str
    family: str
    dob: Any
    sex: str
    nat: dict[str, Any]
    site: str
    origin: str
    spoor: str = ""
    zaak: str = ""
    zaak_start: float = 0.0
    ids: dict[str, str] = field(default_factory=dict)
    stay: tuple[str, str, str, float] | None = None
    truth: dict[str, Any] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    family_up: str = ""
    given_v: str = ""
    family_v: str = ""
    dob_dmy: str = ""
    dob_ymd: str = ""
    dob_compact: str = ""

    def __post_init__(self) -> None:
        # the spellings each partner uses, computed once: formatting rows is the hot path
        self.family_up = self.family.upper()
        self.given_v = variant(self.given)
        self.family_v = variant(self.family)
        self.dob_dmy = self.dob.strftime("%d-%m-%Y")
        self.dob_ymd = self.dob.isoformat()
        self.dob_compact = self.dob.strftime("%Y%m%d")
