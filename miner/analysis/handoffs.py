"""Hand-offs: how a foreigner's journey passes from one organisation to another.

Terms (all on the ``journey`` view, :mod:`miner.analysis.journey`):

* A foreigner's events are ordered by time ``ts`` and, for equal times, by read order ``seq``. Two
  neighbours in that order form a *consecutive pair*; the later event is the *receiving* event.
* A *hand-off* A → B is a consecutive pair whose first event was performed by organisation A and
  the second by organisation B ≠ A (``organisation`` column: the performing organisation, never an
  employee). A pair within one organisation is a *continuation*.
* *Transfer latency*: the time between the two events of a hand-off (seconds).
* *Ping-pong* A → B → A: a hand-off B → A that directly follows, among that foreigner's hand-offs,
  a hand-off A → B: the journey went to B and came straight back to A (the events of B in between
  may be many; a continuation in A before leaving does not matter).
* *Lead time* of a foreigner: the time from their first to their last event, i.e. the sum of their
  consecutive pairs' gaps. *Share between organisations*: the sum of hand-off latencies over the sum
  of lead times.
* *Wait attribution*: a hand-off's latency is attributed to the **receiving** organisation B: the
  journey waits until B acts (DT&V taking up the dossier, COA taking the foreigner in), so the wait
  is B's intake time. The sending organisation's own last step is already over when the wait starts.
* *Phase* of a pair: the phase of its receiving event (``miner/data/phases.toml``: aanmeldfase, RVT,
  AA, VA, beroep, uitstroom, vertrek; ``None`` for an unmapped partner code).
* With a *period*, a pair (and so a hand-off, its latency and a ping-pong) counts in the period of
  its receiving event; its first event may lie before. The foreigners counted are those with an
  event in the period, and the lead time is the sum of the gaps of the pairs counted. Restricting to
  a *phase* works the same way: the pairs whose receiving event lies in that phase, the foreigners
  with an event in it.

Events without an organisation are left out of the sequence (counted in
``events_without_organisation``). The counts equal pm4py's handover-of-work network (beta = 0,
resource = organisation), which divides every count, continuations included, by the number of
consecutive pairs (:meth:`Handoffs.handover_of_work`).
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, fields
from functools import cache
from importlib import resources
from typing import Any

import duckdb

from miner.analysis._result import SCHEMA_VERSION
from miner.analysis.journey import create_journey
from miner.analysis.period import Period
from miner.catalogue import chain_catalogue
from miner.errors import MinerError, UnknownNameError
from miner.model.filters import sql_literal
from miner.model.log import Log, first_row

KIND = "handoffs"
HANDOVER_KIND = "handover_of_work"
_PAIRS = "_miner_handoff_pairs"
_HANDOFFS = "_miner_handoffs"


@cache
def journey_phases() -> tuple[tuple[str, ...], dict[str, str]]:
    """The phase keys in journey order and the phase of every catalogue activity id
    (``miner/data/phases.toml``)."""
    text = (resources.files("miner") / "data" / "phases.toml").read_text("utf-8")
    phases = tomllib.loads(text)["phase"]
    catalogue = chain_catalogue()
    by_catalogue_phase = {p: ph["key"] for ph in phases for p in ph["catalogue_phases"]}
    by_id = {a: ph["key"] for ph in phases for a in ph["activities"]}
    unknown = sorted(set(by_id) - set(catalogue))
    if unknown:
        raise MinerError(f"phases.toml names activities not in the catalogue: {', '.join(unknown)}")
    mapping: dict[str, str] = {}
    for activity in catalogue.values():
        phase = by_id.get(activity.id) or by_catalogue_phase.get(activity.phase)
        if phase is None:
            raise MinerError(f"phases.toml gives no phase for {activity.id} ({activity.phase})")
        mapping[activity.id] = phase
    return tuple(ph["key"] for ph in phases), mapping


@dataclass(frozen=True)
class Transfer:
    """One cell A → B of the hand-off matrix: number of hand-offs, foreigners with at least one,
    and the transfer latency (seconds: median and 90th percentile interpolated linearly, mean,
    total)."""

    source: str
    target: str
    handoffs: int
    foreigners: int
    median_s: float
    p90_s: float
    mean_s: float
    total_s: float


@dataclass(frozen=True)
class Continuation:
    """Consecutive pairs within one organisation (the matrix's diagonal)."""

    organisation: str
    pairs: int


@dataclass(frozen=True)
class PingPong:
    """Ping-pongs ``origin`` → ``via`` → ``origin``: how often, and for how many foreigners."""

    origin: str
    via: str
    count: int
    foreigners: int


@dataclass(frozen=True)
class Wait:
    """Hand-off latency attributed to the receiving ``organisation``: its hand-offs, their total
    latency (seconds), and that total as a share of all hand-off latency and of the lead time."""

    organisation: str
    handoffs: int
    total_s: float
    share_of_handoff_time: float | None
    share_of_lead_time: float | None


@dataclass(frozen=True)
class PerForeigner:
    """Distribution of the number of hand-offs per foreigner (foreigners without any count as 0)."""

    foreigners: int
    mean: float | None
    median: float | None
    p90: float | None
    max: int | None


@dataclass(frozen=True)
class PhaseHandoffs:
    """The hand-offs whose receiving event lies in one phase (``None``: unmapped activities)."""

    phase: str | None
    pairs: int
    handoffs: int
    foreigners: int
    median_s: float | None
    p90_s: float | None
    mean_s: float | None
    handoff_time_s: float
    time_s: float
    handoff_share: float | None
    ping_pongs: int
    matrix: tuple[Transfer, ...]
    waits: tuple[Wait, ...]


@dataclass(frozen=True)
class Handoffs:
    """Hand-offs between organisations in the foreigners' journeys (see the module docstring).

    ``period``/``phase``: the scope asked for (None: all); ``events``/``foreigners``: events with an
    organisation in scope and their foreigners; ``pairs``: consecutive pairs; ``handoffs``: those between
    organisations; ``matrix``: per organisation pair, most hand-offs first; ``continuations``: pairs
    within one organisation; ``ping_pongs``/``ping_pong_foreigners``/``ping_pong``: A → B → A in
    total, foreigners with one, per (A, B); ``per_foreigner``: hand-offs per foreigner;
    ``lead_time_s``, ``handoff_time_s`` and ``handoff_share`` (= their ratio); ``waits``: latency by
    receiving organisation; ``phases``: the same per journey phase.
    """

    period: str | None
    phase: str | None
    events: int
    foreigners: int
    events_without_organisation: int
    pairs: int
    handoffs: int
    matrix: tuple[Transfer, ...]
    continuations: tuple[Continuation, ...]
    ping_pongs: int
    ping_pong_foreigners: int
    ping_pong: tuple[PingPong, ...]
    per_foreigner: PerForeigner
    lead_time_s: float
    handoff_time_s: float
    handoff_share: float | None
    waits: tuple[Wait, ...]
    phases: tuple[PhaseHandoffs, ...]

    def handover_of_work(self) -> dict[tuple[str, str], float]:
        """The handover-of-work metric (van der Aalst's SNA, beta = 0, as pm4py computes it): every
        consecutive pair A → B, continuations A → A included, divided by the number of pairs."""
        if not self.pairs:
            return {}
        found = {(t.source, t.target): t.handoffs / self.pairs for t in self.matrix}
        found.update({(c.organisation, c.organisation): c.pairs / self.pairs
                      for c in self.continuations})
        return found

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": KIND, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Handoffs:
        if d.get("kind") != KIND or d.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"not a {KIND} result of schema version {SCHEMA_VERSION}")
        phases = tuple(
            PhaseHandoffs(**{**p, "matrix": _rows(Transfer, p["matrix"]),
                             "waits": _rows(Wait, p["waits"])})
            for p in d["phases"])
        names = {f.name for f in fields(cls)}
        plain = {k: v for k, v in d.items() if k in names}
        return cls(**{
            **plain,
            "matrix": _rows(Transfer, d["matrix"]),
            "continuations": _rows(Continuation, d["continuations"]),
            "ping_pong": _rows(PingPong, d["ping_pong"]),
            "per_foreigner": PerForeigner(**d["per_foreigner"]),
            "waits": _rows(Wait, d["waits"]),
            "phases": phases,
        })


