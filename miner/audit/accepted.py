"""The audit's accepted deviations, listed apart from the findings: per allowlist entry
(:mod:`miner.conformance.allowlist`) the entry itself (its fields, reason and expiry date), how many
deviations and foreigners it accepts, and a sample of them with their evidence; and the expired
entries, which accept nothing.

The **sample** of an entry is its first ``sample`` accepted deviations in the conformance order
(by pseudonym, then time); every accepted deviation is in the CSV annex.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from miner.audit.findings import finding_dict
from miner.conformance.allowlist import AllowEntry
from miner.conformance.deviations import Deviation
from miner.errors import InputError

_FIELDS = ("category", "activity", "organisation", "partner", "lane", "reason", "expires")


def check_entries(accepted: Sequence[Deviation], entries: Sequence[AllowEntry],
                  source: str) -> None:
    """Raise :class:`InputError` when ``entries`` (from ``source``) cannot be the allowlist that
    accepted ``accepted``: an entry number it does not have, or an entry that does not match."""
    by_number = {e.entry: e for e in entries}
    for d in accepted:
        entry = by_number.get(d.accepted_by or 0)
        if entry is None or not entry.matches(d):
            raise InputError(
                f"{source}: is not the allowlist of this conformance result: entry "
                f"{d.accepted_by} does not accept the {d.category} deviation of {d.foreigner}. "
                "Pass the allowlist the conformance was checked with, or none.")


def accepted_section(accepted: Sequence[Deviation], ids: Sequence[str],
                     entries: Sequence[AllowEntry] | None, expired: Sequence[AllowEntry],
                     sample: int) -> dict[str, Any]:
    """``total``, ``foreigners``, ``entries`` (each: the entry's fields or None when the allowlist
    is not known, ``deviations``, ``foreigners``, ``sample``) and ``expired`` (entry dicts).
    ``entries``: the allowlist's entries (None when unknown: then only the numbers used are
    listed)."""
    groups: dict[int, list[int]] = {}
    for i, d in enumerate(accepted):
        groups.setdefault(d.accepted_by or 0, []).append(i)
    gone = {e.entry for e in expired}
    known = {e.entry: e for e in (entries or ()) if e.entry not in gone}
    rows = []
    for number in sorted(set(groups) | set(known)):
        members = groups.get(number, [])
        entry = known.get(number)
        fields: dict[str, Any] = ({f: getattr(entry, f) for f in _FIELDS} if entry is not None
                                  else {f: None for f in _FIELDS})
        if entry is None and members:
            fields["category"] = accepted[members[0]].category
        rows.append({
            "entry": number, **fields, "known": entry is not None,
            "deviations": len(members),
            "foreigners": len({accepted[i].foreigner for i in members}),
            "sample": [finding_dict(accepted[i], ids[i]) for i in members[:sample]]})
    return {"total": len(accepted), "foreigners": len({d.foreigner for d in accepted}),
            "entries": rows, "expired": [asdict(e) for e in expired]}
