"""Duplicate work: the same purpose performed more than once for the same foreigner.

The purposes, efforts and named findings are data (:mod:`miner.analysis.taxonomy`). Terms:

* An **occurrence** is one performance of a purpose: the events of that purpose for one foreigner
  by one organisation in one system (``source``), each less than ``session_hours`` after the
  previous one. An activity met again within it starts a second occurrence (photos taken twice are
  two). Its time is its first event's, its effort the sum of its activities' ``effort_hours``. An
  activity with start and complete events (a COA stay) counts once, at its start.
* The occurrences of a purpose for one foreigner form a **chain** while each follows the previous
  one by at most the purpose's ``window_days`` (taxonomy data: the purpose's own, else the
  ``[settings]`` default, else none: the whole journey is one chain; the keyword ``window_days``
  overrides them for every purpose). The first of a chain is the **original**, every later one a
  **repeat**: **cross-partner** duplication when its organisation had not yet performed the
  purpose in the chain (the pair is *first organisation → this organisation*: the first to record
  a datum is responsible for it, 000:9228-9232), **rework** when it had (the same organisation
  again, in the same or another system: PSH-V then Smartflow is rework by the Politie).
* **Hours lost** is the effort of the repeats.
* A **finding** (double registration, double entry, triple identity, …) holds for a chain when
  every entry of the finding's ``requires`` is matched by an occurrence of the chain, by at least
  two occurrences in all. It is **completed** when the last entry is first matched; its hours are
  the effort of its matched occurrences up to then, less the earliest one.

**Period.** Only events before the period's end are read, so earlier history still makes an
occurrence a repeat. A repeat counts in the period holding its time, a finding in the period in
which it is completed; a purpose's foreigners are those with an occurrence of it in the period.
Monthly trends use local (Europe/Amsterdam) months and list the months with a count only.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import duckdb

from miner.analysis._result import SCHEMA_VERSION
from miner.analysis.journey import create_journey
from miner.analysis.period import Period
from miner.analysis.taxonomy import Taxonomy, load_taxonomy, window
from miner.model.filters import sql_literal
from miner.model.log import Log

KIND = "duplicate_work"
EVIDENCE_LIMIT = 20


@dataclass(frozen=True)
class MonthCount:
    """One month of a trend: ``count`` (repeats, or findings completed), ``foreigners``,
    ``hours``."""

    month: str
    count: int
    foreigners: int
    hours: float


@dataclass(frozen=True)
class PurposeSummary:
    """One purpose: ``foreigners`` with an occurrence of it, ``occurrences``, ``repeats`` (=
    ``cross_partner`` + ``rework``), ``affected`` foreigners (with a repeat), ``share`` = affected /
    foreigners, ``hours_lost``, ``monthly`` repeats, and the ``window_days`` its chains used (None:
    the whole journey)."""

    purpose: str
    foreigners: int
    occurrences: int
    repeats: int
    cross_partner: int
    rework: int
    affected: int
    share: float
    hours_lost: float
    monthly: tuple[MonthCount, ...]
    window_days: float | None


@dataclass(frozen=True)
class PairSummary:
    """Repeats of one purpose by ``organisation``: ``cross_partner`` after ``from_organisation``
    performed it first in the chain, or ``rework`` (then ``from_organisation`` is the same
    organisation). ``foreigners`` affected, ``share`` of the purpose's foreigners, ``repeats``,
    ``hours_lost``."""

    purpose: str
    kind: str
    from_organisation: str
    organisation: str
    foreigners: int
    share: float
    repeats: int
    hours_lost: float
    monthly: tuple[MonthCount, ...]


@dataclass(frozen=True)
class Evidence:
    """One finding for one foreigner (pseudonym): when it was ``completed`` (ISO 8601, UTC) and the
    events of its matched occurrences."""

    foreigner: str
    completed: str
    event_ids: tuple[str, ...]


@dataclass(frozen=True)
class FindingSummary:
    """One named finding: its definition (``requires`` as text), ``foreigners`` with it, ``share``
    of the foreigners with its purpose, ``instances``, ``hours_lost``, ``monthly``, and the first
    ``evidence`` items by completion (all of them: :func:`duplicate_evidence`)."""

    id: str
    name: str
    purpose: str
    requires: tuple[str, ...]
    description: str
    seed: str
    foreigners: int
    share: float
    instances: int
    hours_lost: float
    monthly: tuple[MonthCount, ...]
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class DuplicateWork:
    """The duplicate-work analysis of one period (``period`` None: the whole log). ``window_days``
    is the window of every purpose without one of its own: the keyword's override, else the
    taxonomy's ``[settings]`` default; None = the whole journey. Each purpose's window is in
    ``purposes[].window_days``."""

    period: str | None
    window_days: float | None
    session_hours: float
    taxonomy: str
    foreigners: int
    repeats: int
    hours_lost: float
    purposes: tuple[PurposeSummary, ...]
    pairs: tuple[PairSummary, ...]
    findings: tuple[FindingSummary, ...]

    def finding(self, finding_id: str) -> FindingSummary:
        return next(f for f in self.findings if f.id == finding_id)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": KIND, **_plain(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DuplicateWork:
        data = {k: v for k, v in d.items() if k not in ("schema_version", "kind")}
        # results saved before the windows were per purpose had one window for every purpose
        data["purposes"] = [{"window_days": data["window_days"], **p} for p in data["purposes"]]
        result: DuplicateWork = _from_plain(cls, data)
        return result


_NESTED: dict[str, type] = {
    "monthly": MonthCount, "purposes": PurposeSummary, "pairs": PairSummary,
    "findings": FindingSummary, "evidence": Evidence}


def _plain(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, tuple):
        return [_plain(v) for v in obj]
    return obj


def _from_plain(cls: type, data: dict[str, Any]) -> Any:
    values: dict[str, Any] = {}
    for f in fields(cls):
        v = data[f.name]
        if f.name in _NESTED:
            v = tuple(_from_plain(_NESTED[f.name], x) for x in v)
        elif isinstance(v, list):
            v = tuple(v)
        values[f.name] = v
    return cls(**values)


# Integer keys: windows and joins over narrow integer rows are several times faster than over the
# labels. fid = foreigner, gid = (purpose, organisation, source), pid/oid = purpose/organisation.
_OCC = "fid, gid, session, round"


@dataclass(frozen=True)
class _Tables:
    """The temp tables of one run (dropped at its end unless returned as a relation)."""

    raw: str  # the journey's events of duplicate-checked activities, with labels
    who: str  # fid → foreigner
    keys: str  # gid → purpose, organisation, source, pid, oid
    ev: str  # events with their occurrence (session, round)
    occ: str  # occurrences with their chain (episode), place (n) and kind
    fnd: str  # matched occurrences of every finding

    @classmethod
    def new(cls) -> _Tables:
        token = uuid.uuid4().hex[:12]
        names = ("raw", "who", "keys", "ev", "occ", "fnd")
        return cls(*(f"dup_{name}_{token}" for name in names))

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        for name in (self.raw, self.who, self.keys, self.ev, self.occ, self.fnd):
            con.execute(f"DROP TABLE IF EXISTS {name}")


def _windows(tax: Taxonomy, window_days: float | None) -> dict[str, float | None]:
    """Purpose → its window in days (None: the whole journey): the override for every purpose, or
    the taxonomy's."""
    if window_days is None:
        return {name: p.window_days for name, p in tax.purposes.items()}
    days = window(window_days, "window_days")
    return dict.fromkeys(tax.purposes, days)


