"""The audit's drill-down: a deterministic sample of foreigners with findings, each with their full
timeline and their findings attached to the events that show them.

Terms:

- **drill-down sample**: per category (in report order), the first ``per_category`` pseudonyms in
  sorted order among the foreigners with a finding of that category; the union of these. As the
  pseudonyms are keyed hashes, sorted order is a fixed, unbiased draw: the same workspace and key
  give the same sample. Accepted deviations never pick a foreigner and are not shown here.
- **timeline**: every event of the foreigner, i.e. of their journey
  (:mod:`miner.analysis.journey`: the events linked to the ``vreemdeling`` object), in time and
  read order: time (UTC), activity, lifecycle, organisation (who performed it), partner (whose
  system recorded it), the export (``source``), the file it was read from (``source_file``) and
  the row in it (``source_row``), and the ids of the findings whose evidence is that event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from miner.analysis.journey import FOREIGNER_TYPE, create_journey
from miner.audit.findings import finding_dict, pseudonym
from miner.conformance.deviations import CATEGORIES, Deviation
from miner.model.log import Log


def sample_foreigners(findings: Sequence[Deviation], per_category: int) -> dict[str, list[str]]:
    """The drill-down sample: workspace foreigner id → the categories it was picked for (report
    order), in sorted foreigner order."""
    by_category: dict[str, set[str]] = {}
    for d in findings:
        by_category.setdefault(d.category, set()).add(d.foreigner)
    picked: dict[str, list[str]] = {}
    for category in CATEGORIES:
        for foreigner in sorted(by_category.get(category, ()))[:per_category]:
            picked.setdefault(foreigner, []).append(category)
    return dict(sorted(picked.items()))


def timelines(log: Log, foreigners: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The timeline of each foreigner (workspace id) as a list of event dicts (``event_id``,
    ``ts``, ``activity``, ``lifecycle``, ``organisation``, ``partner``, ``source``,
    ``source_file``, ``source_row``). ``organisation`` is the performer the lane check judges
    (the journey's ``performer``: the sender for a step the partner only registers)."""
    found: dict[str, list[dict[str, Any]]] = {f: [] for f in foreigners}
    if not foreigners:
        return found
    create_journey(log)
    rows = log.con.execute("""
        SELECT j.foreigner, j.event_id, j.ts, j.activity, j.lifecycle, j.performer, j.partner,
               j.source, e.source_file, j.source_row
        FROM journey j JOIN events e ON e.event_id = j.event_id
        WHERE list_contains(?, j.foreigner)
        ORDER BY j.foreigner, j.ts, j.seq""", [list(foreigners)]).fetchall()
    for foreigner, eid, ts, activity, lifecycle, org, partner, source, file, row in rows:
        found[foreigner].append({
            "event_id": eid, "ts": ts.astimezone(UTC).isoformat(), "activity": activity,
            "lifecycle": lifecycle, "organisation": org, "partner": partner, "source": source,
            "source_file": file, "source_row": None if row is None else int(row)})
    return found


def drilldown(log: Log, findings: Sequence[Deviation], ids: Sequence[str],
              per_category: int) -> dict[str, Any]:
    """The drill-down section's data: the sample's foreigners (sorted by pseudonym), each with
    ``picked_for``, ``events`` (the timeline, each event with the ``findings`` it evidences) and
    ``findings`` (in the conformance order). ``ids``: the finding ids of ``findings``."""
    picked = sample_foreigners(findings, per_category)
    lines = timelines(log, list(picked))
    own: dict[str, list[dict[str, Any]]] = {f: [] for f in picked}
    for i, d in enumerate(findings):
        if d.foreigner in own:
            own[d.foreigner].append(finding_dict(d, ids[i]))
    people = []
    for foreigner, categories in picked.items():
        events = lines[foreigner]
        shown = {e["event_id"]: e for e in events}
        for e in events:
            e["findings"] = []
        for f in own[foreigner]:
            for ev in f["evidence"]:
                event = shown.get(ev["event_id"])
                if event is not None and f["id"] not in event["findings"]:
                    event["findings"].append(f["id"])
                # the file comes from the timeline: a Deviation's evidence names only the export
                ev["source_file"] = event["source_file"] if event is not None else None
        people.append({"foreigner": pseudonym(foreigner), "picked_for": categories,
                       "events": events, "findings": own[foreigner]})
    return {"per_category": per_category, "object_type": FOREIGNER_TYPE,
            "foreigners": people}
