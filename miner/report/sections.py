"""One function per report section: an analysis' ``to_dict()`` in, the section's plain data out.

Each keeps the figures the report shows, exactly as the analysis computed them (the tests compare
the rendered page with these values), and drops everything that could identify a person: event
ids, pseudonyms (``evidence``, ``cases``) and employees (the analyses report organisations only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from miner.report.activities import activity_info


def _delta(value: float | None, previous: float | None) -> float | None:
    return None if value is None or previous is None else value - previous


def _kpi(key: str, unit: str, better: str, value: float | None,
         previous: float | None, **extra: Any) -> dict[str, Any]:
    return {"key": key, "unit": unit, "better": better, "value": value, "previous": previous,
            "delta": _delta(value, previous), **extra}


def norms_met_share(norms: Mapping[str, Any]) -> float | None:
    """Σ met / Σ (met + late + early + ended without) over all norms: the share of decided cases
    that met their norm (each norm's ``met_share`` has this form)."""
    met = decided = 0
    for norm in norms["norms"]:
        c = norm["counts"]
        met += c["met"]
        decided += c["met"] + c["late"] + c["early"] + c["ended_without"]
    return met / decided if decided else None


def _mean_lead(b: Mapping[str, Any]) -> float | None:
    return b["lead_time_days"] / b["foreigners"] if b["foreigners"] else None


def _step_wait(b: Mapping[str, Any] | None, activity: str) -> float | None:
    if b is None:
        return None
    return next((s["wait_days"] for s in b["steps"] if s["activity"] == activity), 0.0)


def kpis(current: Mapping[str, Any], previous: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The headline KPIs with their previous value and delta (module :mod:`.results`)."""
    b, p = current["bottlenecks"], previous["bottlenecks"] if previous else None
    top = b["steps"][0] if b["steps"] else None
    out = []
    if top is not None:
        out.append(_kpi("top_wait_days", "days", "lower", top["wait_days"],
                        _step_wait(p, top["activity"]), activity=top["activity"],
                        share=top["share_of_lead_time"]))
    out += [
        _kpi("foreigners", "count", "none", b["foreigners"], p["foreigners"] if p else None),
        _kpi("mean_lead_days", "days", "lower", _mean_lead(b), _mean_lead(p) if p else None),
    ]
    # the KPIs of analyses a log without the chain catalogue cannot feed are left out
    if "handoffs" in current:
        out.append(_kpi("handoff_share", "share", "lower", current["handoffs"]["handoff_share"],
                        previous["handoffs"]["handoff_share"] if previous else None))
    if "duplicates" in current:
        out.append(_kpi("hours_lost", "hours", "lower", current["duplicates"]["hours_lost"],
                        previous["duplicates"]["hours_lost"] if previous else None))
    if "norms" in current:
        out.append(_kpi("norms_met_share", "share", "higher", norms_met_share(current["norms"]),
                        norms_met_share(previous["norms"]) if previous else None))
    return out


def bottleneck_section(b: Mapping[str, Any], p: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ranking (every step), with the capacity flag and the previous period's rank/days."""
    bound = {c["activity"]: bool(c["bound"]) for c in b.get("capacity", [])}
    before = {s["activity"]: s for s in p["steps"]} if p else {}
    steps = []
    for s in b["steps"]:
        old = before.get(s["activity"])
        info = activity_info(s["activity"])
        steps.append({
            "rank": s["rank"], "activity": s["activity"], "activity_id": s["activity_id"],
            "lane": info.lane, "phase": info.phase, "waits": s["waits"],
            "wait_days": s["wait_days"], "share_of_lead_time": s["share_of_lead_time"],
            "wait_median_days": s["wait_median_days"], "wait_p90_days": s["wait_p90_days"],
            "bound": bound.get(s["activity"], False),
            "previous_rank": old["rank"] if old else None,
            "previous_wait_days": (old["wait_days"] if old else (0.0 if p else None)),
            "delta_wait_days": _delta(s["wait_days"],
                                      old["wait_days"] if old else (0.0 if p else None)),
        })
    return {"foreigners": b["foreigners"], "lead_time_days": b["lead_time_days"],
            "period_days": b["period_days"], "steps": steps}


def process_map_section(basics: Mapping[str, Any], *, catalogue: bool = True) -> dict[str, Any]:
    """The DFG between catalogue activities (every activity of a log without the catalogue):
    nodes (events per activity = start count + incoming frequency) and edges (frequency, median
    days between the two events)."""
    def shown(label: str) -> bool:
        return activity_info(label).known or not catalogue

    edges = [{"source": e["source"], "target": e["target"], "frequency": e["frequency"],
              "median_days": e["median_days"]}
             for e in basics["edges"] if shown(e["source"]) and shown(e["target"])]
    edges.sort(key=lambda e: (-e["frequency"], e["source"], e["target"]))
    count: dict[str, int] = {}
    for label, n in basics["start_activities"].items():
        if shown(label):
            count[label] = count.get(label, 0) + int(n)
    for e in edges:
        count[e["target"]] = count.get(e["target"], 0) + int(e["frequency"])
        count.setdefault(e["source"], 0)
    nodes = []
    for label in sorted(count, key=lambda x: activity_info(x).order):
        info = activity_info(label)
        nodes.append({"activity": label, "activity_id": info.id, "lane": info.lane,
                      "phase": info.phase, "frequency": count[label]})
    return {"cases": basics["cases"], "events": basics["events"], "nodes": nodes, "edges": edges,
            "edges_total": len(basics["edges"])}


def _dense(rows: Sequence[Sequence[Any]], keys: Sequence[str], first: date,
           last: date) -> dict[str, list[int]]:
    days = (last - first).days + 1
    series = {k: [0] * days for k in keys}
    for day, key, n in rows:
        if key in series:
            series[key][(date.fromisoformat(day) - first).days] = int(n)
    return series


def stock_section(stock: Mapping[str, Any], steps: Sequence[Mapping[str, Any]],
                  limits: Mapping[str, Any]) -> dict[str, Any]:
    """Daily stock of the top steps of the ranking and of the largest COA locations (dense series
    from ``first_day`` to ``last_day``, one count a day)."""
    by_activity, by_location = stock["activity"], stock["location"]
    first = date.fromisoformat(by_activity["first_day"])
    last = date.fromisoformat(by_activity["last_day"])
    top_steps = [s["activity"] for s in steps[: int(limits["stock_steps"])]]
    totals: dict[str, int] = {}
    for _, key, n in by_location["rows"]:
        totals[key] = totals.get(key, 0) + int(n)
    locations = sorted(totals, key=lambda k: (-totals[k], k))[: int(limits["stock_locations"])]
    step_series = _dense(by_activity["rows"], top_steps, first, last)
    location_series = _dense(by_location["rows"], locations, first, last)
    return {
        "first_day": first.isoformat(), "last_day": last.isoformat(),
        "unknown_end": by_activity["unknown_end"],
        "steps": [{"key": k, "series": step_series[k]} for k in top_steps],
        "locations": [{"key": k, "series": location_series[k]} for k in locations],
        "locations_total": len(totals),
    }


def handoffs_section(h: Mapping[str, Any]) -> dict[str, Any]:
    """The organisation × organisation matrix with latencies (seconds), and the totals."""
    matrix = [{k: m[k] for k in ("source", "target", "handoffs", "foreigners", "median_s",
                                 "p90_s", "mean_s")} for m in h["matrix"]]
    organisations = sorted({m["source"] for m in matrix} | {m["target"] for m in matrix})
    return {"handoffs": h["handoffs"], "foreigners": h["foreigners"],
            "handoff_share": h["handoff_share"], "ping_pongs": h["ping_pongs"],
            "organisations": organisations, "matrix": matrix}


def duplicates_section(d: Mapping[str, Any]) -> dict[str, Any]:
    """Named findings and purposes with hours lost; the evidence (pseudonyms) is left out."""
    findings = [{k: f[k] for k in ("id", "name", "purpose", "foreigners", "instances", "share",
                                   "hours_lost")} for f in d["findings"]]
    purposes = [{k: p[k] for k in ("purpose", "foreigners", "repeats", "cross_partner", "rework",
                                   "share", "hours_lost")} for p in d["purposes"]]
    return {"foreigners": d["foreigners"], "repeats": d["repeats"], "hours_lost": d["hours_lost"],
            "window_days": d["window_days"], "findings": findings, "purposes": purposes}


def norms_section(n: Mapping[str, Any]) -> dict[str, Any]:
    """Every norm with its counts (met, late, open at risk, overdue) and met share."""
    norms = [{"id": x["id"], "label": x["label"], "unit": x["unit"], "limit": x["limit"],
              **x["counts"]} for x in n["norms"]]
    return {"as_of": n["as_of"], "met_share": norms_met_share(n), "norms": norms}


def conformance_section(c: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The conformance summary, read defensively: top-level ``foreigners``, ``conforming``,
    ``conformance_rate``, ``replay_fitness``, ``alignment_fitness``, ``model``, ``period``; per
    ``phases[]``: ``phase``, ``traces``, ``replay_fitness``, ``alignment_fitness``; per
    ``counts[]``: ``category``, ``deviations``, ``foreigners``, ``accepted``; per ``rates[]``:
    ``dimension``, ``value``, ``foreigners``, ``deviating``, ``rate``. Missing keys become None;
    nothing else (no deviations, no variants: they may name foreigners) is kept."""
    if c is None:
        return None

    def pick(item: Any, keys: Sequence[str]) -> dict[str, Any]:
        return {k: item.get(k) if isinstance(item, Mapping) else None for k in keys}

    def items(key: str) -> list[Any]:
        value = c.get(key)
        return list(value) if isinstance(value, (list, tuple)) else []

    top = pick(c, ("model", "period", "foreigners", "conforming", "conformance_rate",
                   "replay_fitness", "alignment_fitness"))
    return {
        **top,
        "phases": [pick(p, ("phase", "traces", "replay_fitness", "alignment_fitness"))
                   for p in items("phases")],
        "counts": [pick(x, ("category", "deviations", "foreigners", "accepted"))
                   for x in items("counts")],
        "rates": sorted((pick(r, ("dimension", "value", "foreigners", "deviating", "rate"))
                         for r in items("rates")),
                        key=lambda r: (str(r["dimension"]), str(r["value"]))),
    }
