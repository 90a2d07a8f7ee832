"""Filters that narrow a case-centric view before figures are computed.

A view takes a *list* of filters; they apply in order, each to what the ones before it kept (AND).
Two kinds:

*Event filters* drop events inside cases, so successors change (a case left with no event is gone):

* :class:`TimeWindow` with ``mode="events"``: the events inside ``[start, end]`` (both ends
  included; pm4py's ``filter_time_range(mode="events")``).
* :class:`AttributeFilter` with ``level="event"``: the events whose attribute ``name`` has one of
  ``values`` (``retain=False``: the others; pm4py's ``filter_event_attribute_values(level="event")``).
  ``name="activity"`` matches the activity.

*Case filters* keep or drop whole cases:

* :class:`TimeWindow` ``"contained"``: cases whose whole span (first to last event) lies inside;
  ``"intersecting"``: cases whose span overlaps the window, also when no event falls inside it
  (pm4py's ``traces_contained`` / ``traces_intersecting``).
* :class:`AttributeFilter` with ``level="case"``: cases with at least one event carrying one of the
  values (``retain=False``: cases with none; with ``name="activity"`` this is *activity present /
  absent*).
* :class:`VariantFilter`: cases whose activity sequence is one of ``variants`` (pm4py's
  ``filter_variants``).
* :class:`DurationFilter`: cases whose duration (first to last event, seconds) lies in ``[min_s,
  max_s]`` (pm4py's ``filter_case_performance``).
* :class:`FollowsFilter`: cases where ``target`` directly follows ``source`` (consecutive events),
  or with ``directly=False`` eventually follows it (a later event; pm4py's
  ``filter_directly_follows_relation`` / ``filter_eventually_follows_relation``).
* :class:`EndpointFilter`: cases that start (``side="start"``) or end (``"end"``) with one of
  ``activities`` (pm4py's ``filter_start_activities`` / ``filter_end_activities``).
* :class:`CaseIdFilter`: the cases with the given ids.

Every case filter takes ``retain=False`` to keep the cases it would drop instead. The case notion
itself (an OCEL object type) is chosen by :func:`miner.flatten`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from miner.errors import UnknownNameError

if TYPE_CHECKING:
    from miner.model.view import Scope

TimeMode = Literal["events", "contained", "intersecting"]
Level = Literal["event", "case"]
Side = Literal["start", "end"]


def attribute_text(alias: str = "") -> str:
    """A SQL expression of an attribute row's typed value as text (the value the filters, the case
    index and adoption compare and copy); ``alias``: the table alias of the row, if any."""
    a = f"{alias}." if alias else ""
    return (f"coalesce({a}value_string, CAST({a}value_integer AS VARCHAR), "
            f"CAST({a}value_float AS VARCHAR), CAST({a}value_boolean AS VARCHAR), "
            f"CAST({a}value_time AS VARCHAR))")


def sql_literal(value: object) -> str:
    """A SQL literal for a str, int, float, bool or aware datetime; quotes doubled."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value.isoformat()} has no time zone; give it one (e.g. UTC)")
        return f"TIMESTAMPTZ '{value.isoformat()}'"
    text = str(value).replace("'", "''")
    return f"'{text}'"


def _between(column: str, low: object | None, high: object | None) -> str:
    """SQL: ``column`` at or above ``low`` and at or below ``high`` (None leaves a side open)."""
    parts = [f"{column} >= {sql_literal(low)}" if low is not None else "",
             f"{column} <= {sql_literal(high)}" if high is not None else ""]
    return " AND ".join(p for p in parts if p) or "TRUE"


def _keep(condition: str, retain: bool) -> str:
    return condition if retain else f"NOT ({condition})"


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Keep events, or whole cases, by time: see the module docstring for the three modes.
    ``start``/``end`` are aware datetimes; None leaves that side open."""

    start: datetime | None = None
    end: datetime | None = None
    mode: TimeMode = "events"

    def __post_init__(self) -> None:
        if self.mode not in ("events", "contained", "intersecting"):
            raise UnknownNameError("time window mode", self.mode, ("events", "contained", "intersecting"))

    @property
    def trims(self) -> bool:
        return self.mode == "events"

    def inside(self, column: str) -> str:
        return _between(column, self.start, self.end)

    def case_condition(self, first: str, last: str) -> str:
        """SQL condition on a case's first and last timestamp for the case modes."""
        start = sql_literal(self.start) if self.start is not None else None
        end = sql_literal(self.end) if self.end is not None else None
        if self.mode == "contained":
            parts = [f"{first} >= {start}" if start else "", f"{last} <= {end}" if end else ""]
        else:
            parts = [f"{last} >= {start}" if start else "", f"{first} <= {end}" if end else ""]
        return " AND ".join(p for p in parts if p) or "TRUE"

    def event_condition(self, scope: Scope) -> str:
        return self.inside("timestamp")

    def kept_cases(self, scope: Scope) -> str:
        condition = self.case_condition("start", '"end"')
        return f"SELECT case_no FROM ({scope.cases}) WHERE {condition}"


