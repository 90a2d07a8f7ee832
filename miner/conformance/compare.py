"""``compare_models``: where the chain's actual behaviour and a model (the reference swimlane model,
or an own one) differ, per phase of the model, as evidence for repairing the model or the process.

The traces are the conformance check's (:func:`miner.conformance.check.model_traces`): a foreigner's
events of the model's activities, one per activity occurrence (the ``start`` of a stay, the
``complete`` of any other step), in time and read order. Per phase P of the model (aanmeldfase,
RVT, AA, VA, beroep, uitstroom, vertrek; a model without phases, or a Petri net, is one phase
``None``) with model activities L(P):

* **phase trace**: the foreigner's events of L(P) in that order; *traces*: the foreigners with one.
* **steps** of a phase trace e1 … en: its *start* (e1), its n − 1 *transitions* (e_i, e_i+1) and
  its *end* (en). A step's *anchor* is the event before which a step the model wants there would
  have been expected: e1 for the start, e_i+1 for a transition, the foreigner's next event after en
  (any event of their journey) for the end.
* A step is **judged** when its anchor lies at or after the log's *coverage start* (the latest of
  the sources' first event times: from then on every export has data,
  :func:`miner.conformance.coverage.log_coverage_start`). Not judged: *before the data* (the anchor
  lies before it: the step between may lie in data that does not reach back that far, as the
  initial stock's back-dated histories) and *open* ends (en is the foreigner's last event: the
  journey is still running when the data ends). The check's *pending* rule, and the conservative
  form of its ``before_log`` rule (the check judges a skipped step on that step's own coverage
  start; a flow does not say which step is missing, so here the log's is used).
* **the model's relation** of P: the reachability graph of the model projected on L(P) (every other
  task silent, silent transitions fused: :func:`miner.conformance._bpmn_net.to_petri_net`): its
  directly-follows pairs (parallel branches interleaved,
  :func:`miner.conformance._automaton.directly_follows`), its *start activities* (the first visible
  step of some run) and its *end activities* (the last visible step of some run that reaches the
  final marking). A phase whose graph exceeds the automaton's state limit has no relation: its
  flows are not compared (``model_states`` None).
* **forbidden flow**: a judged step outside the relation: a transition (a, b) that is no model
  pair, a start with an activity the model cannot start P with, an end with one it cannot end P
  with. *Frequency*: those steps; *foreigners*: the distinct foreigners with one. With ``noise`` F
  a row whose frequency is below F × the phase's judged transitions is left out of the rows and
  counted in ``left_out`` (rows) and ``left_out_frequency`` (their steps).
* **unused path**: a model pair, start activity or end activity of P that no step of any phase
  trace takes (judged or not: what the log shows at all, an open end included), and a model task
  of P without any event. Shown with the foreigners whose phase trace has an event of its source and of its target:
  those who could have taken it.
* **lane move**: an (activity, organisation) pair of P where the organisation (the event's
  performer, as the check's ``wrong_lane``) is none of the organisations of the task's lanes
  (:meth:`SwimlaneModel.organisations_for`); *events*, *foreigners*, and the *share* of the
  activity's events in P. Events without a performer, and tasks whose lanes name no organisation,
  are not judged. A Petri net has no lanes.

Order: forbidden flows and lane moves by foreigners, then frequency, descending; unused paths the
tasks first, then by the smaller of the two foreigner counts, descending; ties by kind and names.
The model facts (a few hundred pairs) are computed in Python; every count is one DuckDB query.
Definitions and an example: ``docs/conformance/compare.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from miner.analysis._result import SCHEMA_VERSION
from miner.analysis.period import Period
from miner.conformance._automaton import (
    Automaton,
    _closure,
    directly_follows,
    reachability_automaton,
)
from miner.conformance._bpmn_net import to_petri_net
from miner.conformance.check import model_traces, open_model
from miner.conformance.coverage import log_coverage_start
from miner.conformance.swimlane import SwimlaneModel
from miner.errors import InputError
from miner.model.log import Log

KIND = "model_comparison"
#: The kinds of a step / a model fact, in the order ties are broken.
STEP_KINDS = ("start", "flow", "end")
#: The kinds of an unused path, tasks first.
UNUSED_KINDS = ("task", "start", "flow", "end")


@dataclass(frozen=True)
class ForbiddenFlow:
    """A step the chain takes that the model forbids: a transition ``source`` → ``target``
    (``kind = "flow"``), a start with ``target`` (``source`` None) or an end with ``source``
    (``target`` None); its judged steps (``frequency``) and distinct foreigners."""

    kind: str
    source: str | None
    target: str | None
    frequency: int
    foreigners: int


@dataclass(frozen=True)
class UnusedPath:
    """A model path nobody takes: a model pair ``source`` → ``target`` (``kind = "flow"``), a model
    start (``target``) or end (``source``) activity, or a model ``task`` (``source``) without any
    event; with the foreigners whose phase trace has an event of ``source`` / of ``target``."""

    kind: str
    source: str | None
    target: str | None
    source_foreigners: int
    target_foreigners: int

    @property
    def weight(self) -> int:
        """The foreigners who could have taken it: the smaller of the defined counts (0 for a
        task)."""
        if self.kind == "task":
            return 0
        if self.kind == "start":
            return self.target_foreigners
        if self.kind == "end":
            return self.source_foreigners
        return min(self.source_foreigners, self.target_foreigners)


@dataclass(frozen=True)
class LaneMove:
    """Events of ``activity`` performed by ``organisation``, which is none of ``lanes`` (the
    organisations of the task's lanes): events, distinct foreigners, and the share of the
    activity's events in the phase."""

    activity: str
    organisation: str
    lanes: tuple[str, ...]
    events: int
    foreigners: int
    share: float


@dataclass(frozen=True)
class PhaseComparison:
    """One phase (None: a model without phases): the model's size, the log's traces and steps,
    and the three tables (see the module docstring for every figure)."""

    phase: str | None
    activities: int
    model_states: int | None
    model_flows: int
    traces: int
    events: int
    transitions: int
    judged_transitions: int
    forbidden_transitions: int
    before_data: int
    open_ends: int
    forbidden: tuple[ForbiddenFlow, ...]
    left_out: int
    left_out_frequency: int
    unused: tuple[UnusedPath, ...]
    lane_moves: tuple[LaneMove, ...]

    @property
    def forbidden_share(self) -> float | None:
        """Forbidden transitions among the judged ones (None without judged transitions)."""
        return (self.forbidden_transitions / self.judged_transitions
                if self.judged_transitions else None)


@dataclass(frozen=True)
class ModelComparison:
    """The result of :func:`compare_models`: the model, the scope and one comparison per phase in
    journey order."""

    model: str
    model_kind: str
    period: str | None
    noise: float
    coverage_start: str | None
    foreigners: int
    phases: tuple[PhaseComparison, ...]

    def phase(self, key: str | None) -> PhaseComparison:
        """The comparison of phase ``key``."""
        found = next((p for p in self.phases if p.phase == key), None)
        if found is None:
            raise KeyError(f"no phase {key!r} in the comparison")
        return found

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": KIND, **asdict(self)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelComparison:
        if d.get("kind") != KIND or d.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"not a {KIND} result of schema version {SCHEMA_VERSION}")
        plain = {f.name: d[f.name] for f in fields(cls)}
        return cls(**{**plain, "phases": tuple(_phase_from_dict(p) for p in d["phases"])})


