"""The basics on the foreigner as case notion: the directly-follows graph, the variants and the case
durations, for a period and a segment of the chain (spoor, location, nationality group, partner).

The case notion is the foreigner (object type ``vreemdeling``): one case per foreigner, their events
ordered by time and read order (:func:`miner.model.flatten.flatten`). The figures are those of
:mod:`miner.analysis.dfg`, :mod:`miner.analysis.variants` and :mod:`miner.analysis.cases` on that
flattening, restricted as follows (fields of one :class:`Segment` combine with *and*; several values
of one field with *or*):

* **period**: the events in the period (``[start, end)``, local Dutch time), as pm4py's
  ``filter_time_range(mode="events")``. A case's duration is then the span of its events in the
  period, and a directly-follows pair needs both events in it.
* **spoor** (a foreigner attribute): the foreigners whose spoor is one of the values; all their
  events. A foreigner's spoor is the ``spoor`` attribute the IND records on its INDiGO events
  (``Spoor 1``, ``Spoor 2``, ``Spoor 4``, ``HASA``), the one on their latest such event should it
  change. Foreigners without one (never in INDiGO: the DT&V's and KMar's other sources, the
  initial stock) are in no spoor.
* **location** (a place the foreigner passed): the foreigners with at least one event linked to
  that location (object type ``locatie``, any qualifier: the COA stay's location, the aanmeldcentrum
  of an IND or Politie event) *in the period*; all their events (in the period). Locations are
  named as in :func:`miner.analysis.queues.location_name`: without ``locatie:``, the aliases of
  ``miner/data/queues.toml`` resolved (``TA`` and ``ter_apel`` are ``Ter Apel``).
* **nationality_group** (a foreigner attribute): the foreigners whose nationality (``nationaliteit``
  of the foreigner object, ISO 3166 alpha-3 as ingest stores it) is one of the values; a group is
  the values given together. A value may also be an alpha-2 code or a Dutch name of
  ``miner/data/nationalities.csv``.
* **partner** (the recorder): the events recorded by that partner only (event attribute
  ``partner``: IND, Politie, COA, DT&V, KMar); a case is a foreigner with such an event. This is the
  chain as one partner's systems see it.

A value not found in the workspace raises :class:`~miner.errors.UnknownNameError` naming the known
ones. The figures are computed from the canonical tables (never from the case index, so a read-only
workspace works); durations are in days.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import timedelta
from functools import cache
from importlib import resources
from typing import Any

from miner.analysis._result import SCHEMA_VERSION, json_safe
from miner.analysis.cases import case_durations
from miner.analysis.dfg import dfg
from miner.analysis.journey import FOREIGNER_TYPE
from miner.analysis.period import Period
from miner.analysis.queues import location_name, nationality_sql
from miner.analysis.variants import variants
from miner.errors import UnknownNameError
from miner.model.filters import AttributeFilter, CaseIdFilter, Filter, TimeWindow, sql_literal
from miner.model.flatten import EventLog
from miner.model.log import Log

KIND = "basics"
DAY_S = 86_400.0
_SEGMENT = "_miner_segment_foreigners"


@dataclass(frozen=True)
class Segment:
    """A part of the chain: each field None (everyone) or the values to keep (module docstring).
    A single string is taken as one value."""

    spoor: tuple[str, ...] | None = None
    location: tuple[str, ...] | None = None
    nationality_group: tuple[str, ...] | None = None
    partner: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str):
                value = (value,)
            if value is not None:
                value = tuple(str(v) for v in value)
                if not value:
                    raise ValueError(f"segment {f.name}: give at least one value, or None")
            object.__setattr__(self, f.name, value)

    @property
    def empty(self) -> bool:
        """True when the segment keeps everyone."""
        return all(getattr(self, f.name) is None for f in fields(self))

    def to_dict(self) -> dict[str, list[str] | None]:
        return {f.name: None if getattr(self, f.name) is None else list(getattr(self, f.name))
                for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Segment:
        return cls(**{f.name: None if d.get(f.name) is None else tuple(d[f.name])
                      for f in fields(cls)})


@dataclass(frozen=True)
class Edge:
    """A directly-follows edge: ``frequency`` pairs; the time between the two events in days."""

    source: str
    target: str
    frequency: int
    mean_days: float
    median_days: float
    p90_days: float
    min_days: float
    max_days: float


@dataclass(frozen=True)
class Variant:
    """A variant (activities in case order), its number of cases and their share of all cases."""

    activities: tuple[str, ...]
    cases: int
    share: float


@dataclass(frozen=True)
class Durations:
    """Case durations (first to last event of a case) in days over ``cases`` cases."""

    cases: int
    mean_days: float | None
    median_days: float | None
    p90_days: float | None
    min_days: float | None
    max_days: float | None


@dataclass(frozen=True)
class Basics:
    """DFG, variants and case durations of the foreigners of a period and segment.

    ``edges`` most frequent first; ``start_activities``/``end_activities``: activity → cases that
    start (end) with it; ``variants`` the ``top`` most frequent (ties by sequence) of
    ``variant_count`` variants; ``cases``/``events`` the foreigners and events kept."""

    period: str | None
    segment: Segment
    cases: int
    events: int
    edges: tuple[Edge, ...]
    start_activities: dict[str, int] = field(default_factory=dict)
    end_activities: dict[str, int] = field(default_factory=dict)
    variant_count: int = 0
    top: int = 20
    variants: tuple[Variant, ...] = ()
    durations: Durations = Durations(0, None, None, None, None, None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION, "kind": KIND, "period": self.period,
            "segment": self.segment.to_dict(), "cases": self.cases, "events": self.events,
            "edges": [asdict(e) for e in self.edges],
            "start_activities": dict(self.start_activities),
            "end_activities": dict(self.end_activities),
            "variant_count": self.variant_count, "top": self.top,
            "variants": [{"activities": list(v.activities), "cases": v.cases, "share": v.share}
                         for v in self.variants],
            "durations": asdict(self.durations),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Basics:
        if d.get("kind") != KIND or d.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"not a {KIND} result of schema version {SCHEMA_VERSION}")
        return cls(
            period=d["period"], segment=Segment.from_dict(d["segment"]),
            cases=int(d["cases"]), events=int(d["events"]),
            edges=tuple(Edge(**e) for e in d["edges"]),
            start_activities={str(k): int(v) for k, v in d["start_activities"].items()},
            end_activities={str(k): int(v) for k, v in d["end_activities"].items()},
            variant_count=int(d["variant_count"]), top=int(d["top"]),
            variants=tuple(Variant(tuple(v["activities"]), int(v["cases"]), float(v["share"]))
                           for v in d["variants"]),
            durations=Durations(**d["durations"]),
        )


def basics(log: Log, *, period: Period | None = None, segment: Segment | None = None,
           top: int = 20) -> Basics:
    """The DFG (frequency and performance), the ``top`` variants and the case durations of the
    foreigners, in ``period`` and ``segment`` (definitions in the module docstring).

    Raises:
        UnknownNameError: a segment value that the workspace does not hold.

    Example:
        >>> b = basics(log, period=Period.parse("2021"), segment=Segment(spoor="Spoor 1"))  # doctest: +SKIP
        >>> b.variants[0].activities[:2]  # doctest: +SKIP
        ('Registratie van persoonlijke gegevens', 'Doorzoeken van bagage (start I&R proces Politie)')
    """
    segment = segment or Segment()
    with segmented(log, period=period, segment=segment) as flat:
        graph, found, durations = dfg(flat), variants(flat), case_durations(flat)
    d = durations.table["duration_s"] / DAY_S
    table = found.table.head(top)
    return Basics(
        period=period.label if period is not None else None,
        segment=segment,
        cases=durations.cases,
        events=int(durations.table["events"].sum()),
        edges=tuple(
            Edge(str(r.source), str(r.target), int(r.frequency),
                 *(float(getattr(r, k)) / DAY_S for k in ("mean_s", "median_s", "p90_s", "min_s",
                                                           "max_s")))
            for r in graph.table.itertuples()),
        start_activities=graph.start_activities,
        end_activities=graph.end_activities,
        variant_count=len(found.table),
        top=top,
        variants=tuple(Variant(tuple(str(a) for a in v), int(n), float(s)) for v, n, s in
                       zip(table["variant"], table["cases"], table["share"], strict=True)),
        durations=Durations(**json_safe({
            "cases": durations.cases,
            "mean_days": None if d.empty else d.mean(),
            "median_days": None if d.empty else d.median(),
            "p90_days": None if d.empty else d.quantile(0.9),
            "min_days": None if d.empty else d.min(),
            "max_days": None if d.empty else d.max()})),
    )


@contextmanager
def segmented(log: Log, *, period: Period | None = None,
              segment: Segment | None = None) -> Iterator[EventLog]:
    """:func:`segment_log` for the ``with`` block; its temporary table is dropped afterwards."""
    try:
        yield segment_log(log, period=period, segment=segment)
    finally:
        log.con.execute(f"DROP TABLE IF EXISTS {_SEGMENT}")


def segment_log(log: Log, *, period: Period | None = None,
                segment: Segment | None = None) -> EventLog:
    """The foreigners' case-centric log restricted to ``period`` and ``segment``. The foreigner
    fields (spoor, location, nationality) select cases through the temporary table
    ``_miner_segment_foreigners``, made here; :func:`segmented` drops it."""
    segment = segment or Segment()
    # The period as an events time window; without one an open window, which still keeps the
    # figures off the case index (a read-only workspace cannot build it).
    window = (TimeWindow(period.start_utc, period.end_utc - timedelta(microseconds=1))
              if period is not None else TimeWindow())
    filters: list[Filter] = [window]
    if segment.partner is not None:
        _check(log, "partner", segment.partner, _known_partners(log))
        filters.append(AttributeFilter("partner", segment.partner, level="event"))
    cases = _foreigners(log, window, segment)
    if cases is not None:
        # Dropping whole cases after flattening equals flattening only those cases.
        filters.append(CaseIdFilter(sql=cases))
    return EventLog(log, FOREIGNER_TYPE, tuple(filters))


def foreigners_in(log: Log, segment: Segment, table: str) -> str | None:
    """SQL of the foreigners (object ids) the segment's foreigner fields (spoor, location,
    nationality group) keep, over the whole log, kept in the temporary table ``table``; None when
    the segment has none of these fields."""
    cases = _foreigners(log, TimeWindow(), segment)
    if cases is None:
        return None
    log.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {cases}")
    return f"SELECT object_id FROM {table}"


def _foreigners(log: Log, window: TimeWindow, segment: Segment) -> str | None:
    """Create the table of the foreigners the segment's foreigner fields keep; None: no such field."""
    conditions = []
    if segment.spoor is not None:
        spoor = _check(log, "spoor", segment.spoor, _known_spoor(log))
        conditions.append(f"""object_id IN (
            SELECT eo.object_id FROM event_attributes a
            JOIN events e ON e.event_id = a.event_id
            JOIN event_objects eo ON eo.event_id = a.event_id AND eo.qualifier = 'vreemdeling'
            WHERE a.name = 'spoor' GROUP BY eo.object_id
            HAVING arg_max(a.value_string, (e.timestamp, e.seq)) IN ({_in(spoor)}))""")
    if segment.location is not None:
        names = _check(log, "location", tuple(location_name(v) for v in segment.location),
                       _known_locations(log))
        objects = [o for o in _location_objects(log) if location_name(o) in names]
        conditions.append(f"""object_id IN (
            SELECT f.object_id FROM event_objects l
            JOIN events e ON e.event_id = l.event_id
            JOIN event_objects f ON f.event_id = l.event_id AND f.qualifier = 'vreemdeling'
            WHERE l.object_id IN ({_in(objects)}) AND {window.inside('e.timestamp')})""")
    if segment.nationality_group is not None:
        codes = _check(log, "nationality", tuple(_iso3(v) for v in segment.nationality_group),
                       _known_nationalities(log))
        conditions.append(f"object_id IN (SELECT foreigner FROM ({nationality_sql()}) "
                          f"WHERE nationality IN ({_in(codes)}))")
    if not conditions:
        return None
    log.con.execute(f"""CREATE OR REPLACE TEMP TABLE {_SEGMENT} AS
        SELECT object_id FROM objects WHERE object_type = {sql_literal(FOREIGNER_TYPE)}
        AND {' AND '.join(conditions)}""")
    return f"SELECT object_id FROM {_SEGMENT}"


