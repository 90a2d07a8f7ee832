"""No-shows: hearings planned but not held because the foreigner did not appear.

The hearings are data (``[[hearing]]`` in ``miner/data/queues.toml``): the aanmeldgehoor and the
nader gehoor, whose no-show is INDiGO's ``Niet verschenen op gehoor`` (X10) with the hearing in
``resultaat``. The seed names "reactieve planning" and several kinds of hearings (000:8722-8730).

* **appointment**: a held hearing or a no-show, at its time and at the location (aanmeldcentrum)
  it is linked to; all counts are of appointments in the period.
* **no-show share**: no-shows / appointments.
* **re-plan**: a no-show followed by a held hearing of the same kind for that foreigner; a no-show
  with none after it (yet) is *open*.
* **days lost** (per foreigner and hearing): from the first no-show in the period to the next held
  hearing, in days; the foreigner's re-plans are the no-shows in between.
* **capacity** (estimate): the largest number of hearings held at the location on one day in the
  whole log. **idle slots**: per day with no-shows, the no-shows that the hearings held that day
  could not have filled: ``min(no-shows, max(capacity - held, 0))``. Each no-show is a planned
  slot; it is idle unless someone else was heard in it, which shows as a day at capacity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from miner.analysis._result import SCHEMA_VERSION
from miner.analysis.period import Period
from miner.analysis.queues import Condition, data_toml, period_bounds, select_events
from miner.model.filters import sql_literal
from miner.model.log import Log

_LOCAL = "Europe/Amsterdam"


@dataclass(frozen=True)
class NoShowPlace:
    """One hearing kind at one location in the period."""

    hearing: str
    location: str
    appointments: int
    held: int
    no_shows: int
    share: float | None
    foreigners: int
    replanned: int
    open: int
    mean_days_lost: float | None
    median_days_lost: float | None
    capacity_per_day: int | None
    idle_slots: int | None


@dataclass(frozen=True)
class NoShowWeek:
    """Appointments and no-shows of one hearing kind at one location in one ISO week (local)."""

    week: str
    hearing: str
    location: str
    appointments: int
    no_shows: int


@dataclass(frozen=True)
class NoShows:
    """No-shows in the period: totals, ``replans`` as (no-shows of a foreigner for one hearing,
    foreigners), per hearing and location, and per week."""

    period: str | None
    no_shows: int
    appointments: int
    foreigners: int
    days_lost: float
    replans: tuple[tuple[int, int], ...]
    places: tuple[NoShowPlace, ...]
    weeks: tuple[NoShowWeek, ...]

    def at(self, location: str, hearing: str | None = None) -> int:
        """No-shows at ``location`` (of one hearing kind, or all)."""
        return sum(p.no_shows for p in self.places
                   if p.location == location and hearing in (None, p.hearing))

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": "no_shows", "period": self.period,
                "no_shows": self.no_shows, "appointments": self.appointments,
                "foreigners": self.foreigners, "days_lost": self.days_lost,
                "replans": [list(r) for r in self.replans],
                "places": [p.__dict__ for p in self.places],
                "weeks": [w.__dict__ for w in self.weeks]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NoShows:
        return cls(d["period"], d["no_shows"], d["appointments"], d["foreigners"],
                   float(d["days_lost"]), tuple((int(a), int(b)) for a, b in d["replans"]),
                   tuple(NoShowPlace(**p) for p in d["places"]),
                   tuple(NoShowWeek(**w) for w in d["weeks"]))


def hearing_definitions() -> list[dict[str, Any]]:
    """The hearings of ``miner/data/queues.toml``."""
    return list(data_toml("queues.toml")["hearing"])


def no_shows(log: Log, *, period: Period | None = None) -> NoShows:
    """Hearings planned but not held, re-plans and time lost, per location and week."""
    hearings = hearing_definitions()
    groups = {f"{h['name']}|{role}": [Condition.parse(h[role])]
              for h in hearings for role in ("no_show", "held")}
    select_events(log, groups, "_ns_events")
    try:
        return _compute(log, period)
    finally:
        for scratch in ("_ns_next", "_ns", "_ns_events"):
            log.con.execute(f"DROP TABLE IF EXISTS {scratch}")


def _compute(log: Log, period: Period | None) -> NoShows:
    con = log.con
    start, end = period_bounds(period)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _ns AS
        SELECT foreigner, ts, split_part(grp, '|', 1) AS hearing, split_part(grp, '|', 2) AS role,
               coalesce(location, 'onbekend') AS location,
               (ts AT TIME ZONE {sql_literal(_LOCAL)})::DATE AS day
        FROM _ns_events""")
    # The next held hearing (same hearing, same foreigner, strictly later) of each no-show time,
    # over the whole log, not just the period. A window over the distinct times and not a
    # correlated subquery: Spark plans a subquery correlated by ``h.ts > n.ts`` as a product.
    # One row per time, so "1 FOLLOWING" is strictly later (ties excluded, as ``>`` does).
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _ns_next AS
        WITH times AS (SELECT hearing, foreigner, ts,
                              min(ts) FILTER (WHERE role = 'held') AS held,
                              count(*) FILTER (WHERE role = 'no_show') AS no_shows
                       FROM _ns GROUP BY hearing, foreigner, ts),
        nexts AS (SELECT hearing, foreigner, ts, no_shows,
                         min(held) OVER (PARTITION BY hearing, foreigner ORDER BY ts
                                         ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
                             AS next_held
                  FROM times)
        SELECT hearing, foreigner, ts, next_held FROM nexts WHERE no_shows > 0""")
    inside = f"ts >= {start} AND ts < {end}"
    places = con.execute(f"""
        WITH p AS (SELECT * FROM _ns WHERE {inside}),
        counts AS (SELECT hearing, location, count(*) AS appointments,
                          count(*) FILTER (WHERE role = 'held') AS held,
                          count(*) FILTER (WHERE role = 'no_show') AS no_shows,
                          count(DISTINCT foreigner) FILTER (WHERE role = 'no_show') AS foreigners
                   FROM p GROUP BY ALL),
        ns AS (SELECT n.hearing, n.location, n.foreigner, n.ts, x.next_held
               FROM p n LEFT JOIN _ns_next x ON x.hearing = n.hearing
                    AND x.foreigner = n.foreigner AND x.ts = n.ts
               WHERE n.role = 'no_show'),
        episodes AS (SELECT hearing, location, foreigner, min(ts) AS first,
                            min(next_held) AS held_at FROM ns GROUP BY ALL),
        lost AS (SELECT hearing, location,
                        avg(epoch(held_at) - epoch(first)) / 86400 AS mean_days,
                        median(epoch(held_at) - epoch(first)) / 86400 AS median_days
                 FROM episodes WHERE held_at IS NOT NULL GROUP BY ALL),
        replanned AS (SELECT hearing, location, count(next_held) AS replanned,
                             count(*) - count(next_held) AS open FROM ns GROUP BY ALL),
        cap AS (SELECT hearing, location, max(n) AS capacity FROM
                  (SELECT hearing, location, day, count(*) AS n FROM _ns WHERE role = 'held'
                   GROUP BY ALL) GROUP BY ALL),
        days AS (SELECT hearing, location, day, count(*) FILTER (WHERE role = 'held') AS held,
                        count(*) FILTER (WHERE role = 'no_show') AS no_shows
                 FROM p GROUP BY ALL HAVING count(*) FILTER (WHERE role = 'no_show') > 0),
        idle AS (SELECT d.hearing, d.location,
                        sum(least(d.no_shows, greatest(c.capacity - d.held, 0)))::BIGINT AS idle
                 FROM days d JOIN cap c USING (hearing, location) GROUP BY ALL)
        SELECT c.hearing, c.location, c.appointments, c.held, c.no_shows,
               c.no_shows / c.appointments, c.foreigners, coalesce(r.replanned, 0),
               coalesce(r.open, 0), l.mean_days, l.median_days, cap.capacity,
               CASE WHEN cap.capacity IS NULL THEN NULL ELSE coalesce(i.idle, 0) END
        FROM counts c LEFT JOIN replanned r USING (hearing, location)
        LEFT JOIN lost l USING (hearing, location) LEFT JOIN cap USING (hearing, location)
        LEFT JOIN idle i USING (hearing, location)
        ORDER BY c.hearing, c.location""").fetchall()
    weeks = con.execute(f"""
        SELECT strftime(day, '%G-W%V') AS week, hearing, location, count(*),
               count(*) FILTER (WHERE role = 'no_show')
        FROM _ns WHERE {inside} GROUP BY ALL ORDER BY week, hearing, location""").fetchall()
    per_foreigner = con.execute(f"""
        WITH ns AS (SELECT n.hearing, n.foreigner, n.ts, x.next_held
                    FROM (SELECT * FROM _ns WHERE role = 'no_show' AND {inside}) n
                    LEFT JOIN _ns_next x ON x.hearing = n.hearing
                         AND x.foreigner = n.foreigner AND x.ts = n.ts),
        ep AS (SELECT hearing, foreigner, count(*) AS k,
                      epoch(min(next_held)) - epoch(min(ts)) AS lost FROM ns GROUP BY ALL)
        SELECT k, count(*), sum(lost) FILTER (WHERE lost IS NOT NULL)
        FROM ep GROUP BY k ORDER BY k""").fetchall()
    place_rows = tuple(NoShowPlace(
        hearing=r[0], location=r[1], appointments=int(r[2]), held=int(r[3]), no_shows=int(r[4]),
        share=float(r[5]), foreigners=int(r[6]), replanned=int(r[7]), open=int(r[8]),
        mean_days_lost=_num(r[9]), median_days_lost=_num(r[10]),
        capacity_per_day=None if r[11] is None else int(r[11]),
        idle_slots=None if r[12] is None else int(r[12])) for r in places)
    foreigners = con.execute(
        f"SELECT count(DISTINCT foreigner) FROM _ns_events WHERE grp LIKE '%|no_show' "
        f"AND {inside}").fetchall()[0][0]
    return NoShows(
        period=period.label if period else None,
        no_shows=sum(p.no_shows for p in place_rows),
        appointments=sum(p.appointments for p in place_rows),
        foreigners=int(foreigners),
        days_lost=float(sum(r[2] or 0 for r in per_foreigner)) / 86400,
        replans=tuple((int(r[0]), int(r[1])) for r in per_foreigner),
        places=place_rows,
        weeks=tuple(NoShowWeek(w[0], w[1], w[2], int(w[3]), int(w[4])) for w in weeks))


def _num(value: Any) -> float | None:
    return None if value is None else float(value)