@dataclass(frozen=True)
class HandoverOfWork:
    """The handover-of-work network alone (van der Aalst's social-network metric with beta = 0, as
    pm4py's ``discover_handover_of_work_network`` computes it, resource = organisation).

    ``counts``: for every ordered pair of organisations (A, B), A = B included, the consecutive pairs
    from A to B, most first; ``pairs``: all consecutive pairs in scope (by receiving event, as in
    :func:`handoffs`). :meth:`network` gives each count as a share of ``pairs``.
    """

    period: str | None
    pairs: int
    counts: tuple[tuple[str, str, int], ...]

    def network(self) -> dict[tuple[str, str], float]:
        """Share of the consecutive pairs per (A, B): pm4py's ``connections``."""
        return {(a, b): n / self.pairs for a, b, n in self.counts} if self.pairs else {}

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": HANDOVER_KIND, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HandoverOfWork:
        if d.get("kind") != HANDOVER_KIND or d.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"not a {HANDOVER_KIND} result of schema version {SCHEMA_VERSION}")
        return cls(d["period"], int(d["pairs"]), tuple((a, b, int(n)) for a, b, n in d["counts"]))


def handover_of_work(log: Log, *, period: Period | None = None) -> HandoverOfWork:
    """The handover-of-work network of ``log``'s foreigners, counted in ``period`` by receiving
    event (None: all): one group-by over the journey's consecutive pairs. :func:`handoffs` gives the
    same counts with latencies, ping-pongs and phases."""
    create_journey(log)
    scope = period.sql_range("ts") if period is not None else "TRUE"
    counts = tuple((str(a), str(b), int(n)) for a, b, n in log.con.execute(f"""
        SELECT previous_organisation, organisation, count(*) AS n FROM journey
        WHERE previous_organisation IS NOT NULL AND {scope}
        GROUP BY ALL ORDER BY n DESC, 1, 2""").fetchall())
    return HandoverOfWork(period.label if period is not None else None,
                          sum(n for _, _, n in counts), counts)


