"""``check_conformance``: a chain workspace against the reference swimlane model (or an own model):
control flow, lanes and norms, as deviations per foreigner with evidence, and conformance rates.

The traces. A foreigner's *trace* is their events of the ``journey``
(:mod:`miner.analysis.journey`) in time and read order, one event per activity occurrence: for an
activity recorded with a lifecycle (a COA stay, ``start``/``complete``) its ``start`` event, for any
other its ``complete`` event. Events of activities the model does not have are *not in model*
(:mod:`miner.conformance.deviations`) and left out of the traces.

Control flow per phase. A swimlane model's tasks carry a phase (aanmeldfase, RVT, AA, VA, beroep,
uitstroom, vertrek). For each phase the trace is projected on the phase's activities and aligned
against the model projected on them (the other tasks silent,
:func:`miner.conformance._bpmn_net.to_petri_net`): this keeps alignments tractable (a journey can
hold 60 events, a phase at most about 25) and places each deviation in its phase. Each distinct
projected trace (variant) is checked once (:func:`miner.conformance._controlflow.check_variants`)
and its deviations are spread to every foreigner with it. A Petri net or process tree (no lanes,
no phases) is checked on whole traces; its lane checks are skipped.

Figures. Per phase: token-replay fitness, alignment fitness and percentage fitting over its traces
(pm4py's log-level definitions), and ETConformance precision. Overall: the same figures averaged
over the phases weighted by their number of traces. Unresolved variants (over the time budget)
are left out of the fitness figures and reported as ``unresolved`` deviations.

Conformance rate: the share of foreigners with no deviation (not accepted by the allowlist, and of
a category other than *not in model*). Per dimension value (``month``, ``phase``, ``lane``,
``partner``): the foreigners with an event there (for ``lane``: an event of a task of that lane;
for ``partner``: an event recorded by that partner), and those of them with a deviation there (a
deviation lies in the local month and partner of its first evidence event, and in its task's
phase and lanes; a skipped step or unresolved trace has no partner). ``foreigners = conforming +
deviating`` on every row.

With a ``period`` the foreigners with an event in it are checked (on their whole traces) and the
deviations whose first evidence event lies in it are kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from miner.analysis._result import SCHEMA_VERSION
from miner.analysis.journey import create_journey
from miner.analysis.norms import norms as norm_adherence
from miner.analysis.period import Period
from miner.catalogue import chain_catalogue
from miner.conformance import lanes as lane_checks
from miner.conformance._automaton import directly_follows, reachability_automaton
from miner.conformance._bpmn_net import to_petri_net
from miner.conformance._controlflow import check_variants, load_model
from miner.conformance.allowlist import AllowEntry, apply_allowlist, read_allowlist
from miner.conformance.coverage import activity_coverage, load_coverage, log_coverage_start
from miner.conformance.deviations import (
    BEFORE_LOG_SUFFIX,
    CATEGORIES,
    RATED,
    SEP,
    Deviation,
    Evidence,
    late_rows,
    load_templates,
    move_templates,
    spread,
    temp_table_from_arrow,
)
from miner.conformance.organisations import match_organisations
from miner.conformance.readings import (
    Reading,
    ReadingUse,
    check_names,
    lane_reading_of,
    load_readings,
    read_variants,
    widen_lanes,
)
from miner.conformance.swimlane import (
    SwimlaneModel,
    read_swimlane_model,
    reference_model,
    reference_path,
)
from miner.model.filters import sql_literal
from miner.model.log import Log

KIND = "conformance"
DIMENSIONS = ("month", "phase", "lane", "partner")


@dataclass(frozen=True)
class PhaseFitness:
    """Control flow in one phase (``None``: whole traces of a model without phases): the traces
    (foreigners), distinct variants, unresolved variants, and the figures (None without a resolved
    variant)."""

    phase: str | None
    activities: int
    traces: int
    variants: int
    unresolved: int
    replay_fitness: float | None
    alignment_fitness: float | None
    percentage_fitting: float | None
    precision: float | None


@dataclass(frozen=True)
class VariantRow:
    """One checked variant of one phase: the activities, the foreigners with it, the outcome."""

    phase: str | None
    variant: tuple[str, ...]
    cases: int
    status: str
    replay_fitness: float | None
    alignment_fitness: float | None
    alignment_cost: int | None
    deviations: int
    reason: str | None


@dataclass(frozen=True)
class CategoryCount:
    """Deviations of one category: findings, foreigners with one, and accepted ones."""

    category: str
    deviations: int
    foreigners: int
    accepted: int


@dataclass(frozen=True)
class Rate:
    """The conformance rate for one value of a dimension (``month``, ``phase``, ``lane``,
    ``partner``): foreigners there, how many with a deviation there, the rest conforming."""

    dimension: str
    value: str
    foreigners: int
    deviating: int
    conforming: int
    rate: float


@dataclass(frozen=True)
class OrganisationName:
    """An organisation the log names on model events that matches no lane organisation of the
    model, not even through an alias: its events are judged wrong lane; listed so a missing alias
    is seen (:mod:`miner.conformance.organisations`)."""

    name: str
    events: int
    foreigners: int


@dataclass(frozen=True)
class Conformance:
    """The result of :func:`check_conformance` (see the module docstring for every definition)."""

    model: str
    model_kind: str
    period: str | None
    as_of: str
    foreigners: int
    conforming: int
    conformance_rate: float | None
    replay_fitness: float | None
    alignment_fitness: float | None
    percentage_fitting: float | None
    precision: float | None
    unresolved: int
    phases: tuple[PhaseFitness, ...]
    counts: tuple[CategoryCount, ...]
    rates: tuple[Rate, ...]
    variants: tuple[VariantRow, ...]
    deviations: tuple[Deviation, ...]
    accepted: tuple[Deviation, ...]
    expired: tuple[AllowEntry, ...]
    unmatched_organisations: tuple[OrganisationName, ...] = ()
    readings: tuple[ReadingUse, ...] = ()
    read: tuple[Deviation, ...] = ()

    def count(self, category: str) -> int:
        return next((c.deviations for c in self.counts if c.category == category), 0)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": KIND, **asdict(self)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Conformance:
        if d.get("kind") != KIND or d.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"not a {KIND} result of schema version {SCHEMA_VERSION}")
        plain = {f.name: d[f.name] for f in fields(cls) if f.name in d}
        return cls(**{
            **plain,
            "phases": tuple(PhaseFitness(**p) for p in d["phases"]),
            "counts": tuple(CategoryCount(**c) for c in d["counts"]),
            "rates": tuple(Rate(**r) for r in d["rates"]),
            "variants": tuple(VariantRow(**{**v, "variant": tuple(v["variant"])})
                              for v in d["variants"]),
            "deviations": tuple(Deviation.from_dict(x) for x in d["deviations"]),
            "accepted": tuple(Deviation.from_dict(x) for x in d["accepted"]),
            "expired": tuple(AllowEntry(**e) for e in d["expired"]),
            "unmatched_organisations": tuple(OrganisationName(**u) for u in
                                             d.get("unmatched_organisations", ())),
            "readings": tuple(ReadingUse(**r) for r in d.get("readings", ())),
            "read": tuple(Deviation.from_dict(x) for x in d.get("read", ())),
        })


def open_model(model: SwimlaneModel | str | Path | None, *,
               lane_organisations: Mapping[str, str] | None = None
               ) -> SwimlaneModel | tuple[str, Any, Any, Any]:
    """The reference model (None), a swimlane model, or a model file: ``.bpmn`` with lanes read as a
    swimlane model, ``.pnml``/``.ptml`` as (name, net, im, fm)."""
    if model is None:
        return reference_model()
    if isinstance(model, SwimlaneModel):
        return model
    path = Path(model)
    if path.suffix.lower() == ".bpmn":
        return read_swimlane_model(path, lane_organisations=lane_organisations)
    net, im, fm = load_model(path)
    return (path.name, net, im, fm)


def check_conformance(log: Log, model: SwimlaneModel | str | Path | None = None, *,
                      allowlist: str | Path | tuple[AllowEntry, ...] | None = None,
                      period: Period | None = None, budget_s: float = 10.0,
                      workers: int | None = None, as_of: date | None = None,
                      lane_organisations: Mapping[str, str] | None = None,
                      readings: Sequence[Reading] | None = None,
                      reject_readings: Iterable[str] = ()) -> Conformance:
    """Check the journeys of a workspace made by ``miner ingest`` against ``model`` (default: the
    shipped reference model; a ``.bpmn``, ``.pnml`` or ``.ptml`` file; or a
    :class:`SwimlaneModel`). ``allowlist``: a file (or entries) of accepted deviations, valid on
    ``as_of`` (default today); ``budget_s``: alignment time budget per variant; ``workers``:
    processes for the alignments (default: all cores); ``lane_organisations``: lane name →
    organisation for an own BPMN. ``readings``: the model's documented readings (default: the
    shipped ones for the shipped reference model, none for another model); ``reject_readings``:
    ids of readings the auditor rejects (:mod:`miner.conformance.readings`). See the module
    docstring."""
    opened = open_model(model, lane_organisations=lane_organisations)
    swim = opened if isinstance(opened, SwimlaneModel) else None
    if readings is None:
        shipped = swim is not None and swim.path == str(reference_path())
        readings = load_readings() if shipped else ()
    rejected = check_names(reject_readings, readings)
    order_readings = [r for r in readings if r.kind == "order"]
    lane_readings = [r for r in readings if r.kind == "lane"] if swim is not None else []
    lane_model = widen_lanes(swim, lane_readings) if swim is not None and lane_readings else swim
    entries = (read_allowlist(allowlist) if isinstance(allowlist, (str, Path))
               else tuple(allowlist or ()))
    today = as_of or datetime.now(UTC).date()
    con = log.con
    labels, phase_of, renamed, unmatched = model_traces(log, opened, period)
    lanes_of = _lanes(lane_model)
    tasks_of = {t.label: t.id for t in sorted((swim.tasks.values() if swim else ()),
                                              key=lambda t: t.id, reverse=True)}

    # control flow, one group (phase) at a time
    groups = [r[0] for r in con.execute(
        "SELECT DISTINCT grp FROM conf_traces ORDER BY grp").fetchall()]
    phases: list[PhaseFitness] = []
    variant_rows: list[VariantRow] = []
    templates: list[tuple[str, str, str, str | None, int, str | None, str | None]] = []
    followed: dict[str, int] = {}  # order reading -> foreigners whose trace follows it
    for grp in groups:
        group_labels = sorted(a for a in labels if (phase_of.get(a) or "") == grp) \
            if swim is not None else sorted(labels)
        if swim is not None:
            net, im, fm = to_petri_net(swim, labels=set(group_labels), reduce=True)
        else:
            net, im, fm = opened[1:]  # type: ignore[index]
        found = {tuple(v.split(SEP)): int(n) for v, n in con.execute(
            "SELECT variant, count(*) FROM conf_traces WHERE grp = ? GROUP BY variant",
            [grp]).fetchall()}
        reads = read_variants(found, [r for r in order_readings
                                      if phase_of.get(r.step or "") == grp])
        as_read: dict[tuple[str, ...], int] = {}
        for rv in reads:
            as_read[rv.read] = as_read.get(rv.read, 0) + found[rv.variant]
        result = check_variants(net, im, fm, as_read, budget_s=budget_s, workers=workers,
                                reachability=True)
        checks = {c.variant: c for c in result.variants}
        extra = {t: 1 for rv in reads for t, _ in rv.without.values() if t not in checks}
        if extra:  # traces read with one reading rejected: their deviations name that reading
            checks.update({c.variant: c for c in check_variants(
                net, im, fm, extra, budget_s=budget_s, workers=workers, reachability=True,
                precision=False).variants})
        for check in result.variants:
            variant_rows.append(VariantRow(grp or None, check.variant, check.cases, check.status,
                                           check.replay_fitness, check.alignment_fitness,
                                           check.alignment_cost, len(move_templates(check)),
                                           check.reason))
        for rv in reads:
            for rid in rv.follows:
                followed[rid] = followed.get(rid, 0) + found[rv.variant]
            key = SEP.join(rv.variant)
            made = move_templates(checks[rv.read], rv.positions)
            templates += [(grp, key, c, a, p, d, None) for c, a, p, d in made]
            for rid, (trace, positions) in rv.without.items():
                # what the trace read without this reading has beyond the default (by category
                # and step: an anchor may move with the step)
                holds = Counter((c, a) for c, a, _, _ in made)
                for c, a, p, d in move_templates(checks[trace], positions):
                    if holds[(c, a)] > 0:
                        holds[(c, a)] -= 1
                    else:
                        templates.append((grp, key, c, a, p, d, rid))
        resolved = result.unresolved < len(result.variants)
        phases.append(PhaseFitness(
            grp or None, len(group_labels), sum(found.values()), len(found), result.unresolved,
            result.log_replay_fitness if resolved else None,
            result.log_alignment_fitness if resolved else None,
            result.percentage_fitting if resolved else None, result.precision))
    load_templates(con, templates)
    deviations = [_from_spread(r, lanes_of, tasks_of) for r in spread(con)]

    if swim is not None and lane_model is not None:
        deviations += _lane_deviations(con, swim, lane_model, lane_readings, lanes_of, tasks_of)
    late = _late(log, period, lanes_of, tasks_of, phase_of)
    deviations += [replace(d, organisation=renamed.get(d.organisation or "", d.organisation))
                   for d in late] if renamed else late
    deviations += [_from_lane(r, lanes_of, tasks_of) for r in con.execute("""
        SELECT foreigner, 'not_in_model', activity, organisation, partner, NULL,
               'the model has no task ' || activity, [event_id], [source], [source_row], [ts]
        FROM conf_events WHERE NOT in_model""").fetchall()]
    if period is not None:
        lo, hi = period.start_utc.isoformat(), period.end_utc.isoformat()
        deviations = [d for d in deviations if d.evidence and lo <= d.evidence[0].ts < hi]
    deviations.sort(key=Deviation.sort_key)
    read = [d for d in deviations if d.reading is not None and d.reading not in rejected]
    judged = [d for d in deviations if d.reading is None or d.reading in rejected]
    findings, accepted, expired = apply_allowlist(judged, entries, today)
    rates, checked, conforming = _rates(con, findings, lane_model)
    uses = _reading_uses(con, readings, rejected, findings, read, swim, followed, checked,
                         conforming)
    return Conformance(
        model=swim.name if swim else str(opened[0]),  # type: ignore[index]
        model_kind="swimlane" if swim else "petri_net",
        period=period.label if period else None, as_of=today.isoformat(),
        foreigners=checked, conforming=conforming,
        conformance_rate=conforming / checked if checked else None,
        replay_fitness=_weighted(phases, "replay_fitness"),
        alignment_fitness=_weighted(phases, "alignment_fitness"),
        percentage_fitting=_weighted(phases, "percentage_fitting"),
        precision=_weighted(phases, "precision"),
        unresolved=sum(p.unresolved for p in phases), phases=tuple(phases),
        counts=_counts(findings, accepted), rates=rates, variants=tuple(variant_rows),
        deviations=tuple(findings), accepted=tuple(accepted), expired=expired,
        unmatched_organisations=unmatched, readings=uses, read=tuple(read))


def model_traces(log: Log, opened: SwimlaneModel | tuple[str, Any, Any, Any],
                 period: Period | None
                 ) -> tuple[frozenset[str], dict[str, str | None], dict[str, str],
                            tuple[OrganisationName, ...]]:
    """The traces of ``log`` against an opened model (:func:`open_model`) as the temp tables
    ``conf_events`` and ``conf_traces`` (:func:`_events`), organisation names matched to a swimlane
    model's lanes (:func:`_match_organisations`). Returns the model's activity labels, their
    phases, the names rewritten and the names that match no lane."""
    create_journey(log)
    swim = opened if isinstance(opened, SwimlaneModel) else None
    if swim is not None:
        labels = swim.labels()
        phase_of = {a: swim.phase_of(a) for a in labels}
    else:
        net = opened[1]  # type: ignore[index]
        labels = frozenset(t.label for t in net.transitions if t.label is not None)
        catalogue = {a.label: a.id for a in chain_catalogue().values()}
        from miner.analysis.handoffs import journey_phases
        ids = journey_phases()[1]
        phase_of = {a: ids.get(catalogue.get(a, ""), None) for a in labels}
    _events(log.con, labels, phase_of, grouped=swim is not None, period=period)
    if swim is None:
        return labels, phase_of, {}, ()
    return (labels, phase_of, *_match_organisations(log.con, swim))


def _lane_deviations(con: Any, swim: SwimlaneModel, lane_model: SwimlaneModel,
                     lane_readings: Sequence[Reading], lanes_of: Mapping[str, tuple[str, ...]],
                     tasks_of: Mapping[str, str]) -> list[Deviation]:
    """The lane findings against the model with every lane reading's lanes added, and those that
    appear only against the model without them, each naming the lane reading of its activity (or
    of the activity of one of its evidence events, for a hand-off into or out of that step)."""
    follows = _model_follows(swim)
    strict: list[tuple[Any, ...]] = []
    if lane_readings:
        lane_checks.load_lane_tables(con, swim, follows)
        strict = lane_checks.lane_findings(con)
    lane_checks.load_lane_tables(con, lane_model, follows)
    wide = lane_checks.lane_findings(con)
    found = [_from_lane(r, lanes_of, tasks_of) for r in wide]

    def key(r: tuple[Any, ...]) -> tuple[Any, ...]:
        return (r[0], r[1], r[2], tuple(r[7]))

    held = {key(r) for r in wide}
    only = [r for r in strict if key(r) not in held]
    if not only:
        return found
    reading_of = lane_reading_of(lane_readings)
    ids = sorted({str(e) for r in only for e in r[7]})
    activity_of = dict(con.execute(
        "SELECT event_id, activity FROM conf_events WHERE list_contains($ids, event_id)",
        {"ids": ids}).fetchall())
    for r in only:
        names = [r[2], *(activity_of.get(str(e)) for e in r[7])]
        rid = next((reading_of[a] for a in names if a in reading_of), None)
        found.append(replace(_from_lane(r, lanes_of, tasks_of), reading=rid))
    return found


def _reading_uses(con: Any, readings: Sequence[Reading], rejected: frozenset[str],
                  findings: Sequence[Deviation], read: Sequence[Deviation],
                  swim: SwimlaneModel | None, followed: Mapping[str, int], checked: int,
                  conforming: int) -> tuple[ReadingUse, ...]:
    """Per reading: followers, its deviations and foreigners, and the conformance rate with it
    accepted and rejected (the others as chosen; see :class:`ReadingUse`)."""
    if not readings:
        return ()
    deviating = {d.foreigner for d in findings if d.category in RATED}
    # foreigner -> the readings of their rated findings (None: one that holds under every reading)
    others: dict[str, set[str | None]] = {}
    for d in findings:
        if d.category in RATED:
            others.setdefault(d.foreigner, set()).add(d.reading)
    uses = []
    for r in readings:
        own = [d for d in (*read, *findings) if d.reading == r.id and d.category in RATED]
        people = {d.foreigner for d in own}
        if r.id in rejected:
            freed = sum(1 for f in people if others.get(f) == {r.id})
            rate_acc, rate_rej = conforming + freed, conforming
        else:
            rate_acc, rate_rej = conforming, conforming - len(people - deviating)
        uses.append(ReadingUse(
            r.id, r.conflict, r.kind, r.id not in rejected, followed.get(r.id) or _followers(con, r, swim),
            len(own), len(people),
            rate_acc / checked if checked and r.kind != "note" else None,
            rate_rej / checked if checked and r.kind != "note" else None))
    return tuple(uses)


def _followers(con: Any, reading: Reading, swim: SwimlaneModel | None) -> int:
    """Foreigners with an event of a lane reading's step performed by an organisation that only
    its lanes allow (0 for another kind)."""
    if reading.kind != "lane" or swim is None or reading.step is None:
        return 0
    extra = sorted({o for lane in swim.lanes.values() if lane.name in reading.lanes
                    for o in lane.organisations} - swim.organisations_for(reading.step))
    if not extra:
        return 0
    return int(con.execute(
        "SELECT count(DISTINCT foreigner) FROM conf_events WHERE activity = $a "
        "AND list_contains($orgs, organisation)", {"a": reading.step, "orgs": extra}).fetchall()[0][0])


def _model_follows(swim: SwimlaneModel) -> frozenset[tuple[str, str]]:
    """The directly-follows relation of the whole model's language (empty when its reachability
    graph is too large to build)."""
    auto = reachability_automaton(*to_petri_net(swim, reduce=True))
    return directly_follows(auto) if auto is not None else frozenset()


def _events(con: Any, labels: frozenset[str], phase_of: Mapping[str, str | None], *,
            grouped: bool, period: Period | None) -> None:
    """``conf_events``: the trace events (one per occurrence) with ``in_model``, the model
    ``phase``, the alignment group ``grp`` and the position ``pos`` in the group's trace;
    ``conf_traces``: (foreigner, grp, variant key) for the model events."""
    con.execute("CREATE OR REPLACE TEMP TABLE conf_labels (activity VARCHAR, phase VARCHAR)")
    con.executemany("INSERT INTO conf_labels VALUES (?, ?)",
                    [(a, phase_of.get(a)) for a in sorted(labels)])
    scope = ""
    if period is not None:
        scope = (f"AND foreigner IN (SELECT foreigner FROM journey WHERE "
                 f"{period.sql_range('ts')})")
    grp = "coalesce(l.phase, '')" if grouped else "''"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE conf_events AS
        WITH staged AS (SELECT DISTINCT activity FROM journey WHERE lifecycle = 'start')
        SELECT j.foreigner, j.event_id, j.ts, j.seq, j.activity, j.performer AS organisation,
               j.partner,
               j.source, j.source_row, l.activity IS NOT NULL AS in_model, l.phase,
               CASE WHEN l.activity IS NOT NULL THEN {grp} END AS grp,
               CASE WHEN l.activity IS NOT NULL THEN row_number() OVER (
                   PARTITION BY j.foreigner, l.activity IS NOT NULL, {grp}
                   ORDER BY j.ts, j.seq) END AS pos
        FROM journey j LEFT JOIN conf_labels l USING (activity)
        WHERE (j.lifecycle = 'start' OR j.activity NOT IN (SELECT activity FROM staged)) {scope}
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE conf_traces AS
        SELECT foreigner, grp, string_agg(activity, {sql_literal(SEP)} ORDER BY pos) AS variant
        FROM conf_events WHERE in_model GROUP BY foreigner, grp""")


