"""Queue discipline: how far the chain's queues are from first-in-first-out.

A **queue** (``miner/data/queues.toml``) runs from an *arrival* event (the foreigner is put in line)
to the first *service* event after it; with several arrivals before the service the latest counts.
The AA queue runs from ``Opvoeren en afhandelen RVT in INDiGO`` (R01) to ``Dag 1: Eerste gehoor``
(P02): the IND plans priority groups first (000:8240-8244; 11391-11411).

For one queue and a period, the foreigners *in the queue* are those who arrived before the period's
end and were not served before its start; a service after the end counts as not (yet) served.
Foreigners whose service was not recorded although a later step was (a ``beyond`` event) are
*left out*. Arrival and service times are compared to the minute; equal times are no overtaking.

* **overtaking** (a foreigner): served in the period while someone who arrived earlier was served
  later or is still waiting. The simulator's ground truth ``aa_overtook`` counts exactly these.
* **overtaken**: someone who arrived later was served earlier (in the period).
* **positions lost**: the number of foreigners who arrived later and were served earlier;
  **positions gained**: the number who arrived earlier and were served later (or still wait).
* **Kendall tau-b** and **Spearman rho**: rank correlation of arrival and service times of the
  foreigners served in the period (1 = first-in-first-out; ties as in tau-b / average ranks).
* **groups**: per nationality (ISO-3, the foreigner's ``nationaliteit``) and per location (of the
  arrival or service event, as the queue says): the shares overtaking and overtaken.

The pairwise counts are an O(n log n) merge count in numpy on the queue's rows (one per foreigner);
the same counts as a SQL self-join take seconds on a simulated year.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from miner.analysis._result import SCHEMA_VERSION
from miner.analysis.period import Period
from miner.catalogue import chain_catalogue
from miner.model.filters import sql_literal
from miner.model.log import Log

FOREIGNER = "vreemdeling"
_FIXED = ("activity", "lifecycle", "source")
_LIFECYCLE = "lifecycle:transition"


# --- data: event conditions, locations (shared with noshows, measures, lag) ----------------------
@dataclass(frozen=True)
class Condition:
    """An event condition: catalogue ``activity`` ids (one of them; empty = any), optional
    ``lifecycle`` and ``source``, and event attributes with the value they must have."""

    activity: tuple[str, ...]
    lifecycle: str | None = None
    source: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> Condition:
        """From a data-file table: ``activity`` (an id or a list of ids), ``lifecycle``,
        ``source``; any other key is an event attribute."""
        rest = {k: str(v) for k, v in spec.items() if k not in _FIXED}
        found = spec.get("activity", ())
        ids = (found,) if isinstance(found, str) else tuple(found)
        return cls(ids, spec.get("lifecycle"), spec.get("source"), tuple(sorted(rest.items())))

    def pairs(self) -> list[tuple[str, str]]:
        """The (attribute, value) pairs the condition needs; a ``complete`` lifecycle is the
        absence of ``start`` (events without a lifecycle are complete)."""
        found = list(self.attributes)
        if self.lifecycle is not None:
            found.append((_LIFECYCLE, "start" if self.lifecycle == "complete" else self.lifecycle))
        return found

    def sql(self, flags: Mapping[tuple[str, str], str]) -> str:
        """SQL condition on the rows :func:`select_events` reads (``flags``: (attribute, value) →
        a boolean column)."""
        parts = [f"activity_id IN ({', '.join(map(sql_literal, self.activity))})"] \
            if self.activity else []
        if self.source is not None:
            parts.append(f"source = {sql_literal(self.source)}")
        if self.lifecycle == "complete":
            parts.append(f"NOT {flags[(_LIFECYCLE, 'start')]}")
        elif self.lifecycle is not None:
            parts.append(flags[(_LIFECYCLE, self.lifecycle)])
        parts += [flags[pair] for pair in self.attributes]
        return "(" + (" AND ".join(parts) or "TRUE") + ")"


@cache
def data_toml(name: str) -> dict[str, Any]:
    """A data file of miner/data (TOML), read once."""
    return tomllib.loads((resources.files("miner") / "data" / name).read_text("utf-8"))


def location_aliases() -> dict[str, str]:
    """Other names of a location (``TA`` → ``Ter Apel``), from queues.toml ``[locations]``."""
    return dict(data_toml("queues.toml")["locations"]["aliases"])


def location_name(text: str) -> str:
    """The location's common name: without ``locatie:``, aliases resolved."""
    name = text.removeprefix("locatie:")
    return location_aliases().get(name, name)


_BASE = "_miner_chain_events"


