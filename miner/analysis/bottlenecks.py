"""Bottlenecks: where the foreigners of the chain wait, how much of their lead time that costs, and
whether the queues in front of the steps grow (000:11285-11641, section 4 of the chain reference).

Terms (times in days; "in the period" = within ``[period start, period end)``, local Dutch time;
without a period, from the first to the last event of the journey):

* **Step**: an activity of the catalogue (exact Dutch label). Events of unmapped partner codes are
  not steps, but they are events (they end the wait of nobody and start the wait of the next step).
* **Waiting time before a step**: for one occurrence of the step, the time from the foreigner's
  previous event (the latest of their events strictly earlier in time, of any partner) to the
  step. Simultaneous events are not each other's previous event: the end of a COA stay and the
  start of the next one, or the azc stay's end and the outflow to a municipality (U02), share one
  moment. For a COA stay the step is its start; the end of a stay is not a step.
* **Stay time** (service time): for a COA stay (an activity with a start and a complete event), the
  time from its start to its end (see :mod:`miner.analysis.stock` for ends that are not recorded).
* **Lead time** of a foreigner: the time from their first to their last event, the part in the
  period. The sum of a foreigner's waiting times over all steps is close to it, not equal: a
  stretch that ends only in the end of a stay belongs to no step, and a stretch that ends in two
  steps at one moment (say the azc intake recorded at the moment of the decision) counts for both.
* **Waiting days of a step** (``wait_days``): the sum, over all its occurrences, of the part of
  the waiting time that lies in the period; **share of lead time**: ``wait_days`` divided by the
  sum of all foreigners' lead times in the period. The **ranking** orders the steps by
  ``wait_days``, largest first: the steps where the chain's foreigners spend most of their time
  waiting.
* **In the step** (for the weekly flows and Little's law): a COA stay from its start to its end; any
  other step from the previous event to the step (its waiting queue). Only queues that ended are
  known (the next step of a foreigner who is still waiting has not happened yet).
* **Arrivals** and **completions** of a step in an ISO week (local time): intervals *in the step*
  that start, and that end, in that week; **net** = arrivals - completions (queue growth).
* **Little's law** (L = λW) per step: **L**, the mean number in the step over the period (the
  in-period length of all intervals divided by the period's length; open stays run to the end of
  the period); **λ**, completions per day in the period; **W**, the mean full length of the
  intervals that end in the period; **ratio** = L / (λW). It is close to 1 for a step in a steady
  state whose W is short compared with the period; a queue that grows or shrinks over the period,
  or that began before it, does not satisfy it.
* **Capacity view** (:class:`CapacityStep`), per step, over the local days of the period: a step's
  *completions* on a day are its occurrences that day (the ends of its waits); an *active day* is a
  day with at least one (a step done on working days only has about 250, one recorded in a weekly
  batch about 52). The **ceiling per day** is the 95th percentile of the completions on active days
  (a robust maximum); **at the ceiling**: an active day with completions >= 95 % of it. The
  **queue** on a day is the waiting stock in front of the step at the end of the day (the waits
  ``[a, b)`` with ``date(a) <= day < date(b)``, as :func:`miner.analysis.stock.stock`): work left
  over after the day's completions. A step is **capacity-bound** when, on its active days, the
  median completions reach 90 % of the ceiling (a typical day runs at the ceiling) **and** work is
  left waiting at the end of at least half of them. A demand-driven step fails the first test (its
  completions vary with arrivals, so the median lies well below the 95th percentile unless the
  volume is a few hundred a day), a step merely paced by a capacity before it (the I&R steps after
  A02) fails the second (nobody waits for it). The **ceiling per week** is the daily ceiling times
  the median number of active days in the weeks wholly inside the period: the weekly capacity the
  daily ceiling implies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from miner.analysis._result import SCHEMA_VERSION
from miner.analysis.period import Period
from miner.analysis.stock import DAY_US, EPOCH, Span, create_intervals, span
from miner.model.log import Log, first_row


@dataclass(frozen=True)
class StepWait:
    """One step: its rank by waiting days, its waiting times (waits ending in the period) and, for a
    COA stay, its stay times (stays ending in the period) and the stays still open at its end."""

    activity: str
    activity_id: str
    rank: int
    waits: int
    wait_median_days: float | None
    wait_p90_days: float | None
    wait_mean_days: float | None
    wait_days: float
    share_of_lead_time: float
    stays: int
    stay_median_days: float | None
    stay_p90_days: float | None
    stay_mean_days: float | None
    open_stays: int


@dataclass(frozen=True)
class WeekFlow:
    """Arrivals into and completions of one step in one ISO week (``2021-W07``)."""

    week: str
    activity: str
    arrivals: int
    completions: int

    @property
    def net(self) -> int:
        return self.arrivals - self.completions


@dataclass(frozen=True)
class LittleCheck:
    """Little's law for one step: ``interval`` is ``stay`` (COA stay) or ``wait`` (its queue)."""

    activity: str
    interval: str
    stock: float
    throughput_per_day: float
    mean_days: float | None
    throughput_x_mean: float | None
    ratio: float | None