def _match_organisations(con: Any, swim: SwimlaneModel
                         ) -> tuple[dict[str, str], tuple[OrganisationName, ...]]:
    """Rewrite the organisations of ``conf_events`` to the model's spelling where they match a lane
    organisation through case folding or an alias (:mod:`miner.conformance.organisations`).
    Returns the names rewritten (log name → lane organisation) and the names of model events that
    match none, with their events and foreigners."""
    lane_orgs = {o for lane in swim.lanes.values() for o in lane.organisations}
    names = [r[0] for r in con.execute(
        "SELECT DISTINCT organisation FROM conf_events WHERE organisation IS NOT NULL").fetchall()]
    matched, unmatched = match_organisations(names, lane_orgs)
    renamed = {a: b for a, b in matched.items() if a != b}
    if renamed:
        con.execute("CREATE OR REPLACE TEMP TABLE conf_org_names (name VARCHAR, lane_org VARCHAR)")
        con.executemany("INSERT INTO conf_org_names VALUES (?, ?)", sorted(renamed.items()))
        con.execute("""UPDATE conf_events SET organisation = n.lane_org FROM conf_org_names n
                       WHERE conf_events.organisation = n.name""")
    if not unmatched:
        return renamed, ()
    rows = con.execute("""
        SELECT organisation, count(*), count(DISTINCT foreigner) FROM conf_events
        WHERE in_model AND list_contains($names, organisation)
        GROUP BY organisation ORDER BY 2 DESC, 1""", {"names": list(unmatched)}).fetchall()
    return renamed, tuple(OrganisationName(n, int(e), int(f)) for n, e, f in rows)