def _window_sql(windows: Mapping[str, float | None]) -> str:
    """The window of column ``purpose`` in microseconds, as SQL (NULL: the whole journey; 2^62 µs,
    146,000 years, caps a longer one)."""
    us = {p: int(min(d * 86400e6, 2.0**62)) for p, d in windows.items() if d is not None}
    if not us:
        return "NULL::BIGINT"
    if len(windows) == len(us) and len(set(us.values())) == 1:
        return f"{next(iter(us.values()))}::BIGINT"
    cases = " ".join(f"WHEN {sql_literal(p)} THEN {v}" for p, v in us.items())
    return f"(CASE purpose {cases} END)::BIGINT"


def _statements(t: _Tables, tax: Taxonomy, windows: Mapping[str, float | None],
                period: Period | None) -> list[str]:
    acts = tax.duplicate_activities()
    rows = ", ".join(f"({sql_literal(a)}, {i}, {sql_literal(p)}, {e!r})"
                     for i, (a, (p, e)) in enumerate(acts.items()))
    ids = ", ".join(sql_literal(a) for a in acts) or "NULL"
    before_end = f"AND j.ts < {sql_literal(period.end_utc)}" if period else ""
    in_period = period.sql_range("start") if period else "TRUE"
    session_us = int(tax.session_hours * 3600e6)
    # an activity with start and complete events (a COA stay) counts once, at its start
    raw = f"""CREATE TEMP TABLE {t.raw} AS
    WITH tax(activity_id, aid, purpose, effort) AS (VALUES {rows or "(NULL, 0, NULL, 0.0)"}),
    j AS MATERIALIZED (
        SELECT j.foreigner, j.event_id, j.ts, j.seq, j.activity_id, t.aid, j.source, j.lifecycle,
               coalesce(j.organisation, j.partner, j.source) AS organisation, t.purpose, t.effort
        FROM journey j JOIN tax t ON t.activity_id = j.activity_id
        WHERE j.activity_id IN ({ids}) AND j.ts IS NOT NULL {before_end})
    SELECT * EXCLUDE (lifecycle) FROM j WHERE lifecycle <> 'complete'
    UNION ALL
    SELECT j.* EXCLUDE (lifecycle) FROM j
    ANTI JOIN (SELECT DISTINCT foreigner, activity_id, source FROM j WHERE lifecycle = 'start') s
        ON s.foreigner = j.foreigner AND s.activity_id = j.activity_id AND s.source = j.source
    WHERE j.lifecycle = 'complete'"""
    who = f"""CREATE TEMP TABLE {t.who} AS
        SELECT row_number() OVER (ORDER BY foreigner)::INTEGER AS fid, foreigner
        FROM (SELECT DISTINCT foreigner FROM {t.raw})"""
    keys = f"""CREATE TEMP TABLE {t.keys} AS
        SELECT row_number() OVER (ORDER BY purpose, organisation, source)::INTEGER AS gid,
               purpose, organisation, source, dense_rank() OVER (ORDER BY purpose)::INTEGER AS pid,
               dense_rank() OVER (ORDER BY organisation)::INTEGER AS oid,
               {_window_sql(windows)} AS window_us
        FROM (SELECT DISTINCT purpose, organisation, source FROM {t.raw})"""
    # windows only over groups with more than one event (two thirds of the events stand alone)
    ev = f"""CREATE TEMP TABLE {t.ev} AS
    WITH n AS MATERIALIZED (
        SELECT w.fid, k.gid, k.pid, k.oid, r.aid, r.ts, r.seq, r.effort, k.window_us
        FROM {t.raw} r JOIN {t.who} w USING (foreigner)
        JOIN {t.keys} k USING (purpose, organisation, source)),
    sizes AS MATERIALIZED (SELECT fid, gid, count(*) AS size FROM n GROUP BY fid, gid),
    w1 AS (
        SELECT *, CASE WHEN epoch_us(ts) - epoch_us(lag(ts) OVER w) <= {session_us} THEN 0 ELSE 1
                  END AS new_session
        FROM n SEMI JOIN (SELECT * FROM sizes WHERE size > 1) s USING (fid, gid)
        WINDOW w AS (PARTITION BY fid, gid ORDER BY ts, seq)),
    w2 AS (
        SELECT * EXCLUDE (new_session), sum(new_session) OVER (
            PARTITION BY fid, gid ORDER BY ts, seq ROWS UNBOUNDED PRECEDING)::INTEGER AS session
        FROM w1)
    SELECT *, row_number() OVER (PARTITION BY fid, gid, session, aid ORDER BY ts, seq)::INTEGER
                  AS round
    FROM w2
    UNION ALL
    SELECT n.*, 1 AS session, 1 AS round
    FROM n SEMI JOIN (SELECT * FROM sizes WHERE size = 1) s USING (fid, gid)"""
    chain = "PARTITION BY fid, pid, episode"
    occ = f"""CREATE TEMP TABLE {t.occ} AS
    WITH g AS MATERIALIZED (
        SELECT {_OCC}, any_value(pid) AS pid, any_value(oid) AS oid, min(ts) AS start,
               min(seq) AS first_seq, sum(effort) AS effort, any_value(window_us) AS window_us
        FROM {t.ev} GROUP BY {_OCC}),
    sizes AS MATERIALIZED (SELECT fid, pid, count(*) AS size FROM g GROUP BY fid, pid),
    o1 AS (
        SELECT *, CASE WHEN epoch_us(start) - epoch_us(lag(start) OVER w)
                            <= coalesce(window_us, {2**63 - 1}) THEN 0
                  ELSE 1 END AS new_chain
        FROM g SEMI JOIN (SELECT * FROM sizes WHERE size > 1) s USING (fid, pid)
        WINDOW w AS (PARTITION BY fid, pid ORDER BY start, first_seq)),
    o2 AS (
        SELECT * EXCLUDE (new_chain), sum(new_chain) OVER (
            PARTITION BY fid, pid ORDER BY start, first_seq ROWS UNBOUNDED PRECEDING)::INTEGER
                AS episode
        FROM o1),
    o3 AS (
        SELECT *, row_number() OVER c AS n, first_value(oid) OVER c AS first_oid,
               row_number() OVER o AS org_n, lag(gid) OVER o AS previous_gid
        FROM o2
        WINDOW c AS ({chain} ORDER BY start, first_seq),
               o AS ({chain}, oid ORDER BY start, first_seq)
        UNION ALL
        SELECT g.*, 1 AS episode, 1 AS n, oid AS first_oid, 1 AS org_n,
               NULL::INTEGER AS previous_gid
        FROM g SEMI JOIN (SELECT * FROM sizes WHERE size = 1) s USING (fid, pid))
    SELECT * EXCLUDE (org_n, first_oid),
           CASE WHEN n = 1 THEN 'original' WHEN org_n > 1 THEN 'rework' ELSE 'cross_partner' END
               AS kind,
           CASE WHEN n > 1 AND org_n > 1 THEN oid ELSE first_oid END AS from_oid,
           CASE WHEN n > 1 THEN strftime(timezone('Europe/Amsterdam', start), '%Y-%m') END AS month,
           {in_period} AS in_period
    FROM o3"""
    return [raw, who, keys, ev, occ, _findings_sql(t, tax)]