@dataclass(frozen=True, slots=True)
class AttributeFilter:
    """Keep events (``level="event"``) or cases (``"case"``) by an attribute's value; ``retain=False``
    keeps the others instead."""

    name: str
    values: tuple[object, ...]
    level: Level = "event"
    retain: bool = True

    def __post_init__(self) -> None:
        if self.level not in ("event", "case"):
            raise UnknownNameError("attribute filter level", self.level, ("event", "case"))

    @property
    def trims(self) -> bool:
        return self.level == "event"

    def matches(self, event_id: str, activity: str) -> str:
        """SQL condition true for events that carry one of the values (on the canonical tables)."""
        values = ", ".join(sql_literal(v) for v in self.values)
        if self.name == "activity":
            return f"{activity} IN ({values})"
        return f"{event_id} IN ({self._events_with_value()})"

    def _events_with_value(self) -> str:
        return (
            f"SELECT event_id FROM event_attributes WHERE name = {sql_literal(self.name)} AND "
            f"{attribute_text()} IN "
            f"(SELECT CAST(v AS VARCHAR) FROM (VALUES {', '.join(f'({sql_literal(v)})' for v in self.values)}) t(v))"
        )

    def _step_matches(self, scope: Scope) -> str:
        if self.name == "activity":
            return f"act IN ({scope.activity_codes(self.values)})"
        return (f"event_seq IN (SELECT e.seq FROM events e "
                f"WHERE e.event_id IN ({self._events_with_value()}))")

    def event_condition(self, scope: Scope) -> str:
        return _keep(self._step_matches(scope), self.retain)

    def kept_cases(self, scope: Scope) -> str:
        having = f"SELECT DISTINCT case_no FROM ({scope.steps}) WHERE {self._step_matches(scope)}"
        return scope.cases_where(f"case_no IN ({having})", self.retain)


@dataclass(frozen=True, slots=True)
class VariantFilter:
    """Keep the cases whose activity sequence is one of ``variants`` (each a sequence of activities)."""

    variants: tuple[tuple[str, ...], ...]
    retain: bool = True
    trims = False

    def kept_cases(self, scope: Scope) -> str:
        wanted = ", ".join("[" + ", ".join(sql_literal(a) for a in v) + "]::VARCHAR[]"
                           for v in self.variants) or "NULL"
        return scope.cases_where(f"activities IN ({wanted})", self.retain, needs_variant=True)


@dataclass(frozen=True, slots=True)
class DurationFilter:
    """Keep the cases whose duration in seconds lies in ``[min_s, max_s]`` (None: open)."""

    min_s: float | None = None
    max_s: float | None = None
    retain: bool = True
    trims = False

    def kept_cases(self, scope: Scope) -> str:
        low, high = (None if s is None else float(s) * 1e6 for s in (self.min_s, self.max_s))
        return scope.cases_where(_between("duration_us", low, high), self.retain)


@dataclass(frozen=True, slots=True)
class FollowsFilter:
    """Keep the cases where ``target`` directly (or, ``directly=False``, eventually) follows
    ``source``."""

    source: str
    target: str
    directly: bool = True
    retain: bool = True
    trims = False

    def kept_cases(self, scope: Scope) -> str:
        a = scope.activity_codes((self.source,))
        b = scope.activity_codes((self.target,))
        if self.directly:
            found = (f"SELECT DISTINCT case_no FROM ({scope.steps}) "
                     f"WHERE act IN ({a}) AND next_act IN ({b})")
        else:
            found = (f"SELECT case_no FROM ({scope.steps}) GROUP BY case_no HAVING "
                     f"min(pos) FILTER (WHERE act IN ({a})) < max(pos) FILTER (WHERE act IN ({b}))")
        return scope.cases_where(f"case_no IN ({found})", self.retain)


@dataclass(frozen=True, slots=True)
class EndpointFilter:
    """Keep the cases that start (``side="start"``) or end (``"end"``) with one of ``activities``."""

    activities: tuple[str, ...]
    side: Side = "start"
    retain: bool = True
    trims = False

    def __post_init__(self) -> None:
        if self.side not in ("start", "end"):
            raise UnknownNameError("endpoint side", self.side, ("start", "end"))

    def kept_cases(self, scope: Scope) -> str:
        column = "first_act" if self.side == "start" else "last_act"
        return scope.cases_where(f"{column} IN ({scope.activity_codes(self.activities)})",
                                 self.retain)


@dataclass(frozen=True, slots=True)
class CaseIdFilter:
    """Keep the cases whose id is in ``case_ids``, or in the one-column query ``sql``."""

    case_ids: tuple[str, ...] = ()
    sql: str | None = field(default=None, repr=False)
    retain: bool = True
    trims = False

    def kept_cases(self, scope: Scope) -> str:
        ids = self.sql if self.sql is not None else (
            "SELECT * FROM (VALUES " + ", ".join(f"({sql_literal(c)})" for c in self.case_ids)
            + ") t(c)" if self.case_ids else "SELECT NULL::VARCHAR WHERE FALSE")
        return scope.cases_where(f"case_id IN ({ids})", self.retain)


Filter = (TimeWindow | AttributeFilter | VariantFilter | DurationFilter | FollowsFilter
          | EndpointFilter | CaseIdFilter)