def _lanes(swim: SwimlaneModel | None) -> dict[str, tuple[str, ...]]:
    """Activity label → the names of its task's lanes (all tasks with that label)."""
    found: dict[str, set[str]] = {}
    for t in (swim.tasks.values() if swim else ()):
        found.setdefault(t.label, set()).update(swim.lanes[x].name for x in t.lanes)  # type: ignore[union-attr]
    return {a: tuple(sorted(v)) for a, v in found.items()}


def _evidence(ids: list[Any], sources: list[Any], rows: list[Any], times: list[Any]
              ) -> tuple[Evidence, ...]:
    return tuple(Evidence(str(e), str(s), int(r), t.astimezone(UTC).isoformat())
                 for e, s, r, t in zip(ids, sources, rows, times, strict=True))


def _lane_text(lanes_of: Mapping[str, tuple[str, ...]], activity: str | None) -> str | None:
    names = lanes_of.get(activity or "")
    return " / ".join(names) if names else None


def _from_spread(r: tuple[Any, ...], lanes_of: Mapping[str, tuple[str, ...]],
                 tasks_of: Mapping[str, str]) -> Deviation:
    foreigner, category, activity, org, partner, detail, phase, eid, src, row, ts, reading = r
    return Deviation(foreigner, category, activity, tasks_of.get(activity or ""),
                     _lane_text(lanes_of, activity), org, partner, phase, detail,
                     _evidence([eid], [src], [row], [ts]), reading=reading)


