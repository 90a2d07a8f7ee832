"""What the explorer shows, computed on the server: the browser receives only what it draws.

Every function takes the base view (:class:`~miner.model.flatten.EventLog`, the log flattened on
the chosen case notion) and the explorer's filter list, parsed by :func:`parse_filters` from the
JSON the page sends (one object per filter chip, applied in order):

============  ==============================================================  =================
``kind``      keys                                                            filter
============  ==============================================================  =================
time          ``start``, ``end`` (ISO 8601), ``mode`` events|contained|        TimeWindow
              intersecting
attribute     ``name``, ``values``, ``level`` event|case, ``retain``           AttributeFilter
activity      ``values``, ``retain`` (cases with / without one of them)        AttributeFilter
variant       ``variants`` (lists of activities), ``retain``                   VariantFilter
duration      ``min_s``, ``max_s``, ``retain``                                  DurationFilter
follows       ``source``, ``target``, ``directly``, ``retain``                  FollowsFilter
endpoint      ``activities``, ``side`` start|end, ``retain``                    EndpointFilter
chain         ``field`` spoor|location|nationality_group|partner, ``values``  the segment of
              (a chain workspace: the foreigners in that spoor, with an event  ``miner analyze
              at that location, of that nationality; the events that partner  --spoor`` …
              recorded)
============  ==============================================================  =================

Terms of the process map: an activity's **frequency** is its number of events in the view; the
**activity share** keeps the most frequent activities up to that share of the activities
(at least one); the **path share** keeps the most frequent edges among them up to that share of
those edges. The edge value is its frequency or, for performance, the ``mean``, ``median``,
``p90`` or ``total`` seconds between the two events (total = mean x frequency).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from miner.errors import InputError
from miner.model.filters import (
    AttributeFilter,
    CaseIdFilter,
    DurationFilter,
    EndpointFilter,
    Filter,
    FollowsFilter,
    TimeWindow,
    VariantFilter,
    attribute_text,
    sql_literal,
)
from miner.model.flatten import EventLog
from miner.model.log import Log
from miner.model.view import Scope, open_scope

METRICS = ("frequency", "mean", "median", "p90", "total")


def _time(value: Any, key: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise InputError(f"filter time {key} {value!r} is not an ISO 8601 time") from exc


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InputError(f"filter key {key!r} needs a non-empty list of names, found {value!r}")
    return tuple(value)


CHAIN_FIELDS = ("spoor", "location", "nationality_group", "partner")


def _chain_filter(spec: Mapping[str, Any], log: Log | None) -> Filter:
    import hashlib

    from miner.analysis.basics import Segment, foreigners_in

    field = spec.get("field")
    if field not in CHAIN_FIELDS:
        raise InputError(f"unknown chain filter field {field!r}; known: {', '.join(CHAIN_FIELDS)}")
    values = _strings(spec.get("values"), "values")
    if field == "partner":
        return AttributeFilter("partner", values, level="event")
    if log is None:
        raise InputError("a chain filter needs the log")
    name = "_explore_segment_" + hashlib.sha256(
        repr((field, values)).encode()).hexdigest()[:12]
    cases = foreigners_in(log, Segment(**{field: values}), name)
    assert cases is not None
    return CaseIdFilter(sql=cases)


def parse_filter(spec: Mapping[str, Any], log: Log | None = None) -> Filter:
    """One filter from its JSON object (see the module docstring); ``log`` is needed by the chain
    filters."""
    kind = spec.get("kind")
    retain = bool(spec.get("retain", True))
    if kind == "chain":
        return _chain_filter(spec, log)
    if kind == "time":
        return TimeWindow(_time(spec.get("start"), "start"), _time(spec.get("end"), "end"),
                          spec.get("mode", "events"))
    if kind == "attribute":
        return AttributeFilter(str(spec["name"]), _strings(spec.get("values"), "values"),
                               level=spec.get("level", "event"), retain=retain)
    if kind == "activity":
        return AttributeFilter("activity", _strings(spec.get("values"), "values"), level="case",
                               retain=retain)
    if kind == "variant":
        variants = spec.get("variants")
        if not isinstance(variants, list) or not variants:
            raise InputError("a variant filter needs 'variants': a list of activity lists")
        return VariantFilter(tuple(_strings(v, "variants") for v in variants), retain=retain)
    if kind == "duration":
        low, high = spec.get("min_s"), spec.get("max_s")
        return DurationFilter(None if low is None else float(low),
                              None if high is None else float(high), retain=retain)
    if kind == "follows":
        return FollowsFilter(str(spec["source"]), str(spec["target"]),
                             directly=bool(spec.get("directly", True)), retain=retain)
    if kind == "endpoint":
        return EndpointFilter(_strings(spec.get("activities"), "activities"),
                              side=spec.get("side", "start"), retain=retain)
    raise InputError(f"unknown filter kind {kind!r}; known: time, attribute, activity, variant, "
                     "duration, follows, endpoint, chain")


def parse_filters(specs: Any, log: Log | None = None) -> list[Filter]:
    """The filter list of the page (a JSON list of filter objects)."""
    if not isinstance(specs, list):
        raise InputError("filters are a JSON list of filter objects")
    try:
        return [parse_filter(s, log) for s in specs]
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"a filter is malformed: {exc}") from exc


def _scope_counts(view: EventLog, scope: Scope) -> dict[str, int]:
    row = view.log.con.execute(f"SELECT (SELECT count(*) FROM ({scope.cases})), "
                               f"(SELECT count(*) FROM ({scope.steps}))").fetchone()
    return {"cases": int(row[0]) if row else 0, "events": int(row[1]) if row else 0}


def counts(view: EventLog) -> dict[str, int]:
    """Cases and events of ``view``."""
    with open_scope(view) as scope:
        return _scope_counts(view, scope)


def activity_count(view: EventLog) -> int:
    """Distinct activities of ``view``."""
    with open_scope(view) as scope:
        row = view.log.con.execute(f"SELECT count(DISTINCT act) FROM ({scope.steps})").fetchone()
    return int(row[0]) if row else 0


def process_map(view: EventLog, *, activity_share: float = 1.0, path_share: float = 1.0,
                metric: str = "frequency", lanes: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The nodes and edges to draw (see the module docstring); ``lanes``: activity → lane;
    ``chips``: the cases and events each filter keeps (after it and the ones before), counted in
    the same pass."""
    if metric not in METRICS:
        raise InputError(f"unknown map metric {metric!r}; known: {', '.join(METRICS)}")
    from miner.model.case_index import DFG_SQL

    con = view.log.con
    chips: list[dict[str, int]] = []
    with open_scope(view, after_each=lambda s: chips.append(_scope_counts(view, s))) as scope:
        names = scope.index.table("activity_codes")
        activities = con.execute(
            f"SELECT n.activity, count(*) AS n FROM ({scope.steps}) s JOIN {names} n "
            "ON n.code = s.act GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
        edges = con.execute(f"SELECT * FROM ({DFG_SQL.format(steps=scope.steps, names=names)}) "
                            "ORDER BY frequency DESC, source, target").fetchall()
        ends = con.execute(f"""
            SELECT 'start', n.activity, count(*) FROM ({scope.cases}) c JOIN {names} n
                ON n.code = c.first_act GROUP BY ALL
            UNION ALL
            SELECT 'end', n.activity, count(*) FROM ({scope.cases}) c JOIN {names} n
                ON n.code = c.last_act GROUP BY ALL""").fetchall()
    keep_n = max(1, math.ceil(len(activities) * _share(activity_share))) if activities else 0
    kept = {a for a, _ in activities[:keep_n]}
    among = [e for e in edges if e[0] in kept and e[1] in kept]
    paths = among[: math.ceil(len(among) * _share(path_share))]
    lane_of = lanes or {}
    return {
        "metric": metric, "chips": chips,
        "activities_total": len(activities), "edges_total": len(edges),
        "nodes": [{"id": a, "frequency": int(n), "lane": lane_of.get(a),
                   "starts": next((int(c) for s, x, c in ends if s == "start" and x == a), 0),
                   "ends": next((int(c) for s, x, c in ends if s == "end" and x == a), 0)}
                  for a, n in activities[:keep_n]],
        "edges": [{"source": s, "target": t, "frequency": int(f),
                   "value": _edge_value(metric, int(f), mean, median, p90)}
                  for s, t, f, mean, median, p90, *_ in paths],
    }


def _share(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def _edge_value(metric: str, frequency: int, mean: float | None, median: float | None,
                p90: float | None) -> float:
    if metric == "frequency":
        return float(frequency)
    chosen = {"mean": mean, "median": median, "p90": p90,
              "total": None if mean is None else mean * frequency}[metric]
    return float(chosen) if chosen is not None else 0.0


def variant_list(view: EventLog, *, top: int = 50) -> dict[str, Any]:
    """The most frequent variants: activities, cases, share of the cases, mean duration (s)."""
    con = view.log.con
    with open_scope(view) as scope:
        total_row = con.execute(f"SELECT count(*) FROM ({scope.cases})").fetchone()
        rows = con.execute(f"""
            SELECT activities, count(*) AS cases, avg(duration_us) / 1e6 AS mean_s
            FROM ({scope.cases_with_variant()}) GROUP BY activities
            ORDER BY cases DESC, CAST(activities AS VARCHAR) LIMIT {int(top)}""").fetchall()
        distinct = con.execute(f"SELECT count(DISTINCT activities) FROM "
                               f"({scope.cases_with_variant()})").fetchone()
    total = int(total_row[0]) if total_row else 0
    return {"cases": total, "variants_total": int(distinct[0]) if distinct else 0,
            "variants": [{"activities": list(a), "cases": int(n),
                          "share": int(n) / total if total else 0.0, "mean_s": float(m or 0.0)}
                         for a, n, m in rows]}


def statistics(view: EventLog, *, bins: int = 20) -> dict[str, Any]:
    """Events per month, a histogram of case durations, and the activity table."""
    con = view.log.con
    with open_scope(view) as scope:
        names = scope.index.table("activity_codes")
        months = con.execute(
            f"SELECT strftime(date_trunc('month', timestamp), '%Y-%m') AS m, count(*) "
            f"FROM ({scope.steps}) GROUP BY 1 ORDER BY 1").fetchall()
        span = con.execute(f"SELECT min(duration_us), max(duration_us), avg(duration_us), "
                           f"median(duration_us) FROM ({scope.cases})").fetchone()
        low, high = (span[0] or 0, span[1] or 0) if span else (0, 0)
        width = max(1, math.ceil((high - low + 1) / bins))
        histogram = con.execute(
            f"SELECT least({bins - 1}, (duration_us - {low}) // {width}) AS b, count(*) "
            f"FROM ({scope.cases}) GROUP BY 1 ORDER BY 1").fetchall()
        table = con.execute(f"""
            SELECT n.activity, sum(s.k) AS events, count(*) AS cases
            FROM (SELECT act, case_no, count(*) AS k FROM ({scope.steps}) GROUP BY ALL) s
            JOIN {names} n ON n.code = s.act GROUP BY 1 ORDER BY 2 DESC, 1""").fetchall()
    return {
        "events_per_month": [{"month": m, "events": int(n)} for m, n in months],
        "durations": {"mean_s": (span[2] or 0) / 1e6 if span else 0.0,
                      "median_s": (span[3] or 0) / 1e6 if span else 0.0,
                      "bins": [{"from_s": (low + b * width) / 1e6,
                                "to_s": (low + (b + 1) * width) / 1e6, "cases": int(n)}
                               for b, n in histogram]},
        "activities": [{"activity": a, "events": int(e), "cases": int(c)} for a, e, c in table],
    }


def case_list(view: EventLog, *, limit: int = 100) -> list[dict[str, Any]]:
    """The first cases of the view (by case id), with their events and duration."""
    con = view.log.con
    with open_scope(view) as scope:
        rows = con.execute(f"SELECT case_id, events, duration_us / 1e6 FROM ({scope.cases}) "
                           f"ORDER BY case_id LIMIT {int(limit)}").fetchall()
    return [{"case": str(c), "events": int(n), "duration_s": float(d or 0)} for c, n, d in rows]


def case_detail(view: EventLog, case_id: str) -> dict[str, Any]:
    """One case: its events in order with their attributes and source rows."""
    con = view.log.con
    events = con.execute(f"""
        SELECT e.event_id, e.event_type, e.timestamp, e.source, e.source_file, e.source_row
        FROM events e JOIN event_objects eo ON eo.event_id = e.event_id
        JOIN objects o ON o.object_id = eo.object_id AND o.object_type = {sql_literal(view.object_type)}
        WHERE o.object_id = ? ORDER BY e.timestamp, e.seq""", [case_id]).fetchall()
    if not events:
        raise InputError(f"no case {case_id!r} of type {view.object_type!r}")
    ids = [e[0] for e in events]
    attributes: dict[str, list[dict[str, str]]] = {i: [] for i in ids}
    for event_id, name, value in con.execute(f"""
            SELECT event_id, name, {attribute_text()}
            FROM event_attributes WHERE event_id IN (SELECT unnest(?)) ORDER BY seq""",
                                             [ids]).fetchall():
        attributes[event_id].append({"name": name, "value": value})
    return {"case": case_id, "events": [
        {"event_id": i, "activity": a, "time": t.isoformat(), "source": s, "source_file": f,
         "source_row": r, "attributes": attributes[i]} for i, a, t, s, f, r in events]}


def export_csv(view: EventLog) -> str:
    """The events of the view as CSV: case, activity, timestamp (ISO 8601, UTC), event id."""
    import csv
    import io

    con = view.log.con
    with open_scope(view) as scope:
        rows = con.execute(f"""
            SELECT c.case_id, n.activity, s.timestamp, e.event_id
            FROM ({scope.steps}) s JOIN ({scope.cases}) c USING (case_no)
            JOIN {scope.index.table('activity_codes')} n ON n.code = s.act
            JOIN events e ON e.seq = s.event_seq
            ORDER BY c.case_id, s.pos""").fetchall()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["case", "activity", "timestamp", "event_id"])
    writer.writerows([c, a, t.isoformat(), e] for c, a, t, e in rows)
    return out.getvalue()


#: export formats of the filtered log: format → (file extension, media type)
EXPORTS = {"csv": (".csv", "text/csv"), "jsonocel": (".jsonocel", "application/json"),
           "xes": (".xes", "application/xml")}

#: the rows of each canonical table that belong to the kept events (``_explore_kept``)
_SUBSET = {
    "events": "SELECT * FROM events WHERE event_id IN (SELECT event_id FROM _explore_kept)",
    "event_attributes": "SELECT * FROM event_attributes WHERE event_id IN "
                        "(SELECT event_id FROM _explore_kept)",
    "event_objects": "SELECT * FROM event_objects WHERE event_id IN "
                     "(SELECT event_id FROM _explore_kept)",
    "objects": "SELECT * FROM objects WHERE object_id IN (SELECT object_id FROM _explore_objects)",
    "object_attributes": "SELECT * FROM object_attributes WHERE object_id IN "
                         "(SELECT object_id FROM _explore_objects)",
    "object_objects": "SELECT * FROM object_objects WHERE source_id IN (SELECT object_id FROM "
                      "_explore_objects) AND target_id IN (SELECT object_id FROM _explore_objects)",
    "event_types": "SELECT * FROM event_types WHERE event_type IN "
                   "(SELECT DISTINCT event_type FROM events WHERE event_id IN "
                   "(SELECT event_id FROM _explore_kept))",
    "object_types": "SELECT * FROM object_types WHERE object_type IN "
                    "(SELECT DISTINCT object_type FROM objects WHERE object_id IN "
                    "(SELECT object_id FROM _explore_objects))",
    "log_meta": "SELECT * FROM log_meta",
}


def export_log(view: EventLog, fmt: str, folder: Path) -> Path:
    """The events of the view (every event of each kept step, with its attributes, objects and
    their links) written as ``fmt`` (:data:`EXPORTS`) into ``folder``; returns the file."""
    if fmt not in EXPORTS:
        raise InputError(f"unknown export format {fmt!r}; known: {', '.join(EXPORTS)}")
    target = folder / f"filtered-log{EXPORTS[fmt][0]}"
    if fmt == "csv":
        target.write_text(export_csv(view), encoding="utf-8")
        return target
    import miner
    from miner.model.loading import TableSink
    from miner.model.log import connect
    from miner.model.schema import ARROW_SCHEMAS

    con = view.log.con
    with open_scope(view) as scope:
        con.execute("CREATE OR REPLACE TEMP TABLE _explore_kept AS SELECT e.event_id FROM events e "
                    f"WHERE e.seq IN (SELECT event_seq FROM ({scope.steps}))")
    con.execute("CREATE OR REPLACE TEMP TABLE _explore_objects AS SELECT DISTINCT object_id "
                "FROM event_objects WHERE event_id IN (SELECT event_id FROM _explore_kept)")
    subset = connect(None)
    try:
        sink = TableSink(subset.con)
        for table, sql in _SUBSET.items():
            names = [f.name for f in ARROW_SCHEMAS[table] if f.name != "seq"]
            order = " ORDER BY seq" if "seq" in [f.name for f in ARROW_SCHEMAS[table]] else ""
            rows = con.sql(f"SELECT {', '.join(names)} FROM ({sql}){order}").to_arrow_table()
            if rows.num_rows:
                sink.add_arrow(table, rows)
        sink.commit(what="the filtered view")
        miner.write(subset, target, object_type=view.object_type if fmt == "xes" else None)
    finally:
        subset.close()
        con.execute("DROP TABLE IF EXISTS _explore_kept")
        con.execute("DROP TABLE IF EXISTS _explore_objects")
    return target
