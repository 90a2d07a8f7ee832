"""Registration lag: how late, and how often, a second registration follows the fact it records.

The pairs are data (``[[lag]]`` in ``miner/data/measures.toml``):

* ``coa_mutatie`` (kind ``attribute``): COA records a stay (its start, ``startdatum``) and the moment
  it entered it (``mutatiedatum``); the location in BVV is "niet … ge-updatet" (000:11400-11404).
* ``smartflow_dubbele_invoer`` (kind ``events``): the Politie's ``Afhandeling registratie`` in
  PSH-V is typed again into Smartflow (double entry, 000:11302-11307); the n-th PSH-V event of a
  foreigner is paired with their n-th Smartflow event.

Terms, for the facts (first registrations) whose time lies in the period:

* **facts**; **followed**: facts with a second registration; **share followed** = followed / facts.
* **lag**: second registration minus the fact, in days; **late**: lag > ``late_days``;
  **share late** = late / facts. Mean, median, 90th percentile and maximum are over the followed.
* **basis** ``attribute``: the workspace carries the attribute (the shipped COA mapping does), so
  every lag is known. **basis** ``ingest_issues``: a mapping that drops the attribute and keeps
  ``mutatiedatum`` only for its ``late_registration`` check; the late registrations are then
  read from that check's issues; the on-time lags are then unknown: ``complete`` is False,
  ``followed`` is None and the lag figures describe the late registrations only.
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


@dataclass(frozen=True)
class LagPlace:
    """One pair at one location (of the fact)."""

    location: str
    facts: int
    followed: int | None
    late: int
    median_days: float | None


@dataclass(frozen=True)
class LagPair:
    """One fact recorded twice (see the module docstring for the terms)."""

    name: str
    label: str
    basis: str
    complete: bool
    late_days: float
    facts: int
    followed: int | None
    share_followed: float | None
    late: int
    share_late: float | None
    mean_days: float | None
    median_days: float | None
    p90_days: float | None
    max_days: float | None
    places: tuple[LagPlace, ...]


@dataclass(frozen=True)
class RegistrationLag:
    """Per pair of ``miner/data/measures.toml``, the lag of the second registration."""

    period: str | None
    pairs: tuple[LagPair, ...]

    def pair(self, name: str) -> LagPair:
        return next(p for p in self.pairs if p.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": "registration_lag",
                "period": self.period,
                "pairs": [{**p.__dict__, "places": [q.__dict__ for q in p.places]}
                          for p in self.pairs]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RegistrationLag:
        return cls(d["period"], tuple(
            LagPair(**{**p, "places": tuple(LagPlace(**q) for q in p["places"])})
            for p in d["pairs"]))


def lag_definitions() -> list[dict[str, Any]]:
    """The registration-lag pairs of ``miner/data/measures.toml``."""
    return list(data_toml("measures.toml")["lag"])


def registration_lag(log: Log, *, period: Period | None = None) -> RegistrationLag:
    """How late and how often each second registration follows its fact."""
    specs = lag_definitions()
    groups: dict[str, list[Condition]] = {}
    for s in specs:
        if s["kind"] == "attribute":
            groups[f"{s['name']}|first"] = [Condition.parse(s["of"])]
        else:
            groups[f"{s['name']}|first"] = [Condition.parse(s["first"])]
            groups[f"{s['name']}|second"] = [Condition.parse(s["second"])]
    select_events(log, groups, "_lag_events")
    try:
        pairs = tuple(_pair(log, s, period) for s in specs)
    finally:
        log.con.execute("DROP TABLE IF EXISTS _lag_events; DROP TABLE IF EXISTS _lag")
    return RegistrationLag(period.label if period else None, pairs)


def _pair(log: Log, spec: Mapping[str, Any], period: Period | None) -> LagPair:
    con = log.con
    lo, hi = period_bounds(period)
    first = (f"(SELECT * FROM _lag_events WHERE grp = {sql_literal(spec['name'] + '|first')} "
             f"AND ts >= {lo} AND ts < {hi})")
    basis, complete = spec["kind"], True
    if spec["kind"] == "events":
        second = f"(SELECT * FROM _lag_events WHERE grp = {sql_literal(spec['name'] + '|second')})"
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _lag AS
            WITH f AS (SELECT *, row_number() OVER (PARTITION BY foreigner ORDER BY ts, event_id) AS k
                       FROM _lag_events WHERE grp = {sql_literal(spec['name'] + '|first')}),
            s AS (SELECT *, row_number() OVER (PARTITION BY foreigner ORDER BY ts, event_id) AS k
                  FROM {second})
            SELECT f.event_id, coalesce(f.location, 'onbekend') AS location,
                   (epoch(s.ts) - epoch(f.ts)) / 86400 AS days
            FROM f LEFT JOIN s USING (foreigner, k) WHERE f.ts >= {lo} AND f.ts < {hi}""")
    else:
        stamp = (f"timezone({sql_literal(spec['timezone'])}, "
                 f"try_strptime(a.value_string, {sql_literal(spec['format'])}))")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _lag AS
            SELECT f.event_id, coalesce(f.location, 'onbekend') AS location,
                   (epoch({stamp}) - epoch(f.ts)) / 86400 AS days
            FROM {first} f JOIN event_attributes a ON a.event_id = f.event_id
                 AND a.name = {sql_literal(spec['attribute'])}""")
        carried = con.execute("SELECT count(*) FROM (SELECT 1 FROM event_attributes WHERE name = "
                              f"{sql_literal(spec['attribute'])} LIMIT 1)").fetchall()[0][0]
        if not carried:
            basis, complete = "ingest_issues", False
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE _lag AS
                SELECT f.event_id, coalesce(f.location, 'onbekend') AS location,
                       (epoch({stamp.replace('a.value_string', 'i.found')}) - epoch(f.ts)) / 86400
                           AS days
                FROM {first} f JOIN events e ON e.event_id = f.event_id
                JOIN ingest_issues i ON i.source = e.source AND i.location = e.source_file
                     AND i.row = e.source_row AND i.rule = {sql_literal(spec['issue_rule'])}""")
    late_days = float(spec["late_days"])
    facts_sql = f"SELECT coalesce(location, 'onbekend') AS location, count(*) AS n FROM {first} GROUP BY 1"
    rows = con.execute(f"""
        WITH facts AS ({facts_sql}),
        lags AS (SELECT location, count(days) AS followed, count(*) FILTER (WHERE days > {late_days!r})
                        AS late, median(days) AS med FROM _lag GROUP BY 1)
        SELECT f.location, f.n, coalesce(l.followed, 0), coalesce(l.late, 0), l.med
        FROM facts f LEFT JOIN lags l USING (location) ORDER BY 1""").fetchall()
    stats = con.execute(f"""
        SELECT count(days), count(*) FILTER (WHERE days > {late_days!r}), avg(days), median(days),
               quantile_cont(days, 0.9), max(days) FROM _lag""").fetchall()[0]
    facts = sum(int(r[1]) for r in rows)
    followed = int(stats[0]) if complete else None
    late = int(stats[1])
    return LagPair(
        name=spec["name"], label=spec["label"], basis=basis, complete=complete,
        late_days=late_days, facts=facts, followed=followed,
        share_followed=followed / facts if followed is not None and facts else None,
        late=late, share_late=late / facts if facts else None,
        mean_days=_num(stats[2]), median_days=_num(stats[3]), p90_days=_num(stats[4]),
        max_days=_num(stats[5]),
        places=tuple(LagPlace(r[0], int(r[1]), int(r[2]) if complete else None, int(r[3]),
                              _num(r[4])) for r in rows))


def _num(value: Any) -> float | None:
    return None if value is None else float(value)
