"""Flattening: the explicit step from the object-centric log to a case-centric one.

A *case notion* is one object type. Flattening on type T gives one *case* per object of type T that
has events; the case's events are the events linked to that object (an event linked to two objects
of type T belongs to both cases), ordered by timestamp and, for equal timestamps, by read order.
Repeated links of one event to one object (different qualifiers) count the event once.

The figures are read from the case index (:mod:`miner.model.case_index`), built when the log is
imported; filters are applied to it by :mod:`miner.model.view`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from miner.model.filters import Filter
from miner.model.log import Log


@dataclass(frozen=True, eq=False)
class EventLog:
    """A case-centric event log: ``log`` flattened on ``object_type``, narrowed by ``filters``
    (applied in order, see :mod:`miner.model.filters`).

    Build it with :func:`flatten`. ``steps_sql()`` is the SQL of its steps relation, with columns
    ``case_id, pos, event_id, activity, timestamp, next_activity, next_timestamp`` (``pos`` counts
    from 0; ``next_*`` are NULL on a case's last event).
    """

    log: Log
    object_type: str
    filters: tuple[Filter, ...] = ()

    @property
    def indexed(self) -> bool:
        """True when unfiltered, so the figures are read from the stored summaries."""
        return not self.filters

    def narrowed(self, *filters: Filter) -> EventLog:
        """This view with ``filters`` appended (applied after the ones it has)."""
        return EventLog(self.log, self.object_type, (*self.filters, *filters))

    def steps_sql(self) -> str:
        """SQL of the steps with activity names. A filtered view is written to a temporary table
        named after its filters (kept for the connection), so the SQL stands on its own."""
        from miner.model.view import open_scope

        with open_scope(self) as scope:
            names = scope.index.table("activity_codes")
            sql = f"""
                SELECT t.case_id, s.pos, e.event_id, a.activity, s.timestamp,
                       b.activity AS next_activity, s.timestamp + to_microseconds(s.gap_us) AS next_timestamp
                FROM ({scope.steps}) s
                JOIN {scope.index.table('case_table')} t ON t.{scope.index.where()} AND t.case_no = s.case_no
                JOIN events e ON e.seq = s.event_seq
                JOIN {names} a ON a.code = s.act LEFT JOIN {names} b ON b.code = s.next_act"""
            if not self.filters:
                return sql
            key = hashlib.sha1(f"{self.object_type}{self.filters!r}".encode()).hexdigest()[:16]
            name = f"_miner_steps_{key}"
            self.log.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
        return f"SELECT * FROM {name}"


def flatten(
    log: Log, *, object_type: str | None = None, filters: tuple[Filter, ...] | list[Filter] = ()
) -> EventLog:
    """Flatten ``log`` on a case notion (an object type; optional if the log has just one),
    narrowed by ``filters`` (a list, applied in order: each keeps part of what the ones before
    it kept).

    Raises:
        CaseNotionError: the log has several object types and none was chosen.
        UnknownNameError: ``object_type`` is not a type of the log (the closest is suggested).
    """
    return EventLog(
        log=log, object_type=log.resolve_object_type(object_type), filters=tuple(filters)
    )
