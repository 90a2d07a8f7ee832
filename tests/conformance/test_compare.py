"""compare_models and `miner conformance --compare`: a hand-built log whose forbidden flows, unused
model paths and lane moves are known exactly; on two weeks of the simulated chain the same tables
counted independently with pandas, and the planted "spoor after hearing" as the forbidden flow
Aanmeldgehoor (dag 3) -> Bepalen van spoor; the command's output; the year (slow)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from miner.analysis.journey import create_journey
from miner.conformance._automaton import reachability_automaton
from miner.conformance._bpmn_net import to_petri_net
from miner.conformance.cli import register
from miner.conformance.compare import (
    ForbiddenFlow,
    LaneMove,
    ModelComparison,
    UnusedPath,
    compare_models,
    model_relation,
)
from miner.conformance.swimlane import Flow, Lane, SwimlaneModel, Task, reference_model
from miner.errors import InputError
from miner.model.log import Log, connect
from miner.simulation import SimulationResult
from tests.conftest import KEY, Ingested, import_pm4py, ingest_run, reallog

HEARING, SPOOR = "Aanmeldgehoor (dag 3)", "Bepalen van spoor"

# --- a hand-built model and log -------------------------------------------------------------------

#: aanmeldfase: A (IND) -> one of B / D / G (COA) -> C (IND); RVT: E (IND) -> F (COA).
TINY = SwimlaneModel(
    name="tiny", path=None,
    lanes={"L_IND": Lane("L_IND", "IND", frozenset({"IND"})),
           "L_COA": Lane("L_COA", "COA", frozenset({"COA"}))},
    tasks={t.id: t for t in (
        Task("tA", "A", ("L_IND",), "aanmeldfase"), Task("tB", "B", ("L_COA",), "aanmeldfase"),
        Task("tD", "D", ("L_COA",), "aanmeldfase"), Task("tG", "G", ("L_COA",), "aanmeldfase"),
        Task("tC", "C", ("L_IND",), "aanmeldfase"), Task("tE", "E", ("L_IND",), "RVT"),
        Task("tF", "F", ("L_COA",), "RVT"))},
    flows=tuple(Flow(f"f{i}", a, b) for i, (a, b) in enumerate((
        ("start", "tA"), ("tA", "x1"), ("x1", "tB"), ("x1", "tD"), ("x1", "tG"), ("tB", "x2"),
        ("tD", "x2"), ("tG", "x2"), ("x2", "tC"), ("tC", "tE"), ("tE", "tF"), ("tF", "end")))),
    nodes={"start": "startEvent", "x1": "exclusiveGateway", "x2": "exclusiveGateway",
           "end": "endEvent"},
)
DAY = timedelta(days=1)
#: Source "b" begins on 2021-01-10 09:00: the coverage start. F5's aanmeldfase lies before it.
COVERAGE = datetime.fromisoformat("2021-01-10T09:00:00+00:00")
#: foreigner -> (activity, organisation or None, source), one event per day from their start day
TRACES: dict[str, tuple[datetime, list[tuple[str, str | None, str]]]] = {
    "F1": (COVERAGE, [("A", "IND", "b"), ("B", "COA", "a"), ("C", "IND", "a"), ("E", "IND", "a"),
                      ("F", "COA", "a")]),
    # A -> C is forbidden; E by the Politie is a lane move
    "F2": (COVERAGE + DAY, [("A", "IND", "a"), ("C", "IND", "a"), ("E", "Politie", "a"),
                            ("F", "COA", "a")]),
    # D -> D is forbidden; the second D by the IND is a lane move
    "F3": (COVERAGE + DAY, [("A", "IND", "a"), ("D", "COA", "a"), ("D", "IND", "a"),
                            ("C", "IND", "a"), ("E", "IND", "a"), ("F", "COA", "a")]),
    # starts with B and ends with B: both forbidden; the end is judged, an event (not in the
    # model) follows
    "F4": (COVERAGE + DAY, [("B", "COA", "a"), ("X", "COA", "a")]),
    # before the data: its start and A -> C are not judged; its end C is (E follows, after it)
    "F5": (COVERAGE - 9 * DAY, [("A", "IND", "a"), ("C", "IND", "a")]),
    # ends with B and goes on: a forbidden end
    "F6": (COVERAGE + 2 * DAY, [("A", "IND", "a"), ("B", "COA", "a"), ("E", "IND", "a"),
                                ("F", "COA", "a")]),
    # ends with B as its very last event: open, not judged; B without a performer
    "F7": (COVERAGE + 2 * DAY, [("A", "IND", "a"), ("B", None, "a")]),
}
F5_RVT = (COVERAGE + DAY, [("E", "IND", "a")])  # F5's RVT: one E, its last event (an open end)


def tiny_log() -> Log:
    log = connect()
    con = log.con
    seq = 0
    for i, person in enumerate(sorted(TRACES)):
        con.execute("INSERT INTO objects VALUES (?, 'vreemdeling', ?)",
                    [f"vreemdeling:{person}", i])
        parts = [TRACES[person]] + ([F5_RVT] if person == "F5" else [])
        for start, steps in parts:
            for k, (activity, organisation, source) in enumerate(steps):
                seq += 1
                event = f"{person}-{seq}"
                con.execute("INSERT INTO events VALUES (?, ?, ?, ?, NULL, ?, ?)",
                            [event, activity, start + k * DAY, source, seq, seq])
                con.execute("INSERT INTO event_objects VALUES (?, ?, 'vreemdeling', ?)",
                            [event, f"vreemdeling:{person}", seq])
                if organisation is not None:
                    con.execute("INSERT INTO event_attributes VALUES (?, 'organisation', 'string',"
                                " ?, NULL, NULL, NULL, NULL, ?)", [event, organisation, seq])
    return log


def test_the_model_relation_of_a_phase_is_its_pairs_starts_and_ends() -> None:
    auto = reachability_automaton(*to_petri_net(TINY, labels={"A", "B", "C", "D", "G"},
                                                reduce=True))
    assert auto is not None
    pairs, starts, ends = model_relation(auto)
    assert pairs == {("A", "B"), ("A", "D"), ("A", "G"), ("B", "C"), ("D", "C"), ("G", "C")}
    assert (starts, ends) == ({"A"}, {"C"})


def test_a_tiny_log_gives_exactly_the_known_tables() -> None:
    log = tiny_log()
    try:
        found = compare_models(log, TINY)
    finally:
        log.close()
    assert [p.phase for p in found.phases] == ["aanmeldfase", "RVT"]  # journey order
    assert found.foreigners == 7 and found.coverage_start == COVERAGE.isoformat()
    a = found.phase("aanmeldfase")
    assert (a.activities, a.traces, a.events, a.transitions) == (5, 7, 16, 9)
    # F5's start and A -> C lie before the data; F7's end is open
    assert (a.judged_transitions, a.before_data, a.open_ends) == (8, 2, 1)
    assert a.forbidden == (
        ForbiddenFlow("end", "B", None, 2, 2),      # F4, F6 (F7's is open)
        ForbiddenFlow("start", None, "B", 1, 1),    # F4
        ForbiddenFlow("flow", "A", "C", 1, 1),      # F2 (F5's is before the data)
        ForbiddenFlow("flow", "D", "D", 1, 1))      # F3
    assert a.forbidden_transitions == 2 and a.forbidden_share == pytest.approx(2 / 8)
    assert (a.left_out, a.left_out_frequency) == (0, 0)
    # G is in the model and nowhere in the log; A is in 6 traces, C in 4 (F1, F2, F3, F5)
    assert a.unused == (UnusedPath("task", "G", None, 0, 0), UnusedPath("flow", "A", "G", 6, 0),
                        UnusedPath("flow", "G", "C", 0, 4))
    # D has 2 events, one by the IND; F7's B has no performer and is not judged
    assert a.lane_moves == (LaneMove("D", "IND", ("COA",), 1, 1, 0.5),)
    r = found.phase("RVT")
    assert (r.traces, r.events, r.transitions, r.judged_transitions) == (5, 9, 4, 4)
    assert (r.forbidden, r.unused, r.open_ends) == ((), (), 5)  # every RVT trace ends the data
    assert r.lane_moves == (LaneMove("E", "Politie", ("IND",), 1, 1, 0.2),)


def test_noise_leaves_rows_out_and_counts_them() -> None:
    log = tiny_log()
    try:
        found = compare_models(log, TINY, noise=0.2)  # below 0.2 × 8 judged transitions
        with pytest.raises(InputError, match="noise 1"):
            compare_models(log, TINY, noise=1.0)
    finally:
        log.close()
    a = found.phase("aanmeldfase")
    assert a.forbidden == (ForbiddenFlow("end", "B", None, 2, 2),)
    assert (a.left_out, a.left_out_frequency, a.forbidden_transitions) == (3, 3, 2)
    assert found.noise == 0.2


def test_a_petri_net_is_compared_on_whole_traces_without_lanes(tmp_path: Path) -> None:
    from pm4py.objects.petri_net.exporter import exporter as pnml_exporter

    net, im, fm = to_petri_net(TINY, reduce=True)
    path = tmp_path / "tiny.pnml"
    pnml_exporter.apply(net, im, str(path), final_marking=fm)
    log = tiny_log()
    try:
        found = compare_models(log, path)
    finally:
        log.close()
    assert found.model_kind == "petri_net" and [p.phase for p in found.phases] == [None]
    whole = found.phases[0]
    # B -> E (F6) now is a transition; F6's B no longer ends a trace
    assert whole.forbidden == (
        ForbiddenFlow("start", None, "B", 1, 1), ForbiddenFlow("flow", "A", "C", 1, 1),
        ForbiddenFlow("flow", "B", "E", 1, 1), ForbiddenFlow("flow", "D", "D", 1, 1),
        ForbiddenFlow("end", "B", None, 1, 1))
    assert [(u.kind, u.source, u.target) for u in whole.unused] == [
        ("task", "G", None), ("flow", "A", "G"), ("flow", "G", "C")]
    assert whole.lane_moves == ()


def test_a_generic_log_needs_a_model_and_its_flows_equal_pm4pys_dfg(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """receipt.xes against its inductive model: one phase (whole traces); the transitions and
    the forbidden and unused flows are pm4py's directly-follows graph of the model's activities
    against the model's relation."""
    from miner.cli import main

    xes, ptml = reallog("receipt.xes"), reallog("receipt-imf.ptml")
    assert main(["conformance", str(xes), "--compare", "--out", str(tmp_path / "a")]) == 3
    assert "give the model to check against with --model" in capsys.readouterr().err
    assert main(["conformance", str(xes), "--compare", "--model", str(ptml),
                 "--out", str(tmp_path / "b")]) == 0
    found = ModelComparison.from_dict(json.loads((tmp_path / "b" / "compare.json").read_text(
        encoding="utf-8")))
    (whole,) = found.phases
    pm4py = import_pm4py()
    net, im, fm = pm4py.convert_to_petri_net(pm4py.read_ptml(str(ptml)))
    auto = reachability_automaton(net, im, fm)
    assert auto is not None
    pairs = model_relation(auto)[0]
    every = pm4py.read_xes(str(xes))
    frame = every[every["concept:name"].isin({t.label for t in net.transitions if t.label})]
    dfg = pm4py.discover_dfg(frame)[0]
    assert (whole.phase, whole.traces, whole.events) == (None, 1434, len(frame))
    assert whole.transitions == whole.judged_transitions == sum(dfg.values())
    assert {(r.source, r.target): r.frequency for r in whole.forbidden if r.kind == "flow"} == {
        k: n for k, n in dfg.items() if k not in pairs}
    assert {(u.source, u.target) for u in whole.unused if u.kind == "flow"} == set(pairs) - set(dfg)
    # a whole trace ends with its case (open, not judged) unless an event outside the model follows
    assert whole.traces - (len(every) - len(frame)) <= whole.open_ends < whole.traces
    assert whole.lane_moves == () and found.model_kind == "petri_net"