def _findings_sql(t: _Tables, tax: Taxonomy) -> str:
    acts = list(tax.duplicate_activities())
    rows = [f"({sql_literal(f.id)}, {sql_literal(f.purpose)}, {i}, {_lit(r.organisation)}, "
            f"{_lit(r.source)}, {acts.index(r.activity) if r.activity else 'NULL'}, "
            f"{len(f.requires)})" for f in tax.findings for i, r in enumerate(f.requires)]
    return f"""CREATE TEMP TABLE {t.fnd} AS
    WITH req AS (
        SELECT r.finding, r.idx, r.k, r.aid, k.gid FROM (
            VALUES {', '.join(rows) or "(NULL, NULL, 0, NULL, NULL, NULL, 0)"}
        ) r(finding, purpose, idx, organisation, source, aid, k)
        JOIN {t.keys} k ON k.purpose = r.purpose
         AND (r.organisation IS NULL OR k.organisation = r.organisation)
         AND (r.source IS NULL OR k.source = r.source)),
    chained AS (SELECT * FROM {t.occ} o SEMI JOIN (SELECT DISTINCT fid, pid, episode FROM {t.occ}
                                                 WHERE n > 1) c USING (fid, pid, episode)),
    m AS MATERIALIZED (
        SELECT r.finding, r.idx, r.k, o.*
        FROM chained o JOIN req r ON o.gid = r.gid AND r.aid IS NULL
        UNION ALL
        SELECT r.finding, r.idx, r.k, o.*
        FROM chained o JOIN req r ON o.gid = r.gid AND r.aid IS NOT NULL
        SEMI JOIN {t.ev} e ON e.fid = o.fid AND e.gid = o.gid AND e.session = o.session
         AND e.round = o.round AND e.aid = r.aid),
    inst AS (
        SELECT finding, fid, pid, episode, max(first_match) AS completed FROM (
            SELECT finding, fid, pid, episode, idx, any_value(k) AS k, min(start) AS first_match
            FROM m GROUP BY finding, fid, pid, episode, idx)
        GROUP BY finding, fid, pid, episode HAVING count(*) = any_value(k)),
    sel AS (
        SELECT DISTINCT ON (m.finding, m.fid, m.gid, m.session, m.round)
               m.* EXCLUDE (idx, k), i.completed
        FROM m JOIN inst i USING (finding, fid, pid, episode) WHERE m.start <= i.completed)
    SELECT *, CASE WHEN row_number() OVER w = 1 THEN 'original' ELSE 'repeat' END AS role
    FROM sel
    WINDOW w AS (PARTITION BY finding, fid, pid, episode ORDER BY start, first_seq)
    QUALIFY count(*) OVER (PARTITION BY finding, fid, pid, episode) >= 2"""


