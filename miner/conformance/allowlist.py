"""The allowlist: deviations an organisation has accepted, with a reason and an expiry date.

A TOML file of ``[[accept]]`` tables::

    [[accept]]
    category = "wrong_lane"                              # required, one of CATEGORIES
    activity = "Documentenonderzoek (Extern: KMar)"      # optional: the model element's label
    organisation = "Politie"                             # optional: who performed it
    partner = "Politie"                                  # optional: whose system recorded it
    lane = "KMar"                                        # optional: the task's lane (one of them)
    reason = "KMar capacity: the Politie examines documents in Ter Apel"   # required
    expires = 2026-12-31                                 # required, a TOML date

A deviation is *accepted* by the first entry (in file order) whose given fields all equal the
deviation's; an entry whose ``expires`` date lies before the reference date accepts nothing and is
listed as expired.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from miner.conformance.deviations import CATEGORIES, Deviation
from miner.errors import SchemaError

_FIELDS = ("activity", "organisation", "partner", "lane")
_KEYS = {"category", "reason", "expires", *_FIELDS}


@dataclass(frozen=True)
class AllowEntry:
    """One ``[[accept]]`` entry; ``entry`` is its 1-based number in the file."""

    entry: int
    category: str
    activity: str | None
    organisation: str | None
    partner: str | None
    lane: str | None
    reason: str
    expires: str

    def matches(self, d: Deviation) -> bool:
        if d.category != self.category:
            return False
        if self.lane is not None and self.lane not in (d.lane or "").split(" / "):
            return False
        return all(getattr(self, f) is None or getattr(self, f) == getattr(d, f)
                   for f in ("activity", "organisation", "partner"))


def _bad(source: str, i: int, problem: str) -> SchemaError:
    return SchemaError(f"{source}: allowlist entry {i} ([[accept]] number {i}) {problem}")


def read_allowlist(path: str | Path) -> tuple[AllowEntry, ...]:
    """The entries of an allowlist file.

    Raises:
        SchemaError: the file is missing or not TOML, or an entry is malformed (the message names
            the file and the entry number).
    """
    source = str(path)
    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError as exc:
        raise SchemaError(f"{source}: allowlist file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(f"{source}: not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"accept"})
    if unknown:
        raise SchemaError(f"{source}: unknown top-level key(s) {unknown}; expected [[accept]] tables")
    raw = data.get("accept", [])
    if not isinstance(raw, list):
        raise SchemaError(f"{source}: 'accept' must be an array of tables ([[accept]])")
    return tuple(_entry(source, i, item) for i, item in enumerate(raw, start=1))


def _entry(source: str, i: int, item: Any) -> AllowEntry:
    if not isinstance(item, dict):
        raise _bad(source, i, "is not a table")
    extra = sorted(set(item) - _KEYS)
    if extra:
        raise _bad(source, i, f"has unknown key(s) {extra}; allowed: {sorted(_KEYS)}")
    category = item.get("category")
    if category not in CATEGORIES:
        raise _bad(source, i, f"has category {category!r}; allowed: {', '.join(CATEGORIES)}")
    reason = item.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise _bad(source, i, "has no 'reason' (a non-empty string is required)")
    expires = item.get("expires")
    if not isinstance(expires, date) or isinstance(expires, datetime):
        raise _bad(source, i, f"has 'expires' {expires!r}; a TOML date (2026-12-31) is required")
    for f in _FIELDS:
        if f in item and not isinstance(item[f], str):
            raise _bad(source, i, f"has '{f}' {item[f]!r}; a string is required")
    return AllowEntry(entry=i, category=category, activity=item.get("activity"),
                      organisation=item.get("organisation"), partner=item.get("partner"),
                      lane=item.get("lane"), reason=reason, expires=expires.isoformat())


def apply_allowlist(deviations: list[Deviation], entries: tuple[AllowEntry, ...],
                    as_of: date) -> tuple[list[Deviation], list[Deviation], tuple[AllowEntry, ...]]:
    """Split ``deviations`` into (findings, accepted) by the entries valid on ``as_of``; also
    returns the expired entries."""
    today = as_of.isoformat()
    valid = [e for e in entries if e.expires >= today]
    expired = tuple(e for e in entries if e.expires < today)
    findings: list[Deviation] = []
    accepted: list[Deviation] = []
    for d in deviations:
        entry = next((e for e in valid if e.matches(d)), None)
        if entry is None:
            findings.append(d)
        else:
            accepted.append(Deviation(**{**d.__dict__, "accepted_by": entry.entry}))
    return findings, accepted, expired