def test_json_round_trip_and_kind_checked() -> None:
    log = tiny_log()
    try:
        found = compare_models(log, TINY)
    finally:
        log.close()
    d = json.loads(json.dumps(found.to_dict()))
    assert d["kind"] == "model_comparison" and d["schema_version"] == 1
    assert ModelComparison.from_dict(d) == found
    with pytest.raises(ValueError, match="not a model_comparison"):
        ModelComparison.from_dict({**d, "kind": "conformance"})


# --- two weeks of the simulated chain ----------------------------------------------------------------

@pytest.fixture(scope="module")
def short(short_run: SimulationResult, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[Ingested, Log, ModelComparison]]:
    ingested = ingest_run(short_run, tmp_path_factory.mktemp("compare") / "short.duckdb")
    log = connect(ingested.workspace, read_only=True)
    try:
        yield ingested, log, compare_models(log)
    finally:
        log.close()


def _pandas_tables(log: Log) -> dict[str, dict[str, Any]]:
    """The three tables and the step counts per phase, counted with pandas from the journey: one
    event per occurrence (start of a stay, complete of the rest), phase traces in time and read
    order, a step judged when its anchor lies at or after the latest first event of the
    sources. Keys use '' for the missing source of a start and target of an end."""
    model = reference_model()
    phase_of = {a: model.phase_of(a) for a in model.labels()}
    create_journey(log)
    j = log.con.execute(
        "SELECT foreigner, ts, seq, activity, lifecycle, performer, source FROM journey").df()
    staged = set(j.activity[j.lifecycle == "start"])
    j = j[(j.lifecycle == "start") | ~j.activity.isin(staged)].sort_values(
        ["foreigner", "ts", "seq"])
    coverage = j.groupby("source").ts.min().max()
    m = j[j.activity.isin(phase_of)].copy()
    m["phase"] = m.activity.map(phase_of)
    by_trace = m.groupby(["foreigner", "phase"])
    m["position"] = by_trace.cumcount()
    m["previous"] = by_trace.activity.shift(1).fillna("")
    m["last"] = m.position == by_trace.activity.transform("size") - 1
    starts = m[m.position == 0].assign(kind="start", source="", target=m.activity, anchor=m.ts)
    flows = m[m.position > 0].assign(kind="flow", source=m.previous, target=m.activity, anchor=m.ts)
    # an end's anchor: the foreigner's next event (any) after it, None when there is none
    ends = pd.merge_asof(
        m[m["last"]].sort_values("ts"),
        j[["foreigner", "ts"]].rename(columns={"ts": "anchor"}).sort_values("anchor"),
        left_on="ts", right_on="anchor", by="foreigner", direction="forward",
        allow_exact_matches=False).assign(kind="end", source=lambda d: d.activity, target="")
    steps = pd.concat([x[["phase", "kind", "source", "target", "foreigner", "anchor"]]
                       for x in (starts, flows, ends)], ignore_index=True)
    steps["judged"] = steps.anchor.notna() & (steps.anchor >= coverage)
    out: dict[str, dict[str, Any]] = {}
    for phase, rows in steps.groupby("phase"):
        labels = {a for a, p in phase_of.items() if p == phase}
        auto = reachability_automaton(*to_petri_net(model, labels=labels, reduce=True))
        assert auto is not None
        pairs, first, final = model_relation(auto)
        allowed = ({("start", "", b) for b in first} | {("flow", a, b) for a, b in pairs}
                   | {("end", a, "") for a in final})
        key = list(zip(rows.kind, rows.source, rows.target, strict=True))
        bad = rows[pd.Series([k not in allowed for k in key], index=rows.index) & rows.judged]
        grouped = bad.groupby(["kind", "source", "target"]).foreigner
        events = m[m.phase == phase]
        people = events.groupby("activity").foreigner.nunique().to_dict()
        moves = {}
        for (activity, org), who in events[events.performer.notna()].groupby(
                ["activity", "performer"]).foreigner:
            lanes = model.organisations_for(activity)
            if lanes and org not in lanes:
                moves[(activity, org)] = (len(who), who.nunique(),
                                          len(who) / (events.activity == activity).sum())
        out[str(phase)] = {
            "traces": events.foreigner.nunique(), "events": len(events),
            "transitions": int((rows.kind == "flow").sum()),
            "judged": int(((rows.kind == "flow") & rows.judged).sum()),
            "before": int((rows.anchor.notna() & (rows.anchor < coverage)).sum()),
            "open": int(rows.anchor.isna().sum()),
            "forbidden": {k: (int(n), int(f)) for k, n, f in zip(
                grouped.size().index, grouped.size(), grouped.nunique(), strict=True)},
            "foreigners_of": {k: set(v) for k, v in grouped},
            "unused": (allowed - set(key)) | {("task", a, "") for a in labels - set(people)},
            "people": people, "moves": moves}
    return out


