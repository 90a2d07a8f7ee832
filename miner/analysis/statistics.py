"""Basic counts of a log, and statistics per activity and per object type.

* *events*, *objects*, *e2o* (event–object links), *o2o* (object–object links): rows of the
  canonical tables, every link counted, also repeated pairs with different qualifiers.
* *activities*: distinct activities (event types) that occur in events.
* *object types*: distinct types that have objects.
* *cases* and *variants* (only for a case notion): objects of the chosen type that have events, and
  their distinct activity sequences (see :mod:`miner.analysis.variants`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from miner.analysis._result import SCHEMA_VERSION, records
from miner.model.flatten import EventLog
from miner.model.log import Log, first_row


@dataclass(frozen=True)
class LogStatistics:
    """Counts of a log; ``cases``/``variants``/``case_events``/``object_type`` are None without a
    case notion. ``case_events`` counts the events of the case notion's (filtered) cases, one per
    case an event belongs to; ``events`` the whole log's."""

    events: int
    objects: int
    object_types: int
    e2o: int
    o2o: int
    activities: int
    object_attribute_changes: int
    object_type: str | None = None
    cases: int | None = None
    variants: int | None = None
    case_events: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, **self.__dict__}


def log_statistics(log: Log, *, case_notion: EventLog | None = None) -> LogStatistics:
    """Counts of ``log``; with ``case_notion`` (a flattening of it) also cases and variants."""
    row = first_row(
        log.con.execute(
            """
        SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM objects),
               (SELECT count(DISTINCT object_type) FROM objects),
               (SELECT count(*) FROM event_objects), (SELECT count(*) FROM object_objects),
               (SELECT count(DISTINCT event_type) FROM events),
               (SELECT count(*) FROM object_attributes WHERE time > TIMESTAMPTZ '1970-01-01 00:00:00+00')
        """
        )
    )
    assert row is not None
    cases = variants = case_events = None
    if case_notion is not None:
        cases, variants, case_events = _cases_and_variants(case_notion)
    return LogStatistics(
        events=int(row[0]),
        objects=int(row[1]),
        object_types=int(row[2]),
        e2o=int(row[3]),
        o2o=int(row[4]),
        activities=int(row[5]),
        object_attribute_changes=int(row[6]),
        object_type=case_notion.object_type if case_notion is not None else None,
        cases=cases,
        variants=variants,
        case_events=case_events,
    )


def _cases_and_variants(case_notion: EventLog) -> tuple[int, int, int]:
    from miner.analysis.variants import variants

    found = variants(case_notion)
    events = int((found.table["cases"] * found.table["events"]).sum())
    return found.cases, len(found.table), events


@dataclass(frozen=True, eq=False)
class ActivityStatistics:
    """Per activity: ``activity, events, objects`` (distinct objects linked), ``first, last``
    (timestamps); with a case notion also ``cases`` (cases containing it) and ``per_case`` (mean
    occurrences in those cases). Most frequent first."""

    table: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "activities": records(self.table)}


def activity_statistics(log: Log, *, case_notion: EventLog | None = None) -> ActivityStatistics:
    """How often each activity occurs, on how many objects (and cases), and when."""
    base = """
        SELECT e.event_type AS activity, count(DISTINCT e.event_id) AS events,
               count(DISTINCT eo.object_id) AS objects, min(e.timestamp) AS first,
               max(e.timestamp) AS last
        FROM events e LEFT JOIN event_objects eo USING (event_id) GROUP BY 1
    """
    if case_notion is None:
        sql = f"SELECT * FROM ({base}) ORDER BY events DESC, activity"
    else:
        sql = f"""
            SELECT b.*, c.cases, c.occurrences / c.cases AS per_case FROM ({base}) b
            LEFT JOIN (SELECT activity, count(DISTINCT case_id) AS cases, count(*) AS occurrences
                       FROM ({case_notion.steps_sql()}) GROUP BY 1) c USING (activity)
            ORDER BY events DESC, activity
        """
    return ActivityStatistics(table=log.con.execute(sql).df())


@dataclass(frozen=True, eq=False)
class ObjectTypeStatistics:
    """Per object type: ``object_type, objects, objects_with_events, e2o, events`` (distinct
    events linked), ``events_per_object`` (mean links per object) and ``attribute_changes``."""

    table: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "object_types": records(self.table)}


def object_type_statistics(log: Log) -> ObjectTypeStatistics:
    """Objects, links and attribute changes per object type."""
    table = log.con.execute(
        """
        WITH links AS (
            SELECT o.object_type, count(*) AS e2o, count(DISTINCT eo.event_id) AS events,
                   count(DISTINCT eo.object_id) AS objects_with_events
            FROM event_objects eo JOIN objects o USING (object_id) GROUP BY 1),
        changes AS (
            SELECT o.object_type, count(*) AS attribute_changes
            FROM object_attributes a JOIN objects o USING (object_id)
            WHERE a.time > TIMESTAMPTZ '1970-01-01 00:00:00+00' GROUP BY 1)
        SELECT o.object_type, count(*) AS objects,
               coalesce(any_value(l.objects_with_events), 0) AS objects_with_events,
               coalesce(any_value(l.e2o), 0) AS e2o, coalesce(any_value(l.events), 0) AS events,
               coalesce(any_value(l.e2o), 0) / count(*) AS events_per_object,
               coalesce(any_value(c.attribute_changes), 0) AS attribute_changes
        FROM objects o LEFT JOIN links l USING (object_type) LEFT JOIN changes c USING (object_type)
        GROUP BY 1 ORDER BY objects DESC, object_type
        """
    ).df()
    return ObjectTypeStatistics(table=table)