def _from_lane(r: tuple[Any, ...], lanes_of: Mapping[str, tuple[str, ...]],
               tasks_of: Mapping[str, str]) -> Deviation:
    foreigner, category, activity, org, partner, phase, detail, ids, srcs, rows, times = r
    return Deviation(foreigner, category, activity, tasks_of.get(activity),
                     _lane_text(lanes_of, activity), org, partner, phase, detail,
                     _evidence(ids, srcs, rows, times))


def _late(log: Log, period: Period | None, lanes_of: Mapping[str, tuple[str, ...]],
          tasks_of: Mapping[str, str], phase_of: Mapping[str, str | None]) -> list[Deviation]:
    """Late and overdue norm cases (:mod:`miner.analysis.norms`) as deviations: ``late``, or
    ``before_log`` when the clock started on a day before the coverage start of the norm's stopping
    step (:mod:`miner.conformance.coverage`; the stopping step may then lie in data that does not
    reach back that far)."""
    catalogue = chain_catalogue()
    result = norm_adherence(log, cases=True)
    con = log.con
    load_coverage(con)
    by_activity = activity_coverage(con)
    log_day = coverage_day(log)
    cases = []
    category: dict[tuple[str, str, str], str] = {}
    label_of: dict[str, str] = {}
    for n in load_norm_defs():
        got = result.get(n.id)
        label_of[n.id] = catalogue[n.stop[0].activity].label
        days = [by_activity[r.activity][1] for r in n.stop if r.activity in by_activity]
        coverage = min(days) if days else log_day
        for c in got.cases:
            if c.status == "late":
                detail = f"{n.id}: {c.lateness} day(s) after the last allowed day {c.deadline}"
            elif c.status == "overdue":
                detail = f"{n.id}: still open after the last allowed day {c.deadline}"
            else:
                continue
            if coverage is not None and c.start < coverage:
                detail += BEFORE_LOG_SUFFIX.format(coverage=coverage)
                category[(c.foreigner, n.id, detail)] = "before_log"
            cases.append((c.foreigner, detail, n.id, c.start, tuple(r.activity for r in n.start),
                          tuple(r.activity for r in n.stop)))
    found = []
    for foreigner, detail, norm, ids, srcs, rows, times, org, partner in late_rows(con, cases):
        label = label_of[norm]
        found.append(Deviation(foreigner, category.get((foreigner, norm, detail), "late"), label,
                               tasks_of.get(label), _lane_text(lanes_of, label), org, partner,
                               phase_of.get(label), detail, _evidence(ids, srcs, rows, times)))
    return found