@pytest.fixture(scope="module")
def counted(short: tuple[Ingested, Log, ModelComparison]) -> dict[str, dict[str, Any]]:
    return _pandas_tables(short[1])


def test_the_short_run_equals_an_independent_count_with_pandas(
        short: tuple[Ingested, Log, ModelComparison], counted: dict[str, dict[str, Any]]) -> None:
    found, want = short[2], counted
    assert set(want) <= {p.phase for p in found.phases}
    for p in found.phases:
        w = want.get(str(p.phase))
        if w is None:  # a phase nobody is in: every path unused
            assert p.traces == 0 and not p.forbidden and p.unused
            continue
        assert (p.traces, p.events, p.transitions, p.judged_transitions, p.before_data,
                p.open_ends) == (w["traces"], w["events"], w["transitions"], w["judged"],
                                 w["before"], w["open"]), p.phase
        got = {(r.kind, r.source or "", r.target or ""): (r.frequency, r.foreigners)
               for r in p.forbidden}
        assert got == w["forbidden"], p.phase
        assert {(u.kind, u.source or "", u.target or "") for u in p.unused} == w["unused"], \
            p.phase
        for u in p.unused:
            assert u.source_foreigners == w["people"].get(u.source, 0)
            assert u.target_foreigners == w["people"].get(u.target, 0)
        assert {(x.activity, x.organisation): (x.events, x.foreigners, pytest.approx(x.share))
                for x in p.lane_moves} == w["moves"], p.phase
        weights = [(r.foreigners, r.frequency) for r in p.forbidden]
        assert weights == sorted(weights, reverse=True)
    assert sum(len(p.forbidden) for p in found.phases) > 10  # the comparison found something