def _data_conditions(node: Any) -> list[Condition]:
    """Every event condition in a parsed data file (tables with an ``activity`` key)."""
    if isinstance(node, dict):
        if "activity" in node:
            return [Condition.parse(node)]
        return [c for v in node.values() for c in _data_conditions(v)]
    if isinstance(node, list):
        return [c for v in node for c in _data_conditions(v)]
    return []


def _fingerprint(log: Log) -> str:
    row = log.con.execute("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM "
                          "event_attributes), (SELECT count(*) FROM event_objects)").fetchall()[0]
    return ":".join(map(str, row))


def _base(log: Log, conds: Sequence[Condition]) -> dict[tuple[str, str], str]:
    """The temp table ``_miner_chain_events``: one row per foreigner's event of the activities the
    conditions (and every condition of queues.toml and measures.toml) name, with its location and a
    boolean column per (attribute, value) they test. Built once per connection and reused while
    the workspace's tables keep their size; returns (attribute, value) → column."""
    con = log.con
    ids = {a for c in conds for a in c.activity}
    pairs = {p for c in conds for p in c.pairs()}
    everything = any(not c.activity for c in conds)
    fingerprint = _fingerprint(log)
    meta: list[tuple[str, str, str]] = []
    if con.execute(f"SELECT count(*) FROM duckdb_tables() WHERE temporary "
                   f"AND table_name = '{_BASE}_meta'").fetchall()[0][0]:
        meta = con.execute(f"SELECT kind, a, b FROM {_BASE}_meta ORDER BY rowid").fetchall()
    have_ids = {a for k, a, _ in meta if k == "id"}
    have_pairs = [(a, b) for k, a, b in meta if k == "pair"]
    if (("fingerprint", fingerprint, "") in meta and ids <= have_ids and pairs <= set(have_pairs)
            and (not everything or ("all", "", "") in meta)):
        return {p: f"coalesce(f{i}, FALSE)" for i, p in enumerate(have_pairs)}
    known = [c for name in ("queues.toml", "measures.toml") for c in _data_conditions(data_toml(name))]
    catalogue = chain_catalogue()
    ids |= {a for c in known for a in c.activity}
    all_pairs = sorted(pairs | {p for c in known for p in c.pairs()})
    chosen = list(catalogue) if everything else sorted(ids)
    labels = ", ".join(f"({sql_literal(catalogue[i].label)}, {sql_literal(i)})" for i in chosen)
    matches = [f"(name = {sql_literal(a)} AND value_string = {sql_literal(v)})" for a, v in all_pairs]
    att = (f"""SELECT event_id, {', '.join(f'bool_or({m}) AS f{i}' for i, m in enumerate(matches))}
               FROM event_attributes SEMI JOIN _sel_ev USING (event_id)
               WHERE {' OR '.join(matches)} GROUP BY event_id""" if all_pairs
           else "SELECT NULL::VARCHAR AS event_id WHERE FALSE")
    locs = data_toml("queues.toml")["locations"]
    order = " ".join(f"WHEN {sql_literal(q)} THEN {i}" for i, q in enumerate(locs["qualifiers"]))
    alias = " ".join(f"WHEN {sql_literal(k)} THEN {sql_literal(v)}"
                     for k, v in location_aliases().items())
    quals = ", ".join(map(sql_literal, locs["qualifiers"]))
    for sql in (
        f"""CREATE OR REPLACE TEMP TABLE _sel_ev AS
            SELECT e.event_id, c.activity_id, e.timestamp AS ts, e.source
            FROM events e JOIN (VALUES {labels}) c(label, activity_id) ON e.event_type = c.label""",
        f"CREATE OR REPLACE TEMP TABLE _sel_att AS {att}",
        f"""CREATE OR REPLACE TEMP TABLE _sel_who AS SELECT eo.event_id, eo.object_id AS foreigner
            FROM event_objects eo SEMI JOIN _sel_ev USING (event_id)
            WHERE eo.qualifier = '{FOREIGNER}'""",
        f"""CREATE OR REPLACE TEMP TABLE _sel_place AS
            SELECT eo.event_id, arg_min(eo.object_id, CASE eo.qualifier {order} END) AS place
            FROM event_objects eo SEMI JOIN _sel_ev USING (event_id)
            WHERE eo.qualifier IN ({quals}) GROUP BY 1""",
        f"""CREATE OR REPLACE TEMP TABLE {_BASE} AS
            SELECT w.foreigner, ev.*, a.* EXCLUDE (event_id),
                   CASE replace(p.place, 'locatie:', '') {alias}
                        ELSE replace(p.place, 'locatie:', '') END AS location
            FROM _sel_ev ev JOIN _sel_who w USING (event_id)
            LEFT JOIN _sel_place p USING (event_id) LEFT JOIN _sel_att a USING (event_id)""",
        "DROP TABLE _sel_ev; DROP TABLE _sel_att; DROP TABLE _sel_who; DROP TABLE _sel_place",
    ):
        con.execute(sql)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_BASE}_meta (kind VARCHAR, a VARCHAR, b VARCHAR)")
    rows = [("fingerprint", fingerprint, "")] + [("all", "", "")] * everything
    rows += [("id", i, "") for i in chosen] + [("pair", a, v) for a, v in all_pairs]
    con.executemany(f"INSERT INTO {_BASE}_meta VALUES (?, ?, ?)", rows)
    return {p: f"coalesce(f{i}, FALSE)" for i, p in enumerate(all_pairs)}