def _lit(value: str | None) -> str:
    return "NULL" if value is None else sql_literal(value)


def _build(log: Log, tax: Taxonomy, windows: Mapping[str, float | None],
           period: Period | None) -> _Tables:
    create_journey(log)
    t = _Tables.new()
    try:
        for statement in _statements(t, tax, windows, period):
            log.con.execute(statement)
    except BaseException:
        t.drop(log.con)
        raise
    return t


def _keep(log: Log, t: _Tables, name: str, sql: str) -> duckdb.DuckDBPyRelation:
    """Materialise ``sql`` as temp table ``name``, drop the run's tables, return the relation."""
    try:
        log.con.execute(f"CREATE TEMP TABLE {name} AS {sql}")
    finally:
        t.drop(log.con)
    return log.con.sql(f"FROM {name}")


def duplicate_occurrences(log: Log, *, period: Period | None = None,
                          window_days: float | None = None,
                          taxonomy: Taxonomy | None = None) -> duckdb.DuckDBPyRelation:
    """Every occurrence of a duplicate-checked purpose, as a relation over a temp table (kept until
    the connection closes): foreigner, purpose, organisation, source, start, effort, event_ids,
    episode (its chain), n (place in the chain), kind (original, cross_partner, rework),
    from_organisation, previous_source (the organisation's system before, in the chain),
    in_period. ``window_days`` (None: the taxonomy's windows) overrides every purpose's window."""
    tax = taxonomy or load_taxonomy()
    t = _build(log, tax, _windows(tax, window_days), period)
    return _keep(log, t, f"{t.occ}_out", f"""
        SELECT w.foreigner, k.purpose, k.organisation, k.source, o.start, o.effort, x.event_ids,
               o.episode, o.n, o.kind, f.organisation AS from_organisation,
               p.source AS previous_source, o.in_period
        FROM {t.occ} o JOIN {t.who} w USING (fid) JOIN {t.keys} k USING (gid)
        JOIN (SELECT {_OCC}, list(r.event_id ORDER BY e.ts, e.seq) AS event_ids
              FROM {t.ev} e JOIN {t.raw} r USING (seq) GROUP BY {_OCC}) x USING ({_OCC})
        JOIN (SELECT DISTINCT oid, organisation FROM {t.keys}) f ON f.oid = o.from_oid
        LEFT JOIN {t.keys} p ON p.gid = o.previous_gid
        ORDER BY w.foreigner, k.purpose, o.start, o.first_seq""")