def _planted(ingested: Ingested, column: str) -> tuple[set[str], set[str]]:
    """The workspace ids of the foreigners with a planted deviation, and of those with a data
    fault on any row (as tests/conformance/test_check.py)."""
    truth = ingested.run.out / "truth"
    con = duckdb.connect()
    people = con.execute(f"SELECT foreigner, v_nummer, {column} FROM "
                         f"'{truth / 'foreigners.parquet'}'").df()
    ws = {f: "vreemdeling:" + KEY.pseudonym("v_nummer", v)
          for f, v in zip(people.foreigner, people.v_nummer, strict=True)}
    faulty = {ws[f] for (f,) in con.execute(
        f"SELECT DISTINCT foreigner FROM '{truth / 'rows.parquet'}' "
        "WHERE coalesce(fault, '') <> '' AND foreigner >= 0").fetchall() if f in ws}
    return {ws[f] for f in people.foreigner[people[column]]}, faulty


def test_the_planted_spoor_after_hearing_is_the_forbidden_flow_hearing_to_spoor(
        short: tuple[Ingested, Log, ModelComparison], counted: dict[str, dict[str, Any]]) -> None:
    ingested, log, found = short
    row = next(r for r in found.phase("aanmeldfase").forbidden
               if (r.kind, r.source, r.target) == ("flow", HEARING, SPOOR))
    flagged = counted["aanmeldfase"]["foreigners_of"][("flow", HEARING, SPOOR)]
    assert isinstance(next(iter(flagged)), str) and len(flagged) > 1
    assert row.foreigners == len(flagged) == row.frequency
    planted, faulty = _planted(ingested, "dev_spoor_after_hearing")
    # the planted foreigners whose spoor was set after the coverage start (judged)
    coverage = datetime.fromisoformat(found.coverage_start or "")
    judged = {f for (f,) in log.con.execute(
        "SELECT DISTINCT foreigner FROM journey WHERE activity = ? AND ts >= ?",
        [SPOOR, coverage]).fetchall()} & planted
    assert len(judged - faulty) >= 5
    assert flagged <= planted and flagged - faulty <= judged  # every flagged one was planted
    assert len((judged - faulty) - flagged) <= 1  # and (nearly) every planted one is flagged


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["conformance", *argv])
    code: int = args.func(args)
    return code


