"""Matching the organisations a log names with the organisations of a model's lanes.

A *lane organisation* is an organisation a model's lane stands for (``Politie``, ``gemeenten``). A
log's *organisation name* is what the log says performed a step. The two match when they are the
same name after case folding and collapsing white space, or when the log name is an alias of the
lane organisation in ``miner/data/reference/organisations.toml`` (``Koninklijke Marechaussee`` is
``KMar``, ``gemeente`` is ``gemeenten``). A log name that matches no lane organisation is
*unmatched*: the check keeps it as it is (so its steps are judged wrong lane) and lists it, so that
an auditor sees a missing alias rather than a false finding.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources

from miner.errors import SchemaError

DATA_FILE = "reference/organisations.toml"


def fold(name: str) -> str:
    """The comparison key of a name: case-folded, white space collapsed."""
    return " ".join(name.split()).casefold()


@cache
def aliases() -> Mapping[str, str]:
    """Folded name or alias → the canonical organisation (the ``[organisations.X]`` key)."""
    path = resources.files("miner") / "data" / DATA_FILE
    data = tomllib.loads(path.read_text("utf-8"))
    found: dict[str, str] = {}
    for canonical, entry in data.get("organisations", {}).items():
        for name in (canonical, *entry.get("aliases", ())):
            key = fold(name)
            if found.setdefault(key, canonical) != canonical:
                raise SchemaError(
                    f"{DATA_FILE}: the name {name!r} is listed for {found[key]!r} and for "
                    f"{canonical!r}; keep it under one organisation")
    return found


def _key(name: str) -> str:
    folded = fold(name)
    return fold(aliases().get(folded, folded))


def match_organisations(log_names: Iterable[str], lane_organisations: Iterable[str]
                        ) -> tuple[dict[str, str], tuple[str, ...]]:
    """Each log name that matches a lane organisation → that lane organisation's spelling, and the
    log names that match none (sorted). Exact names map to themselves."""
    lanes = {_key(o): o for o in sorted(lane_organisations)}
    matched: dict[str, str] = {}
    unmatched: list[str] = []
    for name in sorted(set(log_names)):
        target = lanes.get(_key(name))
        if target is None:
            unmatched.append(name)
        else:
            matched[name] = target
    return matched, tuple(unmatched)