def _phase_from_dict(p: Mapping[str, Any]) -> PhaseComparison:
    plain = {f.name: p[f.name] for f in fields(PhaseComparison)}
    return PhaseComparison(**{
        **plain,
        "forbidden": tuple(ForbiddenFlow(**x) for x in p["forbidden"]),
        "unused": tuple(UnusedPath(**x) for x in p["unused"]),
        "lane_moves": tuple(LaneMove(**{**x, "lanes": tuple(x["lanes"])})
                            for x in p["lane_moves"]),
    })


@dataclass(frozen=True)
class _Relation:
    """The model's facts of one phase: its reachability graph's size and its steps."""

    states: int
    pairs: frozenset[tuple[str, str]]
    starts: frozenset[str]
    ends: frozenset[str]


def model_relation(auto: Automaton) -> tuple[frozenset[tuple[str, str]], frozenset[str],
                                             frozenset[str]]:
    """The directly-follows pairs, start activities and end activities of the language of the
    net whose reachability graph is ``auto``."""
    first = _closure(auto, frozenset({0}))
    starts = frozenset(a for s in first for a, _ in auto.edges[s] if a is not None)
    ends = frozenset(a for edges in auto.edges for a, t in edges
                     if a is not None and _closure(auto, frozenset({t})) & auto.finals)
    return directly_follows(auto), starts, ends