def test_the_command_writes_compare_json_and_prints_the_top_rows(
        short: tuple[Ingested, Log, ModelComparison], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    ingested, _, found = short
    out = tmp_path / "cmp"
    assert _cli(str(ingested.workspace), "--compare", "--out", str(out)) == 0
    saved = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert ModelComparison.from_dict(saved) == found
    assert sorted(p.name for p in out.iterdir()) == ["compare.json"]  # no check outputs
    printed = capsys.readouterr().out
    assert f"{found.foreigners:,} foreigners compared with Vreemdelingenketen" in printed
    assert "aanmeldfase:" in printed and "forbidden flow" in printed
    top = found.phase("aanmeldfase").forbidden[0]
    assert f"{top.frequency:,}" in printed
    with pytest.raises(InputError, match="--noise belongs to --compare"):
        _cli(str(ingested.workspace), "--noise", "0.1", "--out", str(out))
    allow = tmp_path / "allow.toml"
    allow.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="--allowlist"):
        _cli(str(ingested.workspace), "--compare", "--allowlist", str(allow),
             "--out", str(out))


# --- the simulated year -----------------------------------------------------------------------------

@pytest.mark.slow
def test_the_year_shows_the_planted_spoor_after_hearing(ingested_year: Ingested) -> None:
    """On the year (59,627 foreigners) the forbidden flow hearing -> spoor is the planted
    deviation: its foreigners (the judged steps compare_models leaves in ``cmp_steps``) are the
    planted ones, precision and recall (of those without a data fault) at least 0.95; the RVT's
    one lane move is the planted documents research by the Politie."""
    log = connect(ingested_year.workspace, read_only=True)
    try:
        found = compare_models(log)
        flagged = {f for (f,) in log.con.execute("""
            SELECT DISTINCT foreigner FROM cmp_steps WHERE grp = 'aanmeldfase' AND kind = 'flow'
              AND source = ? AND target = ? AND anchor >= ?""",
            [HEARING, SPOOR, datetime.fromisoformat(found.coverage_start or "")]).fetchall()}
    finally:
        log.close()
    row = next(r for r in found.phase("aanmeldfase").forbidden
               if (r.kind, r.source, r.target) == ("flow", HEARING, SPOOR))
    assert row.foreigners == len(flagged) > 400
    planted, faulty = _planted(ingested_year, "dev_spoor_after_hearing")
    assert len(flagged & planted) / len(flagged) >= 0.95
    assert len(flagged & (planted - faulty)) / len(planted - faulty) >= 0.95
    assert len(planted) * 0.95 <= row.foreigners <= len(planted)
    moves = found.phase("RVT").lane_moves
    assert [(m.activity, m.organisation) for m in moves] == [
        ("Documentenonderzoek (Extern: KMar)", "Politie")]
    documents, _ = _planted(ingested_year, "dev_documents_by_politie")
    assert 0.95 * len(documents) <= moves[0].foreigners <= len(documents)