def _rows(cls: Any, items: list[dict[str, Any]]) -> tuple[Any, ...]:
    return tuple(cls(**item) for item in items)


def handoffs(log: Log, *, period: Period | None = None, phase: str | None = None) -> Handoffs:
    """Hand-offs between organisations in the journeys of ``log``'s foreigners, counted in
    ``period`` and ``phase`` (one of :func:`journey_phases`) by receiving event; None: all. See the
    module docstring.

    Raises:
        UnknownNameError: ``phase`` is not one of the seven phases.
    """
    order, phase_of = journey_phases()
    if phase is not None and phase not in order:
        raise UnknownNameError("phase", phase, order)
    con = log.con
    create_journey(log)
    phase_values = ", ".join(f"({sql_literal(a)}, {sql_literal(p)})" for a, p in phase_of.items())
    setting = first_row(con.execute("SELECT current_setting('preserve_insertion_order')"))
    # The pairs table is scratch: its row order does not matter, and keeping it costs a third.
    con.execute("SET preserve_insertion_order = false")
    try:
        # The consecutive pairs come with the journey (previous_organisation, previous_gap_us).
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {_PAIRS} AS
            SELECT j.foreigner, j.ts, j.seq, p.phase, j.organisation AS target,
                   j.previous_organisation AS source, j.previous_gap_us AS gap_us
            FROM journey j
            LEFT JOIN (VALUES {phase_values}) p(activity_id, phase) USING (activity_id)""")
        scope = " AND ".join([
            period.sql_range("ts") if period is not None else "TRUE",
            f"phase = {sql_literal(phase)}" if phase is not None else "TRUE"])
        shown = order if phase is None else (phase,)
        return _summarise(con, scope, period, phase, shown)
    finally:
        for scratch in (_PAIRS, _HANDOFFS):
            con.execute(f"DROP TABLE IF EXISTS {scratch}")
        if setting is not None:
            con.execute(f"SET preserve_insertion_order = {bool(setting[0])}")


def _summarise(con: duckdb.DuckDBPyConnection, scope: str, period: Period | None,
               phase_asked: str | None, order: tuple[str, ...]) -> Handoffs:
    def rows(sql: str) -> list[tuple[Any, ...]]:
        return con.execute(sql).fetchall()

    in_scope = f"(SELECT * FROM {_PAIRS} WHERE target IS NOT NULL AND {scope})"
    totals = first_row(con.execute(f"""
        SELECT count(*) FILTER (WHERE target IS NOT NULL),
               count(DISTINCT foreigner) FILTER (WHERE target IS NOT NULL),
               count(*) FILTER (WHERE target IS NULL)
        FROM {_PAIRS} WHERE {scope}"""))
    assert totals is not None
    events, foreigners, without = (int(v) for v in totals)
    # The hand-offs, each marked when it is the return leg of a ping-pong: its previous hand-off (of
    # all, in scope or not) came from the organisation it now goes back to. Ping-pong A → B → A
    # sits in cell (source B, target A).
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_HANDOFFS} AS
        SELECT foreigner, ts, phase, source, target, gap_us,
               coalesce(lag(source) OVER (PARTITION BY foreigner ORDER BY ts, seq) = target, false)
                   AS back
        FROM {_PAIRS} WHERE source <> target""")
    levels = "GROUPING SETS ((source, target), (phase, source, target), (phase), ())"
    stats = rows(f"""
        SELECT phase, source, target, count(*), quantile_cont(gap_us, 0.5) / 1e6,
               quantile_cont(gap_us, 0.9) / 1e6, avg(gap_us) / 1e6, sum(gap_us),
               count(*) FILTER (WHERE back), GROUPING(phase), GROUPING(source, target)
        FROM {_HANDOFFS} WHERE {scope} GROUP BY {levels}""")
    # Foreigners per grouping, counted from one row per foreigner and group (a DISTINCT aggregate
    # over grouping sets costs far more).
    people = rows(f"""
        WITH k AS MATERIALIZED (
            SELECT foreigner, phase, source, target, bool_or(back) AS b FROM {_HANDOFFS}
            WHERE {scope} GROUP BY ALL)
        SELECT phase, source, target, count(*), count(*) FILTER (WHERE b), 0, 0 FROM k GROUP BY ALL
        UNION ALL
        SELECT NULL, source, target, count(*), count(*) FILTER (WHERE b), 1, 0 FROM (
            SELECT foreigner, source, target, bool_or(b) AS b FROM k GROUP BY ALL) GROUP BY ALL
        UNION ALL
        SELECT phase, NULL, NULL, count(*), count(*) FILTER (WHERE b), 0, 3 FROM (
            SELECT foreigner, phase, bool_or(b) AS b FROM k GROUP BY ALL) GROUP BY ALL
        UNION ALL
        SELECT NULL, NULL, NULL, count(*), count(*) FILTER (WHERE b), 1, 3 FROM (
            SELECT foreigner, bool_or(b) AS b FROM k GROUP BY foreigner)""")
    counted = {(r[5], r[6], r[0], r[1], r[2]): (r[3], r[4]) for r in people}
    # flows: phase, source, target, hand-offs, foreigners, median, p90, mean, total (µs),
    # ping-pongs, their foreigners, GROUPING(phase), GROUPING(source, target)
    flows = []
    for r in stats:
        f, fb = counted.get((r[9], r[10], r[0], r[1], r[2]), (0, 0))
        flows.append((*r[:4], f, *r[4:8], r[8], fb, r[9], r[10]))
    # every pair (hand-off or continuation) per phase and per organisation
    gaps = rows(f"""
        SELECT phase, target, count(*), coalesce(sum(gap_us), 0),
               count(*) FILTER (WHERE source = target), GROUPING(phase), GROUPING(target)
        FROM {in_scope} WHERE source IS NOT NULL
        GROUP BY GROUPING SETS ((phase), (target), ())""")
    per = first_row(con.execute(f"""
        SELECT count(*), avg(n), quantile_cont(n, 0.5), quantile_cont(n, 0.9), max(n)
        FROM (SELECT foreigner, count(*) FILTER (WHERE source <> target) AS n FROM {in_scope}
              GROUP BY foreigner)"""))
    assert per is not None

    cells = [r for r in flows if not r[12]]
    overall = _transfers([r[1:9] for r in cells if r[11]])
    ping_pong = tuple(sorted(
        (PingPong(r[2], r[1], int(r[9]), int(r[10])) for r in cells if r[11] and r[9]),
        key=lambda p: (-p.count, p.origin, p.via)))
    by_phase = {r[0]: r for r in flows if r[12] and not r[11]}
    everything = next((r for r in flows if r[11] and r[12]), None)
    pairs_by_phase = {r[0]: r for r in gaps if not r[5]}
    pair_totals = next((r for r in gaps if r[5] and r[6]), None)
    continuations = tuple(sorted(
        (Continuation(r[1], int(r[4])) for r in gaps if r[5] and not r[6] and r[4]),
        key=lambda c: (-c.pairs, c.organisation)))

    pairs = int(pair_totals[2]) if pair_totals else 0
    lead_us = int(pair_totals[3]) if pair_totals else 0
    handoff_us = int(everything[8] or 0) if everything else 0
    lead_s = lead_us / 1e6
    phases = []
    for phase in [*order, *([None] if None in pairs_by_phase else [])]:
        g = pairs_by_phase.get(phase)
        if g is None:
            phases.append(PhaseHandoffs(phase, 0, 0, 0, None, None, None, 0.0, 0.0, None, 0, (), ()))
            continue
        f = by_phase.get(phase)
        time_us = int(g[3])
        h_us = int(f[8]) if f else 0
        matrix = _transfers([r[1:9] for r in cells if not r[11] and r[0] == phase])
        phases.append(PhaseHandoffs(
            phase, int(g[2]), int(f[3]) if f else 0, int(f[4]) if f else 0,
            f[5] if f else None, f[6] if f else None, f[7] if f else None,
            h_us / 1e6, time_us / 1e6, _ratio(h_us, time_us), int(f[9]) if f else 0,
            matrix, _waits(matrix, time_us / 1e6)))
    return Handoffs(
        period=period.label if period is not None else None, phase=phase_asked,
        events=events, foreigners=foreigners, events_without_organisation=without,
        pairs=pairs, handoffs=int(everything[3]) if everything else 0,
        matrix=overall, continuations=continuations,
        ping_pongs=int(everything[9]) if everything else 0,
        ping_pong_foreigners=int(everything[10]) if everything else 0, ping_pong=ping_pong,
        per_foreigner=PerForeigner(int(per[0]), per[1], per[2], per[3],
                                   int(per[4]) if per[4] is not None else None),
        lead_time_s=lead_s, handoff_time_s=handoff_us / 1e6,
        handoff_share=_ratio(handoff_us, lead_us),
        waits=_waits(overall, lead_s), phases=tuple(phases))


def _transfers(rows: list[tuple[Any, ...]]) -> tuple[Transfer, ...]:
    found = [Transfer(s, t, int(n), int(f), med, p90, mean, int(total) / 1e6)
             for s, t, n, f, med, p90, mean, total in rows]
    return tuple(sorted(found, key=lambda x: (-x.handoffs, x.source, x.target)))


def _waits(matrix: tuple[Transfer, ...], lead_s: float) -> tuple[Wait, ...]:
    """Hand-off latency per receiving organisation, from the matrix."""
    count: dict[str, int] = {}
    total: dict[str, float] = {}
    for t in matrix:
        count[t.target] = count.get(t.target, 0) + t.handoffs
        total[t.target] = total.get(t.target, 0.0) + t.total_s
    all_s = sum(total.values())
    found = [Wait(o, count[o], total[o], _ratio(total[o], all_s), _ratio(total[o], lead_s))
             for o in count]
    return tuple(sorted(found, key=lambda w: (-w.total_s, w.organisation)))


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None