def select_events(log: Log, groups: Mapping[str, Sequence[Condition]], table: str) -> None:
    """Create the temp table ``table`` (foreigner, event_id, ts, grp, location, source,
    activity_id): every foreigner's event matching a condition of group
    ``grp`` (an event in two groups appears twice). ``location`` is the linked location's common
    name (queues.toml ``[locations]``).

    Reads the canonical tables directly: the event type is the catalogue label, so the activities
    are found in ``events`` without pivoting every attribute as the ``journey`` view does (the same
    facts). The selection is kept for the connection (temp table ``_miner_chain_events``), so the
    queue, no-show, measure and lag analyses read the workspace once."""
    flags = _base(log, [c for cs in groups.values() for c in cs])
    unions = " UNION ALL ".join(
        f"SELECT foreigner, event_id, ts, {sql_literal(g)} AS grp, location, source, activity_id "
        f"FROM {_BASE} WHERE {' OR '.join(c.sql(flags) for c in cs) or 'FALSE'}"
        for g, cs in groups.items())
    log.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {unions}")


def nationality_sql() -> str:
    """SQL of (foreigner, nationality): the latest ``nationaliteit`` of each foreigner object."""
    return ("SELECT object_id AS foreigner, arg_max(value_string, time) AS nationality "
            "FROM object_attributes WHERE name = 'nationaliteit' GROUP BY 1")


def period_bounds(period: Period | None) -> tuple[str, str]:
    """SQL TIMESTAMPTZ literals of the period's start and end (or unbounded)."""
    if period is None:
        return "'-infinity'::TIMESTAMPTZ", "'infinity'::TIMESTAMPTZ"
    return sql_literal(period.start_utc), sql_literal(period.end_utc)