@dataclass(frozen=True)
class CapacityStep:
    """The capacity view of one step (module docstring): ``rank`` is its rank by waiting days
    (:attr:`Bottlenecks.steps`); ``active_days`` the days with a completion; ``ceiling_per_day``
    and ``median_per_day`` over those; ``share_of_days_at_ceiling`` of them;
    ``days_with_queue_share``: the share of them with work left waiting at the day's end;
    ``ceiling_per_week`` the weekly capacity the daily ceiling implies; ``median_per_week`` the
    median completions of the weeks wholly in the period; ``bound``: capacity-bound."""

    activity: str
    activity_id: str
    rank: int
    active_days: int
    ceiling_per_day: float
    median_per_day: float
    share_of_days_at_ceiling: float
    days_with_queue_share: float
    ceiling_per_week: float
    median_per_week: float | None
    bound: bool


#: capacity-bound: median completions on active days >= this share of the ceiling ...
BOUND_MEDIAN_SHARE = 0.9
#: ... and work waiting at the end of at least this share of the active days
BOUND_QUEUE_SHARE = 0.5
#: a day is at the ceiling when its completions reach this share of it
AT_CEILING = 0.95


@dataclass(frozen=True)
class Bottlenecks:
    """Waiting per step, ranked (``steps``, rank 1 first), weekly flows and Little's-law checks.

    ``lead_time_days`` is the sum of the foreigners' lead times in the period (``foreigners`` of
    them have events in it); ``period_days`` its length."""

    period: str | None
    period_days: float
    foreigners: int
    lead_time_days: float
    steps: tuple[StepWait, ...]
    weekly: tuple[WeekFlow, ...]
    little: tuple[LittleCheck, ...]
    capacity: tuple[CapacityStep, ...] = ()

    @property
    def ranking(self) -> tuple[str, ...]:
        """The steps' labels by waiting days, largest first."""
        return tuple(s.activity for s in self.steps)

    def step(self, activity_or_id: str) -> StepWait:
        """One step by label or catalogue id."""
        for s in self.steps:
            if activity_or_id in (s.activity, s.activity_id):
                return s
        raise KeyError(activity_or_id)

    def capacity_of(self, activity_or_id: str) -> CapacityStep:
        """The capacity view of one step by label or catalogue id."""
        for c in self.capacity:
            if activity_or_id in (c.activity, c.activity_id):
                return c
        raise KeyError(activity_or_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "bottlenecks",
            "period": self.period,
            "period_days": self.period_days,
            "foreigners": self.foreigners,
            "lead_time_days": self.lead_time_days,
            "steps": [asdict(s) for s in self.steps],
            "weekly": [[w.week, w.activity, w.arrivals, w.completions] for w in self.weekly],
            "little": [asdict(c) for c in self.little],
            "capacity": [asdict(c) for c in self.capacity],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Bottlenecks:
        return cls(
            period=d["period"],
            period_days=float(d["period_days"]),
            foreigners=int(d["foreigners"]),
            lead_time_days=float(d["lead_time_days"]),
            steps=tuple(StepWait(**s) for s in d["steps"]),
            weekly=tuple(WeekFlow(str(w[0]), str(w[1]), int(w[2]), int(w[3]))
                         for w in d["weekly"]),
            little=tuple(LittleCheck(**c) for c in d["little"]),
            capacity=tuple(CapacityStep(**c) for c in d.get("capacity", ())),
        )


def _us(a: str, b: str) -> str:
    """SQL: the time from ``a`` to ``b`` (TIMESTAMPTZ) in microseconds. Sums stay integers, so the
    result does not depend on the order in which threads add them up."""
    return f"(epoch_us({b}) - epoch_us({a}))"


def _days(microseconds: Any) -> float | None:
    return None if microseconds is None else float(microseconds) / DAY_US


def bottlenecks(log: Log, *, period: Period | None = None) -> Bottlenecks:
    """Waiting time before every step, the steps ranked by the waiting days they add to the lead
    time, weekly arrivals and completions per step, and Little's law per step (definitions in the
    module docstring).

    Example:
        >>> b = bottlenecks(log, period=Period.parse("2021"))  # doctest: +SKIP
        >>> b.ranking[:2]  # doctest: +SKIP
        ('Uitstroom bij inwilliging (Extern: gemeenten)', 'Bepalen start AA, plannen medewerker en tolken')
    """
    create_intervals(log, details=False)
    return _compute(log, period)


def _compute(log: Log, period: Period | None) -> Bottlenecks:
    con = log.con
    w = span(log, period)
    lo, hi = w.lo.isoformat(), w.hi.isoformat()
    bounds = f"'{lo}'::TIMESTAMPTZ AS lo, '{hi}'::TIMESTAMPTZ AS hi"
    clip = f"greatest(0, {_us('greatest(a, lo)', 'least(coalesce(b, hi), hi)')})"
    ended = "b >= lo AND b < hi"
    lead = first_row(con.execute(f"""
        WITH p AS (SELECT {bounds}), f AS (SELECT f, min(ts) AS a, max(ts) AS b FROM step_events
                                           GROUP BY f)
        SELECT count(*) FILTER (WHERE a < hi AND b >= lo), coalesce(sum({clip}), 0) FROM f, p
    """))
    assert lead is not None
    foreigners, lead_days = int(lead[0]), int(lead[1]) / DAY_US
    waits = con.execute(f"""
        WITH p AS (SELECT {bounds}),
        x AS (SELECT activity, any_value(activity_id) AS activity_id,
                     count(*) FILTER (WHERE {ended}) AS n,
                     median({_us('a', 'b')}) FILTER (WHERE {ended}) AS med,
                     quantile_cont({_us('a', 'b')}, 0.9) FILTER (WHERE {ended}) AS p90,
                     sum({_us('a', 'b')}) FILTER (WHERE {ended}) AS total,
                     coalesce(sum({clip}) FILTER (WHERE b > lo AND a < hi), 0) AS in_period
              FROM step_waits, p GROUP BY activity)
        SELECT * FROM x WHERE n > 0 OR in_period > 0 ORDER BY in_period DESC, activity
    """).fetchall()
    stays = {r[0]: r[1:] for r in con.execute(f"""
        WITH p AS (SELECT {bounds})
        SELECT activity, count(*) FILTER (WHERE {ended}),
               median({_us('a', 'b')}) FILTER (WHERE {ended}),
               quantile_cont({_us('a', 'b')}, 0.9) FILTER (WHERE {ended}),
               sum({_us('a', 'b')}) FILTER (WHERE {ended}),
               count(*) FILTER (WHERE a < hi AND (b IS NULL OR b >= hi))
        FROM step_stays, p WHERE end_kind <> 'unknown' GROUP BY activity
    """).fetchall()}
    steps = []
    for rank, (act, act_id, n, med, p90, total, in_period) in enumerate(waits, start=1):
        s = stays.get(act, (0, None, None, None, 0))
        wait_days = int(in_period) / DAY_US
        steps.append(StepWait(
            activity=act, activity_id=act_id, rank=rank, waits=int(n),
            wait_median_days=_days(med), wait_p90_days=_days(p90),
            wait_mean_days=_days(int(total) / int(n)) if n else None,
            wait_days=wait_days,
            share_of_lead_time=wait_days / lead_days if lead_days else 0.0,
            stays=int(s[0]), stay_median_days=_days(s[1]), stay_p90_days=_days(s[2]),
            stay_mean_days=_days(int(s[3]) / int(s[0])) if s[0] else None,
            open_stays=int(s[4])))
    in_step = """
        SELECT activity, a, b, 'stay' AS interval FROM step_stays WHERE end_kind <> 'unknown'
        UNION ALL SELECT activity, a, b, 'wait' AS interval FROM step_waits WHERE NOT is_stay"""
    weekly = con.execute(f"""
        WITH p AS (SELECT {bounds}), iv AS ({in_step}),
        ends AS (
            SELECT activity, {w.day_sql('a')} AS day, 1 AS arrivals, 0 AS completions
            FROM iv, p WHERE a >= lo AND a < hi
            UNION ALL
            SELECT activity, {w.day_sql('b')} AS day, 0, 1 FROM iv, p WHERE {ended}),
        daily AS (SELECT activity, day, sum(arrivals) AS arr, sum(completions) AS comp
                  FROM ends GROUP BY ALL)
        SELECT strftime(DATE '1970-01-01' + CAST(day AS INTEGER), '%G-W%V') AS week, activity,
               CAST(sum(arr) AS BIGINT), CAST(sum(comp) AS BIGINT)
        FROM daily GROUP BY ALL ORDER BY week, activity
    """).fetchall()
    little = []
    for act, kind, inside, done, total in con.execute(f"""
        WITH p AS (SELECT {bounds}), iv AS ({in_step})
        SELECT activity, interval,
               coalesce(sum({clip}) FILTER (WHERE a < hi AND (b IS NULL OR b > lo)), 0),
               count(*) FILTER (WHERE {ended}), sum({_us('a', 'b')}) FILTER (WHERE {ended})
        FROM iv, p GROUP BY ALL ORDER BY activity, interval
    """).fetchall():
        stock = int(inside) / DAY_US / w.days
        rate = int(done) / w.days
        mean = _days(int(total) / int(done)) if done else None
        lw = rate * mean if mean is not None else None
        little.append(LittleCheck(
            activity=act, interval=kind, stock=stock, throughput_per_day=rate, mean_days=mean,
            throughput_x_mean=lw, ratio=stock / lw if lw else None))
    return Bottlenecks(
        period=period.label if period is not None else None,
        period_days=w.days,
        foreigners=foreigners,
        lead_time_days=lead_days,
        steps=tuple(steps),
        weekly=tuple(WeekFlow(str(k), str(a), int(x), int(y)) for k, a, x, y in weekly),
        little=tuple(little),
        capacity=_capacity(log, w, {s.activity: s.rank for s in steps}),
    )


def _capacity(log: Log, w: Span, ranks: dict[str, int]) -> tuple[CapacityStep, ...]:
    """The capacity view of every step with a completion in the window (module docstring)."""
    first, last = (d.toordinal() - EPOCH.toordinal() for d in (w.first_day, w.last_day))
    rows = log.con.execute(f"""
        WITH iv AS (SELECT activity, any_value(activity_id) OVER (PARTITION BY activity) AS id,
                           {w.day_sql('a')} AS da, {w.day_sql('b')} AS db FROM step_waits),
        deltas AS (
            SELECT activity, id, da AS day, 1 AS delta, 0 AS done FROM iv
            UNION ALL SELECT activity, id, db, -1, 1 FROM iv),
        clamped AS (
            SELECT activity, id, greatest(day, {first}) AS day, sum(delta) AS delta,
                   sum(done) FILTER (WHERE day >= {first}) AS done
            FROM deltas WHERE day <= {last} GROUP BY ALL),
        grid AS (
            SELECT k.activity, k.id, d.day, coalesce(c.delta, 0) AS delta,
                   coalesce(c.done, 0) AS done
            FROM (SELECT DISTINCT activity, id FROM clamped) k
            CROSS JOIN range({first}, {last} + 1) d(day)
            LEFT JOIN clamped c ON c.activity = k.activity AND c.day = d.day),
        counted AS (
            SELECT activity, id, day, done,
                   sum(delta) OVER (PARTITION BY activity ORDER BY day) AS queue FROM grid)
        SELECT activity, any_value(id), list(done ORDER BY day), list(queue ORDER BY day)
        FROM counted GROUP BY activity HAVING sum(done) > 0 ORDER BY activity
    """).fetchall()
    # ISO weeks wholly inside the window: seven consecutive days from a Monday (day 0 = Thursday)
    monday = first + (-(first + 3)) % 7
    weeks = [(s - first, s - first + 7) for s in range(monday, last - 5, 7)]
    out = []
    for activity, activity_id, done, queue in rows:
        active = [(int(n), int(q)) for n, q in zip(done, queue) if n > 0]
        counts = sorted(n for n, _ in active)
        ceiling = _quantile(counts, 0.95)
        median = _quantile(counts, 0.5)
        per_week = [sum(int(n) for n in done[a:b]) for a, b in weeks]
        active_per_week = [sum(1 for n in done[a:b] if n > 0) for a, b in weeks]
        queued = sum(1 for _, q in active if q > 0) / len(active)
        out.append(CapacityStep(
            activity=activity, activity_id=activity_id, rank=ranks.get(activity, 0),
            active_days=len(active), ceiling_per_day=ceiling, median_per_day=median,
            share_of_days_at_ceiling=sum(1 for n in counts if n >= AT_CEILING * ceiling)
            / len(counts),
            days_with_queue_share=queued,
            ceiling_per_week=ceiling * (_quantile(sorted(active_per_week), 0.5)
                                        if weeks else 7.0),
            median_per_week=_quantile(sorted(per_week), 0.5) if weeks else None,
            bound=median >= BOUND_MEDIAN_SHARE * ceiling and queued >= BOUND_QUEUE_SHARE))
    return tuple(sorted(out, key=lambda c: (c.rank or len(ranks) + 1, c.activity)))


def _quantile(ordered: list[int], q: float) -> float:
    """The ``q`` quantile of sorted numbers, linear interpolation (numpy's default)."""
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))