def duplicate_evidence(log: Log, *, period: Period | None = None,
                       window_days: float | None = None, taxonomy: Taxonomy | None = None,
                       finding: str | None = None) -> duckdb.DuckDBPyRelation:
    """The full evidence of the findings (or of one ``finding``) completed in the period, one row
    per event, as a relation over a temp table (kept until the connection closes): finding,
    foreigner, completed, organisation, source, role (original or repeat), event_id, ts,
    activity_id. ``window_days`` as for :func:`duplicate_occurrences`."""
    tax = taxonomy or load_taxonomy()
    if finding is not None:
        tax.finding(finding)  # an unknown id raises UnknownNameError
    t = _build(log, tax, _windows(tax, window_days), period)
    counted = period.sql_range("f.completed") if period else "TRUE"
    only = f"AND f.finding = {sql_literal(finding)}" if finding else ""
    return _keep(log, t, f"{t.fnd}_out", f"""
        SELECT f.finding, w.foreigner, f.completed, k.organisation, k.source, f.role,
               r.event_id, r.ts, r.activity_id
        FROM {t.fnd} f JOIN {t.ev} e USING ({_OCC}) JOIN {t.raw} r USING (seq)
        JOIN {t.who} w ON w.fid = f.fid JOIN {t.keys} k ON k.gid = f.gid
        WHERE {counted} {only}
        ORDER BY f.finding, f.completed, w.foreigner, r.ts, r.seq""")


