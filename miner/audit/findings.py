"""Findings of the conformance audit: their stable ids, their plain (JSON-safe) form, and the rows of
the CSV annex.

Terms:

- **finding**: a deviation (:class:`miner.conformance.deviations.Deviation`) that no valid
  allowlist entry accepts; **accepted deviation**: one that an entry accepts (``accepted_by`` is
  the entry's number). The audit lists the two apart and never mixes them.
- **pseudonym**: the foreigner's workspace object id ``vreemdeling:<pseudonym>`` without its type
  prefix: the keyed HMAC-SHA256 pseudonym made at ingest (:mod:`miner.ingest.pseudonyms`). It is
  shown in full, never shortened, so it can be looked up in the workspace; no V-nummer, name or
  employee reaches the audit.
- **finding id**: 16 hexadecimal digits of SHA-256 over the foreigner, the category, the model
  element (task id, or the activity label when the deviation has no task) and the first evidence
  event id. It stays the same over re-runs as long as those four do, so a sign-off made on one run
  can be matched to the next. Two deviations with the same four (none in the simulated year) get
  ``-2``, ``-3``… in the order of the conformance result (findings first, then accepted).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from miner.analysis.journey import FOREIGNER_TYPE
from miner.conformance.deviations import Deviation

#: The unit separator between the hashed parts (never in a label or id).
_SEP = "\x1f"
#: Sign-off decisions, in the order the audit offers them (texts in the catalogues).
DECISIONS = ("confirmed", "accepted", "unfounded")
#: The sign-off columns of the annex and of the sign-off export, empty in the annex.
SIGNOFF_COLUMNS = ("reviewer", "decision", "date", "comment")
#: The columns of the CSV annex: one row per finding and per accepted deviation.
ANNEX_COLUMNS = ("finding_id", "foreigner", "category", "accepted_by", "reading", "task", "activity", "lane",
                 "organisation", "partner", "phase", "detail", "event_ids", "sources",
                 "source_rows", "times", *SIGNOFF_COLUMNS)


def pseudonym(foreigner: str) -> str:
    """``vreemdeling:<pseudonym>`` → ``<pseudonym>`` (other ids are returned as they are)."""
    prefix = FOREIGNER_TYPE + ":"
    return foreigner.removeprefix(prefix)


def finding_id(d: Deviation) -> str:
    """The stable id of one deviation (without a collision suffix; see the module docstring)."""
    first = d.evidence[0].event_id if d.evidence else ""
    element = d.task or d.activity or ""
    text = _SEP.join((d.foreigner, d.category, element, first))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def finding_ids(deviations: Iterable[Deviation]) -> list[str]:
    """The ids of ``deviations`` in order, a repeated id numbered ``-2``, ``-3``…"""
    seen: dict[str, int] = {}
    ids = []
    for d in deviations:
        base = finding_id(d)
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


def finding_dict(d: Deviation, fid: str) -> dict[str, Any]:
    """One deviation in the audit results: id, pseudonym, category, model element (task, activity,
    lane), organisation, partner, phase, detail, allowlist entry, the reading of the model it holds
    under alone (None: under every reading) and evidence events."""
    return {
        "id": fid, "foreigner": pseudonym(d.foreigner), "category": d.category,
        "task": d.task, "activity": d.activity, "lane": d.lane,
        "organisation": d.organisation, "partner": d.partner, "phase": d.phase,
        "detail": d.detail, "accepted_by": d.accepted_by, "reading": d.reading,
        "evidence": [{"event_id": e.event_id, "source": e.source, "source_row": e.source_row,
                      "ts": e.ts} for e in d.evidence],
    }


def annex_rows(deviations: Sequence[Deviation], ids: Sequence[str]) -> Iterable[list[Any]]:
    """The annex rows (:data:`ANNEX_COLUMNS`) of ``deviations`` with their ``ids``: evidence
    lists joined by ``;``, None as an empty cell, the sign-off columns empty."""
    blank = [""] * len(SIGNOFF_COLUMNS)
    for d, fid in zip(deviations, ids, strict=True):
        ev = d.evidence
        yield [fid, pseudonym(d.foreigner), d.category, _cell(d.accepted_by), _cell(d.reading),
               _cell(d.task),
               _cell(d.activity), _cell(d.lane), _cell(d.organisation), _cell(d.partner),
               _cell(d.phase), _cell(d.detail), ";".join(e.event_id for e in ev),
               ";".join(e.source for e in ev), ";".join(str(e.source_row) for e in ev),
               ";".join(e.ts for e in ev), *blank]


def _cell(value: object) -> object:
    return "" if value is None else value