def compare_models(log: Log, model: SwimlaneModel | str | Path | None = None, *,
                   noise: float = 0.0, period: Period | None = None,
                   lane_organisations: Mapping[str, str] | None = None) -> ModelComparison:
    """Compare the journeys of ``log`` with ``model`` (default: the shipped reference model; a
    ``.bpmn`` file with lanes, a ``.pnml``/``.ptml`` file, or a :class:`SwimlaneModel`) per
    phase: forbidden flows, unused model paths and lane moves (see the module docstring).

    Args:
        noise: 0 ≤ F < 1; forbidden flows below F × the phase's judged transitions are left out
            and counted (never silently).
        period: only the foreigners with an event in it, on their whole traces (as
            :func:`~miner.conformance.check.check_conformance`).
        lane_organisations: lane name → organisation, for an own BPMN.

    Example::

        log = connect("chain.duckdb", read_only=True)
        found = compare_models(log)
        found.phase("aanmeldfase").forbidden[0]
    """
    if not 0.0 <= noise < 1.0:
        raise InputError(f"noise {noise:g}: give a share from 0 up to (not including) 1")
    opened = open_model(model, lane_organisations=lane_organisations)
    swim = opened if isinstance(opened, SwimlaneModel) else None
    con = log.con
    # the check's traces, organisation names matched as the check matches them
    labels, phase_of, _, _ = model_traces(log, opened, period)
    if swim is None:  # a Petri net or process tree: whole traces, one group
        phase_of = {a: None for a in labels}

    groups = _ordered_groups({phase_of[a] or "" for a in labels})
    relations: dict[str, _Relation | None] = {}
    tasks: dict[str, list[str]] = {}
    for grp in groups:
        group_labels = sorted(a for a in labels if (phase_of[a] or "") == grp)
        tasks[grp] = group_labels
        if swim is not None:
            auto = reachability_automaton(*to_petri_net(swim, labels=set(group_labels),
                                                        reduce=True))
        else:
            auto = reachability_automaton(*opened[1:])  # type: ignore[index]
        if auto is None:
            relations[grp] = None
            continue
        pairs, starts, ends = model_relation(auto)
        relations[grp] = _Relation(auto.states, pairs, starts, ends)
    _load_model(con, relations, tasks, swim)

    coverage, _ = log_coverage_start(con)
    _load_steps(con)
    totals = {r[0]: r[1:] for r in con.execute("""
        SELECT grp, count(DISTINCT foreigner),
               count(*) FILTER (WHERE kind <> 'end'),
               count(*) FILTER (WHERE kind = 'flow'),
               count(*) FILTER (WHERE kind = 'flow' AND anchor >= $coverage),
               count(*) FILTER (WHERE anchor < $coverage),
               count(*) FILTER (WHERE anchor IS NULL)
        FROM cmp_steps GROUP BY grp""", {"coverage": coverage}).fetchall()}
    forbidden: dict[str, list[ForbiddenFlow]] = {}
    for grp, kind, source, target, n, f in con.execute("""
        SELECT s.grp, s.kind, s.source, s.target, count(*), count(DISTINCT s.foreigner)
        FROM cmp_steps s
        WHERE s.anchor >= $coverage AND s.grp IN (SELECT grp FROM cmp_judged)
          AND NOT EXISTS (SELECT 1 FROM cmp_model m
                          WHERE m.grp = s.grp AND m.kind = s.kind
                            AND m.source IS NOT DISTINCT FROM s.source
                            AND m.target IS NOT DISTINCT FROM s.target)
        GROUP BY ALL""", {"coverage": coverage}).fetchall():
        forbidden.setdefault(grp, []).append(ForbiddenFlow(kind, source, target, int(n), int(f)))
    unused_facts: dict[str, list[tuple[str, str | None, str | None]]] = {}
    for grp, kind, source, target in con.execute("""
        SELECT m.grp, m.kind, m.source, m.target FROM cmp_model m
        WHERE NOT EXISTS (SELECT 1 FROM cmp_steps s
                          WHERE s.grp = m.grp AND s.kind = m.kind
                            AND s.source IS NOT DISTINCT FROM m.source
                            AND s.target IS NOT DISTINCT FROM m.target)
        UNION ALL
        SELECT t.grp, 'task', t.activity, NULL FROM cmp_tasks t
        WHERE NOT EXISTS (SELECT 1 FROM conf_events e
                          WHERE e.in_model AND e.grp = t.grp AND e.activity = t.activity)
    """).fetchall():
        unused_facts.setdefault(grp, []).append((kind, source, target))
    people = {(g, a): int(f) for g, a, f in con.execute("""
        SELECT grp, activity, count(DISTINCT foreigner) FROM conf_events WHERE in_model
        GROUP BY ALL""").fetchall()}
    moves: dict[str, list[LaneMove]] = {}
    lane_orgs = {a: tuple(sorted(swim.organisations_for(a))) for a in labels} if swim else {}
    for grp, activity, org, n, f, share in con.execute("""
        WITH ev AS (SELECT grp, activity, organisation, foreigner FROM conf_events WHERE in_model),
        total AS (SELECT grp, activity, count(*) AS n FROM ev GROUP BY ALL)
        SELECT ev.grp, ev.activity, ev.organisation, count(*), count(DISTINCT ev.foreigner),
               count(*) / any_value(total.n)
        FROM ev JOIN total USING (grp, activity)
        WHERE ev.organisation IS NOT NULL
          AND ev.activity IN (SELECT activity FROM cmp_task_orgs)
          AND NOT EXISTS (SELECT 1 FROM cmp_task_orgs o WHERE o.activity = ev.activity
                                                          AND o.organisation = ev.organisation)
        GROUP BY ALL""").fetchall():
        moves.setdefault(grp, []).append(
            LaneMove(activity, org, lane_orgs[activity], int(n), int(f), float(share)))
    foreigners = con.execute(
        "SELECT count(DISTINCT foreigner) FROM conf_events WHERE in_model").fetchone()

    phases = []
    for grp in groups:
        traces, events, transitions, judged, before, open_ends = totals.get(grp, (0,) * 6)
        relation = relations[grp]
        rows = sorted(forbidden.get(grp, ()), key=_forbidden_key)
        forbidden_transitions = sum(r.frequency for r in rows if r.kind == "flow")
        threshold = noise * judged
        kept = [r for r in rows if r.frequency >= threshold]
        dropped = [r for r in rows if r.frequency < threshold]
        unused = sorted((UnusedPath(kind, source, target, people.get((grp, source or ""), 0),
                                    people.get((grp, target or ""), 0))
                         for kind, source, target in unused_facts.get(grp, ())),
                        key=_unused_key)
        phases.append(PhaseComparison(
            phase=grp or None, activities=len(tasks[grp]),
            model_states=relation.states if relation else None,
            model_flows=len(relation.pairs) if relation else 0,
            traces=int(traces), events=int(events), transitions=int(transitions),
            judged_transitions=int(judged), forbidden_transitions=forbidden_transitions,
            before_data=int(before), open_ends=int(open_ends),
            forbidden=tuple(kept), left_out=len(dropped),
            left_out_frequency=sum(r.frequency for r in dropped),
            unused=tuple(unused),
            lane_moves=tuple(sorted(moves.get(grp, ()), key=lambda m: (
                -m.foreigners, -m.events, m.activity, m.organisation)))))
    return ModelComparison(
        model=swim.name if swim else str(opened[0]),  # type: ignore[index]
        model_kind="swimlane" if swim else "petri_net",
        period=period.label if period else None, noise=noise,
        coverage_start=coverage.isoformat() if coverage is not None else None,
        foreigners=int(foreigners[0]) if foreigners else 0, phases=tuple(phases))