def duplicate_work(log: Log, *, period: Period | None = None, window_days: float | None = None,
                   taxonomy: Taxonomy | None = None,
                   evidence_limit: int = EVIDENCE_LIMIT) -> DuplicateWork:
    """Duplicate work per purpose, per organisation pair and per named finding (module docstring).
    The first ``evidence_limit`` findings of each kind carry their event ids in the result.
    ``window_days`` (None: the taxonomy's windows) overrides every purpose's window."""
    tax = taxonomy or load_taxonomy()
    windows = _windows(tax, window_days)
    t = _build(log, tax, windows, period)
    default = tax.window_days if window_days is None else window(window_days, "window_days")
    try:
        return _summarise(log.con, tax, t, period, default, windows, evidence_limit)
    finally:
        t.drop(log.con)


def _months(rows: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], tuple[MonthCount, ...]]:
    """Rows (key..., month, count, foreigners, hours) → key → its months."""
    out: dict[tuple[Any, ...], list[MonthCount]] = {}
    for *key, month, count, people, hours in rows:
        month_count = MonthCount(month, int(count), int(people), float(hours))
        out.setdefault(tuple(key), []).append(month_count)
    return {k: tuple(v) for k, v in out.items()}


_AGG = "count(*), count(DISTINCT fid), sum(effort)"


