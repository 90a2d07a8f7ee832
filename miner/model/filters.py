"""Filters that narrow a case-centric view before figures are computed.

* :class:`TimeWindow` keeps, by ``mode``: ``"events"`` the events inside ``[start, end]`` (both
  ends included); ``"contained"`` the cases whose whole span (first to last event) lies inside;
  ``"intersecting"`` the cases whose span overlaps the window, also when no event falls inside it
  (pm4py's ``filter_time_range`` modes ``events``, ``traces_contained`` and ``traces_intersecting``).
* :class:`AttributeFilter` keeps, by ``level``: ``"event"`` the events whose attribute ``name`` has
  one of ``values``; ``"case"`` the cases with at least one such event (pm4py's
  ``filter_event_attribute_values`` with ``level="event"`` / ``"case"``). The activity is matched by
  ``name="activity"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from miner.errors import UnknownNameError

TimeMode = Literal["events", "contained", "intersecting"]
Level = Literal["event", "case"]


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

    def inside(self, column: str) -> str:
        parts = []
        if self.start is not None:
            parts.append(f"{column} >= {sql_literal(self.start)}")
        if self.end is not None:
            parts.append(f"{column} <= {sql_literal(self.end)}")
        return " AND ".join(parts) or "TRUE"

    def case_condition(self, first: str, last: str) -> str:
        """SQL condition on a case's first and last timestamp for the case modes."""
        start = sql_literal(self.start) if self.start is not None else None
        end = sql_literal(self.end) if self.end is not None else None
        if self.mode == "contained":
            parts = [f"{first} >= {start}" if start else "", f"{last} <= {end}" if end else ""]
        else:
            parts = [f"{last} >= {start}" if start else "", f"{first} <= {end}" if end else ""]
        return " AND ".join(p for p in parts if p) or "TRUE"


@dataclass(frozen=True, slots=True)
class AttributeFilter:
    """Keep events (``level="event"``) or cases (``"case"``) by an attribute's value."""

    name: str
    values: tuple[object, ...]
    level: Level = "event"

    def __post_init__(self) -> None:
        if self.level not in ("event", "case"):
            raise UnknownNameError("attribute filter level", self.level, ("event", "case"))

    def matches(self, event_id: str, activity: str) -> str:
        """SQL condition true for events that carry one of the values."""
        values = ", ".join(sql_literal(v) for v in self.values)
        if self.name == "activity":
            return f"{activity} IN ({values})"
        name = sql_literal(self.name)
        return (
            f"{event_id} IN (SELECT event_id FROM event_attributes WHERE name = {name} AND "
            f"coalesce(value_string, CAST(value_integer AS VARCHAR), CAST(value_float AS VARCHAR), "
            f"CAST(value_boolean AS VARCHAR), CAST(value_time AS VARCHAR)) IN "
            f"(SELECT CAST(v AS VARCHAR) FROM (VALUES {', '.join(f'({sql_literal(v)})' for v in self.values)}) t(v)))"
        )


Filter = TimeWindow | AttributeFilter