def _check(log: Log, what: str, values: tuple[str, ...], known: set[str]) -> tuple[str, ...]:
    for value in values:
        if value not in known:
            raise UnknownNameError(f"{what} (not in {log.path or 'the workspace'})", value, known)
    return values


def _in(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(sql_literal(v) for v in values) or "NULL"


def _column(log: Log, sql: str) -> set[str]:
    return {str(r[0]) for r in log.con.execute(sql).fetchall() if r[0] is not None}


def _known_spoor(log: Log) -> set[str]:
    return _column(log, "SELECT DISTINCT value_string FROM event_attributes WHERE name = 'spoor'")


def _known_partners(log: Log) -> set[str]:
    return _column(log, "SELECT DISTINCT value_string FROM event_attributes WHERE name = 'partner'")


def _location_objects(log: Log) -> list[str]:
    return sorted(_column(log, "SELECT object_id FROM objects WHERE object_type = 'locatie'"))


def _known_locations(log: Log) -> set[str]:
    return {location_name(o) for o in _location_objects(log)}


def _known_nationalities(log: Log) -> set[str]:
    return _column(log, f"SELECT DISTINCT nationality FROM ({nationality_sql()})")


@cache
def _nationality_codes() -> dict[str, str]:
    """Alpha-2 code, Dutch name (case-insensitive) → alpha-3 (``miner/data/nationalities.csv``)."""
    text = (resources.files("miner") / "data" / "nationalities.csv").read_text("utf-8")
    out: dict[str, str] = {}
    for row in csv.DictReader(text.splitlines()):
        for key in ("iso2", "name_nl", "iso3"):
            out[row[key].casefold()] = row["iso3"]
    return out


def _iso3(value: str) -> str:
    return _nationality_codes().get(value.strip().casefold(), value.strip())