# --- numpy core --------------------------------------------------------------------------------
def later_and_lower(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """For each i: the number of j with ``x[j] > x[i]`` and ``y[j] < y[i]`` (both strict), by a
    bottom-up merge count (O(n log² n) in numpy)."""
    n = len(x)
    counts = np.zeros(n, dtype=np.int64)
    if n < 2:
        return counts
    order = np.lexsort((y, x))  # by x, ties by y: a tie in x never counts
    vals = np.unique(y, return_inverse=True)[1].ravel()[order].astype(np.int64)
    idx = np.arange(n)
    slot = np.arange(n)
    width = 1
    while width < n:
        block = slot // width
        left, pair = block % 2 == 0, block // 2
        rkeys = pair[~left] * n + vals[~left]  # sorted: pairs ascend, blocks are sorted
        lo = np.searchsorted(rkeys, pair[left] * n, "left")
        hi = np.searchsorted(rkeys, pair[left] * n + vals[left], "left")
        counts[idx[left]] += hi - lo
        merged = np.lexsort((vals, pair))
        vals, idx = vals[merged], idx[merged]
        width *= 2
    out = np.empty(n, dtype=np.int64)
    out[order] = counts
    return out


def _tie_pairs(x: np.ndarray, y: np.ndarray | None = None) -> int:
    """Pairs tied in ``x`` (and in ``y`` too, when given)."""
    if len(x) < 2:
        return 0
    order = np.lexsort((x,) if y is None else (y, x))
    xs = x[order]
    same = xs[1:] == xs[:-1]
    if y is not None:
        same &= y[order][1:] == y[order][:-1]
    # runs of equal neighbours: a run of k equal values is k - 1 true flags
    edges = np.flatnonzero(np.diff(np.concatenate(([0], same.astype(np.int8), [0]))))
    runs = (edges[1::2] - edges[::2]) + 1
    return int((runs * (runs - 1) // 2).sum())


def kendall_tau_b(x: np.ndarray, y: np.ndarray, discordant: int | None = None) -> float | None:
    """Kendall's tau-b of two equally long arrays (None when undefined); ``discordant`` is
    ``later_and_lower(x, y).sum()`` when already known."""
    n = len(x)
    n0 = n * (n - 1) // 2
    n1, n2, n3 = _tie_pairs(x), _tie_pairs(y), _tie_pairs(x, y)
    if n < 2 or n0 == n1 or n0 == n2:
        return None
    if discordant is None:
        discordant = int(later_and_lower(x, y).sum())
    concordant = n0 - n1 - n2 + n3 - discordant
    return float((concordant - discordant) / np.sqrt(float(n0 - n1) * float(n0 - n2)))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    starts = np.cumsum(counts) - counts
    return (starts + (counts + 1) / 2.0)[inverse.ravel()]


def spearman_rho(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's rho (Pearson on average ranks); None when undefined."""
    if len(x) < 2:
        return None
    rx, ry = _average_ranks(x), _average_ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


# --- results -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class GroupOrder:
    """One group of a queue: ``by`` is ``nationality`` or ``location``, ``group`` its value."""

    by: str
    group: str
    foreigners: int
    served: int
    overtaking: int
    overtaken: int
    share_overtaking: float | None
    share_overtaken: float | None
    mean_positions_lost: float | None
    mean_positions_gained: float | None


@dataclass(frozen=True)
class QueueOrder:
    """The discipline of one queue in the period (see the module docstring for the terms);
    ``left_out`` foreigners have a later step but no recorded service."""

    queue: str
    label: str
    arrival: tuple[str, ...]
    service: tuple[str, ...]
    foreigners: int
    served: int
    waiting: int
    left_out: int
    kendall_tau: float | None
    spearman_rho: float | None
    overtaking: int
    overtaken: int
    share_overtaking: float | None
    share_overtaken: float | None
    mean_positions_lost: float | None
    median_positions_lost: float | None
    mean_positions_lost_overtaken: float | None
    max_positions_lost: int
    groups: tuple[GroupOrder, ...] = field(default=())


@dataclass(frozen=True)
class QueueDiscipline:
    """Per queue of ``miner/data/queues.toml``, how far it is from first-in-first-out."""

    period: str | None
    queues: tuple[QueueOrder, ...]

    def queue(self, name: str) -> QueueOrder:
        return next(q for q in self.queues if q.queue == name)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": "queue_discipline",
                "period": self.period,
                "queues": [{**q.__dict__, "arrival": list(q.arrival), "service": list(q.service),
                            "groups": [g.__dict__ for g in q.groups]} for q in self.queues]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> QueueDiscipline:
        queues = tuple(QueueOrder(**{**q, "arrival": tuple(q["arrival"]),
                                     "service": tuple(q["service"]),
                                     "groups": tuple(GroupOrder(**g) for g in q["groups"])})
                       for q in d["queues"])
        return cls(d["period"], queues)


# --- the analysis ------------------------------------------------------------------------------
def queue_definitions() -> list[dict[str, Any]]:
    """The queues of ``miner/data/queues.toml``."""
    return list(data_toml("queues.toml")["queue"])


def _conditions(specs: Sequence[Mapping[str, Any]]) -> list[Condition]:
    return [Condition.parse(s) for s in specs]


def queue_discipline(log: Log, *, period: Period | None = None,
                     queues: Sequence[str] | None = None) -> QueueDiscipline:
    """How far each queue (all of queues.toml, or those named) is from first-in-first-out."""
    specs = [q for q in queue_definitions() if queues is None or q["name"] in queues]
    groups = {f"{q['name']}|{role}": _conditions(q.get(role, q["arrival"] if role == "waiting"
                                                     else []))
              for q in specs for role in ("arrival", "service", "beyond", "waiting")}
    select_events(log, groups, "_q_events")
    try:
        result = tuple(_one_queue(q, _members(log, q, period)) for q in specs)
    finally:
        log.con.execute("DROP TABLE IF EXISTS _q_events")
    return QueueDiscipline(period.label if period else None, result)


def _members(log: Log, spec: Mapping[str, Any], period: Period | None) -> list[tuple[Any, ...]]:
    """Per foreigner in the queue: arrival and service (None: not served in the period) as epoch
    seconds, nationality, location and whether the service time is unknown (left out)."""
    start, end = period_bounds(period)
    first, second = (("sv.s_loc", "q.a_loc") if spec.get("location") == "service"
                     else ("q.a_loc", "sv.s_loc"))
    ev = (f"(SELECT *, split_part(grp, '|', 2) AS role FROM _q_events "
          f"WHERE grp LIKE {sql_literal(spec['name'] + '|%')})")
    return log.con.execute(f"""
        WITH qe AS {ev},
        fa AS (SELECT foreigner, min(ts) FILTER (WHERE role = 'arrival') AS first_a,
                      max(ts) FILTER (WHERE role = 'beyond') AS last_beyond,
                      count(*) FILTER (WHERE role = 'waiting') AS waiting_events
               FROM qe GROUP BY 1),
        sv AS (SELECT x.foreigner, min(x.ts) AS s, arg_min(x.location, x.ts) AS s_loc
               FROM qe x JOIN fa USING (foreigner)
               WHERE x.role = 'service' AND x.ts >= fa.first_a GROUP BY 1),
        q AS (SELECT x.foreigner, max(x.ts) AS a, arg_max(x.location, x.ts) AS a_loc
              FROM qe x LEFT JOIN sv USING (foreigner)
              WHERE x.role = 'arrival' AND (sv.s IS NULL OR x.ts <= sv.s) GROUP BY 1)
        SELECT epoch(q.a), CASE WHEN sv.s < {end} THEN epoch(sv.s) END,
               coalesce(n.nationality, 'onbekend'),
               coalesce({first}, {second}, 'onbekend'),
               sv.s IS NULL AND coalesce(fa.last_beyond >= q.a, FALSE)
        FROM q JOIN fa USING (foreigner) LEFT JOIN sv USING (foreigner)
        LEFT JOIN ({nationality_sql()}) n USING (foreigner)
        WHERE q.a < {end} AND (sv.s IS NULL OR sv.s >= {start})
              AND NOT (sv.s IS NULL AND fa.waiting_events = 0)
        ORDER BY q.foreigner
    """).fetchall()


def _one_queue(spec: Mapping[str, Any], rows: list[tuple[Any, ...]]) -> QueueOrder:
    known = [r for r in rows if not r[4]]
    left_out = len(rows) - len(known)
    a = np.array([r[0] for r in known], dtype=float)
    s = np.array([np.inf if r[1] is None else r[1] for r in known], dtype=float)
    served = np.isfinite(s)
    lost = later_and_lower(a, s)
    gained = np.where(served, later_and_lower(-a, -s), 0)
    overtaking, overtaken = served & (gained > 0), lost > 0
    n = len(known)
    groups = []
    for by, col in (("nationality", 2), ("location", 3)):
        labels = np.array([r[col] for r in known], dtype=object)
        for g in sorted(set(labels.tolist())):
            sel = labels == g
            groups.append(_group(by, g, sel, served, overtaking, overtaken, lost, gained))
    cat = chain_catalogue()
    return QueueOrder(
        queue=spec["name"], label=spec["label"],
        arrival=tuple(cat[a].label for c in _conditions(spec["arrival"]) for a in c.activity),
        service=tuple(cat[a].label for c in _conditions(spec["service"]) for a in c.activity),
        foreigners=n, served=int(served.sum()), waiting=int(n - served.sum()), left_out=left_out,
        kendall_tau=kendall_tau_b(a[served], s[served], int(lost[served].sum())),
        spearman_rho=spearman_rho(a[served], s[served]),
        overtaking=int(overtaking.sum()), overtaken=int(overtaken.sum()),
        share_overtaking=_share(int(overtaking.sum()), int(served.sum())),
        share_overtaken=_share(int(overtaken.sum()), n),
        mean_positions_lost=float(lost.mean()) if n else None,
        median_positions_lost=float(np.median(lost)) if n else None,
        mean_positions_lost_overtaken=float(lost[overtaken].mean()) if overtaken.any() else None,
        max_positions_lost=int(lost.max()) if n else 0,
        groups=tuple(groups))


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _group(by: str, g: str, sel: np.ndarray, served: np.ndarray, overtaking: np.ndarray,
           overtaken: np.ndarray, lost: np.ndarray, gained: np.ndarray) -> GroupOrder:
    n, k = int(sel.sum()), int((sel & served).sum())
    return GroupOrder(
        by=by, group=g, foreigners=n, served=k,
        overtaking=int((sel & overtaking).sum()), overtaken=int((sel & overtaken).sum()),
        share_overtaking=_share(int((sel & overtaking).sum()), k),
        share_overtaken=_share(int((sel & overtaken).sum()), n),
        mean_positions_lost=float(lost[sel].mean()) if n else None,
        mean_positions_gained=float(gained[sel & served].mean()) if k else None)