def _ordered_groups(groups: Iterable[str]) -> list[str]:
    """Phase keys in journey order (``miner/data/phases.toml``), unknown ones by name, '' last."""
    from miner.analysis.handoffs import journey_phases

    order = {p: i for i, p in enumerate(journey_phases()[0])}
    return sorted(set(groups), key=lambda g: (g == "", order.get(g, len(order)), g))


def _load_model(con: Any, relations: Mapping[str, _Relation | None],
                tasks: Mapping[str, list[str]], swim: SwimlaneModel | None) -> None:
    """The model's facts as temp tables: ``cmp_model`` (grp, kind, source, target: its pairs,
    starts with source NULL, ends with target NULL), ``cmp_judged`` (the phases with a relation),
    ``cmp_tasks`` (grp, activity) and ``cmp_task_orgs`` (activity, organisation)."""
    model_rows: list[tuple[str, str, str | None, str | None]] = []
    for grp, rel in relations.items():
        if rel is None:
            continue
        model_rows += [(grp, "start", None, a) for a in sorted(rel.starts)]
        model_rows += [(grp, "flow", a, b) for a, b in sorted(rel.pairs)]
        model_rows += [(grp, "end", a, None) for a in sorted(rel.ends)]
    _table(con, "cmp_model", "grp VARCHAR, kind VARCHAR, source VARCHAR, target VARCHAR",
           model_rows)
    _table(con, "cmp_judged", "grp VARCHAR",
           [(g,) for g, rel in sorted(relations.items()) if rel is not None])
    _table(con, "cmp_tasks", "grp VARCHAR, activity VARCHAR",
           [(g, a) for g, labels in sorted(tasks.items()) for a in labels])
    orgs = sorted((a, o) for labels in tasks.values() for a in labels
                  for o in (swim.organisations_for(a) if swim else ()))
    _table(con, "cmp_task_orgs", "activity VARCHAR, organisation VARCHAR", orgs)