def _summarise(con: duckdb.DuckDBPyConnection, tax: Taxonomy, t: _Tables, period: Period | None,
               window_days: float | None, windows: Mapping[str, float | None],
               limit: int) -> DuplicateWork:
    purpose = dict(con.execute(f"SELECT DISTINCT pid, purpose FROM {t.keys}").fetchall())
    org = dict(con.execute(f"SELECT DISTINCT oid, organisation FROM {t.keys}").fetchall())
    rep = f"FROM {t.occ} WHERE in_period AND kind <> 'original'"
    total = con.execute(f"SELECT count(DISTINCT fid) FROM {t.occ} WHERE in_period").fetchall()
    by_month = "GROUP BY ALL ORDER BY ALL"
    p_months = _months(con.execute(f"SELECT pid, month, {_AGG} {rep} {by_month}").fetchall())
    people: dict[str, int] = {}
    purposes = []
    for pid, n_people, n_occ, n_cross, n_rework, affected, hours in con.execute(f"""
        SELECT pid, count(DISTINCT fid), count(*), count(*) FILTER (WHERE kind = 'cross_partner'),
               count(*) FILTER (WHERE kind = 'rework'),
               count(DISTINCT fid) FILTER (WHERE kind <> 'original'),
               coalesce(sum(effort) FILTER (WHERE kind <> 'original'), 0)
        FROM {t.occ} WHERE in_period GROUP BY pid""").fetchall():
        people[purpose[pid]] = int(n_people)
        purposes.append(PurposeSummary(
            purpose[pid], int(n_people), int(n_occ), int(n_cross + n_rework), int(n_cross),
            int(n_rework), int(affected), affected / n_people, float(hours),
            p_months.get((pid,), ()), windows[purpose[pid]]))
    key = "pid, kind, from_oid, oid"
    g_months = _months(con.execute(f"SELECT {key}, month, {_AGG} {rep} {by_month}").fetchall())
    pairs = sorted(
        (PairSummary(purpose[p], k, org[a], org[b], int(f), f / people[purpose[p]], int(n),
                     float(h), g_months.get((p, k, a, b), ()))
         for p, k, a, b, n, f, h in con.execute(f"SELECT {key}, {_AGG} {rep} GROUP BY ALL")
         .fetchall()),
        key=lambda s: (s.purpose, -s.repeats, s.kind, s.from_organisation, s.organisation))
    purposes.sort(key=lambda s: s.purpose)
    return DuplicateWork(
        period.label if period else None, window_days, tax.session_hours, tax.path,
        int(total[0][0]), sum(p.repeats for p in purposes),
        float(sum(p.hours_lost for p in purposes)),
        tuple(purposes), tuple(pairs), _findings(con, tax, t, period, people, limit))


def _findings(con: duckdb.DuckDBPyConnection, tax: Taxonomy, t: _Tables, period: Period | None,
              people: dict[str, int], limit: int) -> tuple[FindingSummary, ...]:
    counted = period.sql_range("completed") if period else "TRUE"
    inst = f"""(SELECT *, strftime(timezone('Europe/Amsterdam', completed), '%Y-%m') AS month
        FROM (SELECT finding, fid, pid, episode, any_value(completed) AS completed,
                     coalesce(sum(effort) FILTER (WHERE role = 'repeat'), 0) AS effort
              FROM {t.fnd} GROUP BY finding, fid, pid, episode)
        WHERE {counted})"""
    months = _months(con.execute(
        f"SELECT finding, month, {_AGG} FROM {inst} GROUP BY ALL ORDER BY ALL").fetchall())
    stats = {r[0]: r[1:] for r in con.execute(
        f"SELECT finding, {_AGG} FROM {inst} GROUP BY ALL").fetchall()}
    evidence: dict[str, list[Evidence]] = {}
    for fid, who, completed, ids in con.execute(f"""
        WITH first AS (
            SELECT i.*, w.foreigner FROM {inst} i JOIN {t.who} w USING (fid)
            QUALIFY row_number() OVER (PARTITION BY finding ORDER BY completed, foreigner)
                    <= {int(limit)})
        SELECT i.finding, i.foreigner,
               strftime(i.completed AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'),
               list(r.event_id ORDER BY r.ts, r.seq)
        FROM first i JOIN {t.fnd} f USING (finding, fid, pid, episode)
        JOIN {t.ev} e USING ({_OCC}) JOIN {t.raw} r USING (seq)
        GROUP BY i.finding, i.foreigner, i.completed ORDER BY i.finding, i.completed, i.foreigner
        """).fetchall():
        evidence.setdefault(fid, []).append(Evidence(who, completed, tuple(ids)))
    out = []
    for f in tax.findings:
        n_inst, n_people, hours = stats.get(f.id, (0, 0, 0.0))
        base = people.get(f.purpose, 0)
        out.append(FindingSummary(
            f.id, f.name, f.purpose, tuple(r.text() for r in f.requires), f.description, f.seed,
            int(n_people), n_people / base if base else 0.0, int(n_inst), float(hours or 0.0),
            months.get((f.id,), ()), tuple(evidence.get(f.id, []))))
    return tuple(out)
