"""Stock over time: how many foreigners are *in* each step of the chain, day by day.

A foreigner is **in a step** during one interval per occurrence of the step (the same notion as the
Little's-law check of :mod:`miner.analysis.bottlenecks`):

* **COA stay** (an activity recorded with a ``start`` and a ``complete`` event: nachtopvang, col,
  pre-pol, pol, azc, opvang spoor 2, vbl): from the start of the stay to its end. A stay without a
  recorded end ends where the foreigner's next stay starts (a person sleeps in one place); the last
  stay without an end is *open* (still running at the end of the data). A last stay that has an end
  reason (``reden_einde``) but no end date has ended at an unknown time (COA fault "missing
  update", 000:11400-11404); it is left out, because counting it as open would keep it in the stock
  for ever.
* **Waiting queue** in front of any other step: from the foreigner's previous event (the latest
  event strictly earlier in time, of any partner) to the step. Only waits that ended are known: a
  foreigner whose next step has not happened yet is not counted in front of any step.

**Stock** of a step on a day: the number of those intervals that contain the end of that day,
23:59:59 local Dutch time (after every event of the day; an interval [a, b) counts on day d when
date(a) <= d < date(b), dates in Europe/Amsterdam). This is the moment of a month-end stock figure
such as KMI+ "Bezetting COA", so the last day of a month compares with it directly.

:func:`stock` groups the stock ``by``:

* ``activity``: one key per step (exact Dutch label): waiting queues and stays as above;
* ``location``: one key per COA location (``locatie`` object of the stay), stays only;
* ``modality``: one key per COA modality (``modaliteit`` of the stay), stays only;
* ``permit_holders``: one key, the label of the housing queue of ``miner/data/queues.toml``
  (``huisvesting``): the permit holders in an azc (000:7687-7707; 11581-11588). A foreigner counts
  from the later of the start of their azc stay (the queue's ``arrival`` with lifecycle ``start``)
  and their first permit decision before the stay's end (the queue's ``waiting`` events, e.g. P08
  with ``resultaat`` = ``inwilliging``); a stay that ends in the queue's ``service`` (U02, outflow
  to a municipality) counts from its start, which covers permit holders whose decision predates
  the export. They count until the stay ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from miner.analysis._result import SCHEMA_VERSION
from miner.analysis.journey import create_journey
from miner.analysis.period import ZONE as PERIOD_ZONE
from miner.analysis.period import Period
from miner.errors import MinerError
from miner.model.filters import sql_literal
from miner.model.log import Log, first_row

BY = ("activity", "location", "modality", "permit_holders")
#: the queue of miner/data/queues.toml whose waiting foreigners are the permit holders in azc
HOUSING_QUEUE = "huisvesting"


@dataclass(frozen=True)
class StockRow:
    """The stock of one key at the end of one day (``day`` ISO date, local time)."""

    day: str
    key: str
    count: int


@dataclass(frozen=True)
class Stock:
    """Daily stock per key. ``rows`` holds only non-zero counts, ordered by day then key (a missing
    (day, key) means 0); ``first_day`` and ``last_day`` bound the days covered (ISO dates);
    ``unknown_end`` counts the COA stays left out because they ended at an unknown time."""

    by: str
    period: str | None
    first_day: str
    last_day: str
    unknown_end: int
    rows: tuple[StockRow, ...]

    def series(self, key: str) -> dict[str, int]:
        """The stock of one key by day (days without a row are 0 and left out)."""
        return {r.day: r.count for r in self.rows if r.key == key}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "stock",
            "by": self.by,
            "period": self.period,
            "first_day": self.first_day,
            "last_day": self.last_day,
            "unknown_end": self.unknown_end,
            "rows": [[r.day, r.key, r.count] for r in self.rows],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Stock:
        return cls(
            by=d["by"],
            period=d["period"],
            first_day=d["first_day"],
            last_day=d["last_day"],
            unknown_end=int(d["unknown_end"]),
            rows=tuple(StockRow(str(r[0]), str(r[1]), int(r[2])) for r in d["rows"]),
        )


def local_day_sql(column: str, first_year: int, last_year: int) -> str:
    """SQL: the local Dutch calendar day of a TIMESTAMPTZ column as a day number (days since
    1970-01-01), exact for times in ``first_year``..``last_year`` (outside: the nearest offset).

    The UTC offset comes from a CASE over the zone's transitions (found with zoneinfo): exact, and
    much cheaper than a time-zone conversion per row."""
    u = f"epoch_us({column})"
    cases = " ".join(f"WHEN {u} < {t} THEN {off}" for t, off in _transitions(first_year, last_year))
    last = _offset_us(datetime(last_year + 1, 1, 1, tzinfo=UTC))
    offset = f"CASE {cases} ELSE {last} END" if cases else str(last)
    return f"CAST(floor(({u} + {offset}) / {DAY_US}) AS BIGINT)"


DAY_US = 86_400_000_000


def _offset_us(moment: datetime) -> int:
    offset = moment.astimezone(PERIOD_ZONE).utcoffset()
    assert offset is not None
    return int(offset.total_seconds()) * 1_000_000


def _transitions(first_year: int, last_year: int) -> list[tuple[int, int]]:
    """(instant in epoch µs, UTC offset in µs that holds *before* it) for every change of the local
    UTC offset from ``first_year`` to ``last_year``."""
    out: list[tuple[int, int]] = []
    moment = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    current = _offset_us(moment)
    while moment < end:
        day_later = moment + timedelta(days=1)
        if _offset_us(day_later) != current:
            hour = moment
            while _offset_us(hour) == current:
                hour += timedelta(hours=1)
            out.append((int(hour.timestamp()) * 1_000_000, current))
            current = _offset_us(hour)
        moment = day_later
    return out


def create_intervals(log: Log, *, details: bool = True) -> None:
    """Create the temporary tables ``step_events``, ``step_waits`` and ``step_stays``.

    ``step_events`` holds the journey's rows (see :mod:`miner.analysis.journey`) with only the
    columns needed here: ``f`` (a hash of the foreigner), ``event_id`` (of a stay's start only),
    ``ts``, ``activity``, ``activity_id``, ``is_start``, ``row_key`` (a hash of the export row: a
    stay's start and end come from one row) and ``prev`` (the time of the foreigner's latest event
    strictly before ``ts``).
    ``step_waits``: one row per step event (every event with a catalogue activity except the end
    of a stay): ``f, activity, activity_id, is_stay, a`` (``prev``), ``b`` (the step's time).
    ``step_stays``: one row per COA stay: ``f, activity, activity_id, location, modality, reason,
    a`` (start), ``b`` (end; NULL while open), ``end_kind`` (``recorded``, ``next_stay``, ``open``
    or ``unknown``). Without ``details`` the stays' ``location`` and ``modality`` are NULL.

    The tables stay as a cache for the next analysis on the same connection: they are rebuilt only
    when the canonical tables changed (row counts and the last ``seq``) or when ``details`` are
    needed and missing. :func:`drop_intervals` removes them.
    """
    create_journey(log)
    con = log.con
    stamp = first_row(con.execute(
        "SELECT concat_ws('/', (SELECT count(*) FROM events), (SELECT max(seq) FROM events), "
        "(SELECT count(*) FROM event_objects), (SELECT count(*) FROM event_attributes))"))
    assert stamp is not None
    cached = _cached(log)
    if cached is not None and cached[0] == str(stamp[0]):
        if cached[1] or not details:
            return
    else:
        _create_events(log)
    _create_stays(log, details)
    con.execute("CREATE OR REPLACE TEMP TABLE step_intervals_stamp AS SELECT ? AS stamp, ? AS details",
                [str(stamp[0]), details])


def _create_events(log: Log) -> None:
    con = log.con
    con.execute("""
        CREATE OR REPLACE TEMP TABLE step_events AS
        SELECT hash(foreigner) AS f, CASE WHEN lifecycle = 'start' THEN event_id END AS event_id,
               ts, activity, activity_id, lifecycle = 'start' AS is_start,
               hash(source, source_row) AS row_key,
               max(ts) OVER (PARTITION BY foreigner ORDER BY ts RANGE BETWEEN UNBOUNDED
                             PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING) AS prev
        FROM journey
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE step_waits AS
        WITH stay_acts AS (SELECT DISTINCT activity FROM step_events WHERE is_start)
        SELECT e.f, e.activity, e.activity_id, s.activity IS NOT NULL AS is_stay,
               e.prev AS a, e.ts AS b
        FROM step_events e LEFT JOIN stay_acts s ON s.activity = e.activity
        WHERE e.prev IS NOT NULL AND e.activity_id IS NOT NULL
          AND (e.is_start OR s.activity IS NULL)
    """)


def _create_stays(log: Log, details: bool) -> None:
    log.con.execute(f"""
        CREATE OR REPLACE TEMP TABLE step_stays AS
        WITH starts AS (
            SELECT * FROM step_events WHERE is_start AND activity_id IS NOT NULL),
        ends AS (
            SELECT row_key, activity, min(ts) AS ts FROM step_events
            WHERE NOT is_start AND activity IN (SELECT DISTINCT activity FROM starts)
            GROUP BY ALL),
        attrs AS (
            SELECT event_id,
                   any_value(value_string) FILTER (WHERE name = 'modaliteit') AS modality,
                   any_value(value_string) FILTER (WHERE name = 'reden_einde') AS reason
            FROM event_attributes
            WHERE name IN ({"'modaliteit', " if details else ""}'reden_einde')
              AND event_id IN (SELECT event_id FROM starts)
            GROUP BY event_id),
        locs AS (
            SELECT event_id, min(object_id) AS location FROM event_objects
            WHERE {"" if details else "false AND "}qualifier = 'opvanglocatie'
              AND event_id IN (SELECT event_id FROM starts)
            GROUP BY event_id),
        joined AS (
            SELECT s.f, s.event_id, s.activity, s.activity_id, s.ts AS a, e.ts AS recorded_end,
                   lead(s.ts) OVER (PARTITION BY s.f ORDER BY s.ts, s.row_key) AS next_start,
                   attrs.modality, attrs.reason, locs.location
            FROM starts s
            LEFT JOIN ends e ON e.row_key = s.row_key AND e.activity = s.activity
            LEFT JOIN attrs ON attrs.event_id = s.event_id
            LEFT JOIN locs ON locs.event_id = s.event_id)
        SELECT f, event_id, activity, activity_id,
               CASE WHEN location LIKE 'locatie:%' THEN substr(location, 9) ELSE location END
                   AS location,
               modality, reason, a, coalesce(recorded_end, next_start) AS b,
               CASE WHEN recorded_end IS NOT NULL THEN 'recorded'
                    WHEN next_start IS NOT NULL THEN 'next_stay'
                    WHEN reason IS NOT NULL AND reason <> '' THEN 'unknown'
                    ELSE 'open' END AS end_kind
        FROM joined
    """)


def _cached(log: Log) -> tuple[str, bool] | None:
    """The stamp of the cached interval tables and whether their stays have details, if any."""
    present = first_row(log.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = 'step_intervals_stamp'"))
    if not present or not present[0]:
        return None
    row = first_row(log.con.execute("SELECT stamp, details FROM step_intervals_stamp"))
    return (str(row[0]), bool(row[1])) if row is not None else None


def drop_intervals(log: Log) -> None:
    """Drop the temporary tables made by :func:`create_intervals` (the cache)."""
    for table in ("step_intervals_stamp", "step_events", "step_waits", "step_stays"):
        log.con.execute(f"DROP TABLE IF EXISTS {table}")


def intervals_sql(by: str) -> str:
    """SQL of the intervals ``(key, a, b)`` in which a foreigner is *in* a key of ``by`` (after
    :func:`create_intervals`; ``b`` NULL = still open)."""
    stays = "FROM step_stays WHERE end_kind <> 'unknown'"
    if by == "activity":
        return (f"SELECT activity AS key, a, b {stays} UNION ALL "
                "SELECT activity AS key, a, b FROM step_waits WHERE NOT is_stay")
    if by == "location":
        return f"SELECT coalesce(location, '(onbekend)') AS key, a, b {stays}"
    if by == "modality":
        return f"SELECT coalesce(modality, '(onbekend)') AS key, a, b {stays}"
    if by == "permit_holders":
        return _permit_holders_sql(stays)
    raise MinerError(f"stock by {by!r}: choose one of {', '.join(BY)}")


def _permit_holders_sql(stays: str) -> str:
    """The permit holders in azc, from the housing queue of ``miner/data/queues.toml``: its
    ``waiting`` events are the permit decisions, its ``arrival`` events with lifecycle ``start``
    the azc stays, its ``service`` the outflow to a municipality."""
    from miner.analysis.queues import Condition, queue_definitions

    found = [q for q in queue_definitions() if q["name"] == HOUSING_QUEUE]
    if not found:
        raise MinerError(f"miner/data/queues.toml has no queue {HOUSING_QUEUE!r}")
    queue = found[0]
    grants = [Condition.parse(c) for c in queue["waiting"]]
    stay_ids = sorted({a for c in map(Condition.parse, queue["arrival"])
                       if c.lifecycle == "start" for a in c.activity})
    exit_ids = sorted({a for c in map(Condition.parse, queue["service"]) for a in c.activity})
    pairs = sorted({p for c in grants for p in c.pairs()})
    flags = {pair: f"p{i}" for i, pair in enumerate(pairs)}
    joins = " ".join(
        f"LEFT JOIN (SELECT event_id, true AS hit FROM event_attributes WHERE name = "
        f"{sql_literal(name)} AND value_string = {sql_literal(value)}) a{i} "
        f"ON a{i}.event_id = j.event_id" for i, (name, value) in enumerate(pairs))
    columns = "".join(f", coalesce(a{i}.hit, false) AS p{i}" for i in range(len(pairs)))
    decided = " OR ".join(c.sql(flags) for c in grants) or "false"
    grant_ids = sorted({a for c in grants for a in c.activity})
    only = f"WHERE j.activity_id IN ({_ids(grant_ids)})" if all(c.activity for c in grants) else ""
    return f"""
        WITH marked AS (
            SELECT hash(j.foreigner) AS f, j.ts, j.activity_id, j.source{columns}
            FROM journey j {joins} {only}),
        grants AS (SELECT f, ts FROM marked WHERE {decided}),
        exits AS (SELECT f, b AS ts FROM step_waits WHERE activity_id IN ({_ids(exit_ids)})),
        azc AS (SELECT * {stays} AND activity_id IN ({_ids(stay_ids)})),
        held AS (
            SELECT azc.event_id, any_value(azc.f) AS f, any_value(azc.a) AS a,
                   any_value(azc.b) AS b, min(g.ts) AS granted
            FROM azc LEFT JOIN grants g ON g.f = azc.f AND (azc.b IS NULL OR g.ts < azc.b)
            GROUP BY azc.event_id)
        SELECT {sql_literal(queue["label"])} AS key, greatest(a, coalesce(granted, a)) AS a, b
        FROM held
        WHERE granted IS NOT NULL
           OR EXISTS (SELECT 1 FROM exits x WHERE x.f = held.f AND x.ts = held.b)"""


def _ids(ids: list[str]) -> str:
    return ", ".join(map(sql_literal, ids)) or "NULL"


@dataclass(frozen=True)
class Span:
    """The time window of an analysis: ``lo``/``hi`` the period's bounds (or the first and last
    event of the journey), ``first_day``/``last_day`` its local days, ``day_sql`` turns a
    TIMESTAMPTZ column into a local day number (see :func:`local_day_sql`)."""

    lo: datetime
    hi: datetime
    first_day: date
    last_day: date
    years: tuple[int, int]

    @property
    def days(self) -> float:
        return (self.hi - self.lo).total_seconds() / 86400

    def day_sql(self, column: str) -> str:
        return local_day_sql(column, *self.years)


EPOCH = date(1970, 1, 1)


def span(log: Log, period: Period | None) -> Span:
    """The window of ``period``, or of the events in ``step_events`` (after :func:`create_intervals`)."""
    row = first_row(log.con.execute("SELECT min(ts), max(ts) FROM step_events"))
    if row is None or row[0] is None:
        raise MinerError(
            "no event of the journey is a step (none carries an activity of the catalogue); map "
            "the log's labels in [activities] of a log profile or read it as a generic log "
            "([catalogue] use = \"none\"); see docs/bring-your-own-log.md")
    first_ts, last_ts = (t.astimezone(PERIOD_ZONE) for t in row)
    if period is not None:
        # days outside the period are only compared with its bounds: a year's margin is exact
        return Span(period.start_utc, period.end_utc, period.start,
                    date.fromordinal(period.end.toordinal() - 1),
                    (period.start.year - 1, period.end.year))
    return Span(first_ts, last_ts + timedelta(microseconds=1), first_ts.date(), last_ts.date(),
                (first_ts.year - 1, last_ts.year + 1))


def stock(
    log: Log,
    *,
    period: Period | None = None,
    by: Literal["activity", "location", "modality", "permit_holders"] = "activity",
) -> Stock:
    """The number of foreigners in each step (``by='activity'``), COA location, COA modality or the
    permit holders in azc, at the end of every day of ``period`` (default: every day of the log).

    Example:
        >>> s = stock(log, period=Period.parse("2021"), by="modality")  # doctest: +SKIP
        >>> s.series("pre-pol")["2021-12-31"]  # doctest: +SKIP
        547
    """
    if by not in BY:
        raise MinerError(f"stock by {by!r}: choose one of {', '.join(BY)}")
    create_intervals(log, details=by in ("location", "modality"))
    w = span(log, period)
    first, last = (d.toordinal() - EPOCH.toordinal() for d in (w.first_day, w.last_day))
    unknown = first_row(log.con.execute(
        "SELECT count(*) FROM step_stays WHERE end_kind = 'unknown'"))
    rows = log.con.execute(f"""
        WITH iv AS ({intervals_sql(by)}),
        deltas AS (
            SELECT key, {w.day_sql('a')} AS day, 1 AS delta FROM iv
            UNION ALL
            SELECT key, {w.day_sql('b')} AS day, -1 AS delta FROM iv WHERE b IS NOT NULL),
        clamped AS (
            SELECT key, greatest(day, {first}) AS day, sum(delta) AS delta FROM deltas
            WHERE day <= {last} GROUP BY ALL),
        keys AS (SELECT DISTINCT key FROM clamped),
        grid AS (
            SELECT k.key, d.day, coalesce(c.delta, 0) AS delta
            FROM keys k CROSS JOIN range({first}, {last} + 1) d(day)
            LEFT JOIN clamped c ON c.key = k.key AND c.day = d.day),
        counted AS (
            SELECT day, key, sum(delta) OVER (PARTITION BY key ORDER BY day) AS n FROM grid)
        SELECT strftime(DATE '1970-01-01' + CAST(day AS INTEGER), '%Y-%m-%d'), key,
               CAST(n AS BIGINT)
        FROM counted WHERE n <> 0 ORDER BY day, key
    """).fetchall()
    return Stock(
        by=by,
        period=period.label if period is not None else None,
        first_day=w.first_day.isoformat(),
        last_day=w.last_day.isoformat(),
        unknown_end=int(unknown[0]) if unknown else 0,
        rows=tuple(StockRow(d, k, int(n)) for d, k, n in rows),
    )