def _table(con: Any, name: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({columns})")
    if rows:
        marks = ", ".join("?" * len(rows[0]))
        con.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)


def _load_steps(con: Any) -> None:
    """``cmp_steps`` (foreigner, grp, kind, source, target, anchor): the starts, transitions and
    ends of the phase traces of ``conf_events``, each with its anchor (module docstring; NULL for
    an open end)."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE cmp_steps AS
        WITH ev AS (
            SELECT foreigner, grp, activity, ts,
                   lag(activity) OVER w AS previous, lead(pos) OVER w AS next_pos
            FROM conf_events WHERE in_model
            WINDOW w AS (PARTITION BY foreigner, grp ORDER BY pos)),
        last AS (SELECT foreigner, grp, activity, ts FROM ev WHERE next_pos IS NULL),
        later AS (
            SELECT l.foreigner, l.grp, min(x.ts) AS anchor
            FROM last l JOIN conf_events x ON x.foreigner = l.foreigner AND x.ts > l.ts
            GROUP BY ALL)
        SELECT foreigner, grp, CASE WHEN previous IS NULL THEN 'start' ELSE 'flow' END AS kind,
               previous AS source, activity AS target, ts AS anchor
        FROM ev
        UNION ALL
        SELECT l.foreigner, l.grp, 'end', l.activity, NULL, later.anchor
        FROM last l LEFT JOIN later USING (foreigner, grp)""")


def _forbidden_key(r: ForbiddenFlow) -> tuple[Any, ...]:
    return (-r.foreigners, -r.frequency, STEP_KINDS.index(r.kind), r.source or "",
            r.target or "")


def _unused_key(r: UnusedPath) -> tuple[Any, ...]:
    return (r.kind != "task", -r.weight, UNUSED_KINDS.index(r.kind), r.source or "",
            r.target or "")