def coverage_day(log: Log) -> str | None:
    """The local day (YYYY-MM-DD, Europe/Amsterdam) of the log's coverage start: the latest of the
    sources' first event times in the journey (None without events)."""
    create_journey(log)
    return log_coverage_start(log.con)[1]


def load_norm_defs() -> tuple[Any, ...]:
    from miner.analysis.norms import load_norms
    return load_norms()


def _weighted(phases: list[PhaseFitness], name: str) -> float | None:
    pairs = [(p.traces, getattr(p, name)) for p in phases if getattr(p, name) is not None]
    total = sum(n for n, _ in pairs)
    return sum(n * v for n, v in pairs) / total if total else None


def _counts(findings: list[Deviation], accepted: list[Deviation]) -> tuple[CategoryCount, ...]:
    return tuple(CategoryCount(
        c, sum(d.category == c for d in findings),
        len({d.foreigner for d in findings if d.category == c}),
        sum(d.category == c for d in accepted)) for c in CATEGORIES)


def _rates(con: Any, findings: list[Deviation], swim: SwimlaneModel | None
           ) -> tuple[tuple[Rate, ...], int, int]:
    """Conformance rates per dimension value, and the foreigners checked and conforming."""
    rows: dict[str, list[str]] = {"foreigner": [], "dimension": [], "value": []}

    def add(foreigner: str, dimension: str, value: str) -> None:
        rows["foreigner"].append(foreigner)
        rows["dimension"].append(dimension)
        rows["value"].append(value)

    for d in findings:
        if d.category not in RATED:
            continue
        add(d.foreigner, "all", "")
        if d.evidence:
            add(d.foreigner, "month", _month(d.evidence[0].ts))
        if d.phase:
            add(d.foreigner, "phase", d.phase)
        for lane in (d.lane or "").split(" / "):
            if lane:
                add(d.foreigner, "lane", lane)
        if d.partner:
            add(d.foreigner, "partner", d.partner)
    temp_table_from_arrow(con, "conf_dev",
                          pa.table({k: pa.array(v, pa.string()) for k, v in rows.items()}))
    con.execute("CREATE OR REPLACE TEMP TABLE conf_lane_of (activity VARCHAR, lane VARCHAR)")
    lane_rows = sorted({(t.label, swim.lanes[x].name) for t in swim.tasks.values()
                        for x in t.lanes}) if swim else []
    if lane_rows:
        con.executemany("INSERT INTO conf_lane_of VALUES (?, ?)", lane_rows)
    found = con.execute("""
        WITH pop AS (
            SELECT DISTINCT foreigner, 'all' AS dimension, '' AS value FROM conf_events
            UNION SELECT foreigner, 'month',
                         strftime(timezone('Europe/Amsterdam', ts), '%Y-%m') FROM conf_events
            UNION SELECT foreigner, 'phase', phase FROM conf_events WHERE phase IS NOT NULL
            UNION SELECT foreigner, 'lane', l.lane FROM conf_events JOIN conf_lane_of l
                  USING (activity) WHERE in_model
            UNION SELECT foreigner, 'partner', partner FROM conf_events
                  WHERE partner IS NOT NULL),
        bad AS (SELECT DISTINCT * FROM conf_dev)
        SELECT p.dimension, p.value, count(*), count(b.foreigner)
        FROM pop p LEFT JOIN bad b USING (foreigner, dimension, value)
        GROUP BY ALL ORDER BY 1, 2""").fetchall()
    rates = []
    checked = conforming = 0
    for dim, value, n, bad in found:
        if dim == "all":
            checked, conforming = int(n), int(n - bad)
            continue
        rates.append(Rate(dim, value, int(n), int(bad), int(n - bad), (n - bad) / n))
    order = {d: i for i, d in enumerate(DIMENSIONS)}
    return tuple(sorted(rates, key=lambda r: (order[r.dimension], r.value))), checked, conforming


def _month(ts: str) -> str:
    from zoneinfo import ZoneInfo
    return datetime.fromisoformat(ts).astimezone(ZoneInfo("Europe/Amsterdam")).strftime("%Y-%m")
