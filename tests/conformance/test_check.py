"""check_conformance and `miner conformance`: planted deviations of the simulated year recovered,
a conforming foreigner without deviations, the allowlist, determinism and the output files."""

from __future__ import annotations

import argparse
import csv
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from miner.analysis.norms import load_norms, norms
from miner.analysis.period import ZONE
from miner.catalogue import chain_catalogue
from miner.conformance._controlflow import Move, VariantCheck
from miner.conformance.allowlist import apply_allowlist, read_allowlist
from miner.conformance.check import Conformance
from miner.conformance.cli import register
from miner.conformance.coverage import activity_coverage, load_coverage, log_coverage_start
from miner.conformance.deviations import (
    RATED,
    Deviation,
    late_rows,
    move_templates,
    prefer_postponed,
)
from miner.errors import SchemaError
from miner.model.log import connect
from tests.conftest import KEY, Ingested

AS_OF = date(2026, 1, 1)
MEDICAL = "Uitvoeren medische check (dag 2)"
#: category → (ground-truth column, model elements the planted deviation shows on)
PLANTED = {
    "skipped": ("dev_skipped_medical", {MEDICAL}),
    "late": ("dev_late_medical", {MEDICAL}),
    "inserted": ("dev_repeat_photo", {"Afname foto’s en vingerafdrukken"}),
    # the step that moved: A13 recorded after A14 (a swap names the postponed step)
    "wrong_order": ("dev_spoor_after_hearing", {"Bepalen van spoor"}),
    "wrong_lane": ("dev_documents_by_politie", {"Documentenonderzoek (Extern: KMar)"}),
}


def _check(moves: list[tuple[str | None, str | None]], variant: tuple[str, ...]) -> VariantCheck:
    return VariantCheck(variant, 1, "ok", 1.0, True, 0.5, 0,
                        tuple(Move(a, b) for a, b in moves), None)


def test_moves_become_categories() -> None:
    # b then a where the model has a then b: one wrong order, not a skip plus an insert
    found = move_templates(_check([(None, "a"), ("b", "b"), ("a", None), ("c", None),
                                   (None, "d")], ("b", "a", "c")))
    assert [(c, a, p) for c, a, p, _ in found] == [
        ("wrong_order", "a", 2), ("inserted", "c", 3), ("skipped", "d", 3)]
    unresolved = VariantCheck(("a",), 2, "unresolved", 0.5, False, None, None, (), "budget")
    assert move_templates(unresolved) == [("unresolved", None, 1, "budget")]


def test_a_swap_names_the_postponed_step() -> None:
    """Model a b c. In the trace b a c both optimal alignments (a postponed, or b done early) cost
    the same; whichever the search returns, the step done later than the model has it is named."""
    def named(moves: list[tuple[str | None, str | None]],
              variant: tuple[str, ...]) -> list[tuple[str, str | None, int, str | None]]:
        return move_templates(_check(moves, variant))

    postponed = [(None, "a"), ("b", "b"), ("a", None), ("c", "c")]
    early = [("b", None), ("a", "a"), (None, "b"), ("c", "c")]
    assert named(postponed, ("b", "a", "c")) == named(early, ("b", "a", "c")) == [
        ("wrong_order", "a", 2, "event 2 of 3; the model has it before event 1")]
    assert prefer_postponed(tuple(Move(a, b) for a, b in early)) == tuple(
        Move(a, b) for a, b in postponed)
    # two swaps in a row (model a b c d, trace b a d c): each names its postponed step
    assert [(c, a, p) for c, a, p, _ in named(
        [("b", None), ("a", "a"), (None, "b"), ("d", None), ("c", "c"), (None, "d")],
        ("b", "a", "d", "c"))] == [("wrong_order", "a", 2), ("wrong_order", "c", 4)]
    # a moved two places later (trace b c a): one optimal alignment, naming a
    assert named([(None, "a"), ("b", "b"), ("c", "c"), ("a", None)], ("b", "c", "a")) == [
        ("wrong_order", "a", 3, "event 3 of 3; the model has it before event 1")]
    # c moved two places earlier (trace c a b): one optimal alignment, naming c; the rule only
    # chooses between equally cheap alignments
    assert [(c, a, p) for c, a, p, _ in named(
        [("c", None), ("a", "a"), ("b", "b"), (None, "c")], ("c", "a", "b"))] == [
        ("wrong_order", "c", 1)]


def _deviation(category: str, organisation: str) -> Deviation:
    return Deviation("vreemdeling:x", category, "A", "Task_A", "KMar", organisation, "Politie",
                     "RVT", None, ())


def test_allowlist_accepts_until_it_expires(tmp_path: Path) -> None:
    path = tmp_path / "allow.toml"
    path.write_text(
        '[[accept]]\ncategory = "wrong_lane"\norganisation = "Politie"\nreason = "agreed"\n'
        'expires = 2030-01-01\n\n'
        '[[accept]]\ncategory = "skipped"\nreason = "old"\nexpires = 2020-01-01\n',
        encoding="utf-8")
    entries = read_allowlist(path)
    devs = [_deviation("wrong_lane", "Politie"), _deviation("wrong_lane", "IND"),
            _deviation("skipped", "Politie")]
    findings, accepted, expired = apply_allowlist(devs, entries, AS_OF)
    assert [d.accepted_by for d in accepted] == [1]
    assert [(d.category, d.organisation) for d in findings] == [("wrong_lane", "IND"),
                                                                ("skipped", "Politie")]
    assert [e.entry for e in expired] == [2]
    path.write_text('[[accept]]\ncategory = "late"\nreason = "x"\nexpires = 2030-01-01\n'
                    '[[accept]]\ncategory = "late"\nexpires = 2030-01-01\n', encoding="utf-8")
    with pytest.raises(SchemaError, match=r"allow\.toml: allowlist entry 2 .*reason"):
        read_allowlist(path)


def test_late_evidence_starts_on_the_clock_start_day_not_at_an_earlier_start_activity() -> None:
    # F's P06 of 1 March had another result (no VA); the VA clock started with P08 on 10 April
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TEMP TABLE journey (foreigner VARCHAR, event_id VARCHAR, ts TIMESTAMPTZ, "
                "seq BIGINT, activity_id VARCHAR, source VARCHAR, source_row BIGINT, "
                "organisation VARCHAR, partner VARCHAR)")
    con.executemany("INSERT INTO journey VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        ("F", "e1", "2021-03-01 09:00:00+00", 1, "P06", "indigo", 10, "IND", "IND"),
        ("F", "e2", "2021-04-09 22:30:00+00", 2, "P08", "indigo", 11, "IND", "IND"),
        ("F", "e3", "2022-01-05 10:00:00+00", 3, "X16", "indigo", 12, "IND", "IND"),
        ("G", "e4", "2021-05-01 10:00:00+00", 4, "P06", "indigo", 13, "IND", "IND"),
    ])
    rows = late_rows(con, [
        # 22:30 UTC on 9 April is 10 April in Amsterdam: the clock's local day
        ("F", "va: late", "va", "2021-04-10", ("P06", "P08"), ("X16",)),
        ("G", "va: open", "va", "2021-05-01", ("P06", "P08"), ("X16",)),
    ])
    assert [(r[0], r[3], r[5], r[7]) for r in rows] == [
        ("F", ["e2", "e3"], [11, 12], "IND"), ("G", ["e4"], [13], None)]


def test_each_step_has_its_own_coverage_start() -> None:
    """One export that starts months later moves only the coverage start of the steps it alone
    records; a step no export records falls back to the log's (the latest first event)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TEMP TABLE journey (activity VARCHAR, activity_id VARCHAR, "
                "source VARCHAR, ts TIMESTAMPTZ)")
    con.executemany("INSERT INTO journey VALUES (?, ?, ?, ?)", [
        ("Registratie", "A01", "indigo", "2021-01-04 09:00:00+00"),
        ("Registratie", "A01", "indigo", "2021-03-01 09:00:00+00"),
        ("Foto", "A03", "pshv", "2021-06-01 08:00:00+00"),
        ("Foto", "A03", "pshv", "2021-06-02 08:00:00+00"),
        # 23:30 UTC on 31 May is 1 June in Amsterdam: days are local
        ("Gehoor", "A14", "indigo", "2021-05-31 23:30:00+00"),
    ])
    load_coverage(con)
    assert activity_coverage(con) == {
        "A01": (datetime(2021, 1, 4, 9, tzinfo=UTC), "2021-01-04"),
        "A03": (datetime(2021, 6, 1, 8, tzinfo=UTC), "2021-06-01"),
        "A14": (datetime(2021, 5, 31, 23, 30, tzinfo=UTC), "2021-06-01")}
    assert log_coverage_start(con) == (datetime(2021, 6, 1, 8, tzinfo=UTC), "2021-06-01")


# --- the simulated year ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def year_result(year_conformance: Conformance) -> Conformance:
    """The year's conformance (the session fixture of tests/conftest.py, as of AS_OF)."""
    assert year_conformance.as_of == AS_OF.isoformat()
    return year_conformance


def _truth(ingested: Ingested) -> tuple[dict[str, set[str]], set[str], set[str]]:
    """Planted column → foreigners (workspace ids); foreigners with a data fault on any row (left
    out of the comparison, as ingest may quarantine or re-read those rows); all foreigners."""
    truth = ingested.run.out / "truth"
    con = duckdb.connect()
    people = con.execute(f"SELECT * FROM '{truth / 'foreigners.parquet'}'").df()
    ws = {f: "vreemdeling:" + KEY.pseudonym("v_nummer", v)
          for f, v in zip(people.foreigner, people.v_nummer, strict=True)}
    faulty = {ws[f] for (f,) in con.execute(
        f"SELECT DISTINCT foreigner FROM '{truth / 'rows.parquet'}' "
        "WHERE coalesce(fault, '') <> '' AND foreigner >= 0").fetchall() if f in ws}
    planted = {col: {ws[f] for f in people.foreigner[people[col]]} for col, _ in PLANTED.values()}
    return planted, faulty, set(ws.values())


@pytest.mark.slow
def test_planted_deviations_are_recovered(ingested_year: Ingested,
                                          year_result: Conformance) -> None:
    planted, faulty, _ = _truth(ingested_year)
    for category, (column, elements) in PLANTED.items():
        want = planted[column] - faulty
        got = {d.foreigner for d in year_result.deviations
               if d.category == category and d.activity in elements} - faulty
        assert len(want) > 100, category
        precision, recall = len(got & want) / len(got), len(got & want) / len(want)
        assert precision >= 0.95 and recall >= 0.95, (category, precision, recall)


@pytest.mark.slow
def test_lane_findings_are_the_planted_ones(ingested_year: Ingested,
                                            year_result: Conformance) -> None:
    """Every wrong-lane finding is the planted documents research by the Politie: DT&V's receipt
    of the overdrachtsdossier is judged by its sender (dtv.toml ``performed_by``), so it is neither
    in the wrong lane nor a missing hand-off from V01 to DT&V's own steps."""
    planted, faulty, _ = _truth(ingested_year)
    wrong_lane = {d.foreigner for d in year_result.deviations if d.category == "wrong_lane"}
    wrong_lane -= faulty
    assert len(wrong_lane & planted["dev_documents_by_politie"]) / len(wrong_lane) >= 0.95
    dossier = "Sturen overdrachtsdossier (Extern: KMar)"
    assert not [d for d in year_result.deviations if d.category == "wrong_lane"
                and d.activity == dossier]
    assert not [d for d in year_result.deviations if d.category == "missing_handoff"
                and (d.detail or "").startswith(dossier + " -> ")]


@pytest.mark.slow
def test_steps_expected_before_their_data_begins_are_before_log(
        ingested_year: Ingested, year_result: Conformance) -> None:
    """A skipped step expected before the step's coverage start (the first event of that
    activity in the log) is ``before_log``, not counted in the rate; one expected after it stays
    ``skipped``. The simulated exports carry only milestones of the initial stock's older
    history, so the steps' data begins on different days."""
    con = duckdb.connect(str(ingested_year.workspace), read_only=True)
    first = dict(con.execute("""
        SELECT a.value_string, min(e.timestamp) FROM events e
        JOIN event_attributes a ON a.event_id = e.event_id AND a.name = 'activity_id'
        JOIN event_objects eo ON eo.event_id = e.event_id AND eo.qualifier = 'vreemdeling'
        GROUP BY 1""").fetchall())
    label = {a.label: a.id for a in chain_catalogue().values()}
    assert len({v.date() for v in first.values()}) > 3, "the steps' data begin on one day"
    def at(d: Deviation) -> datetime:
        return datetime.fromisoformat(d.evidence[0].ts)
    def begins(d: Deviation) -> datetime:
        return first[label[d.activity or ""]]
    before = [d for d in year_result.deviations if d.category == "before_log"
              and "last allowed day" not in (d.detail or "")]
    skipped = [d for d in year_result.deviations if d.category == "skipped"]
    assert len(before) > 1000 and len(skipped) > 1000
    assert all(at(d) < begins(d) for d in before)
    assert all(at(d) >= begins(d) for d in skipped)
    assert all((d.detail or "").endswith(
        f", before the data of this step begins ({begins(d).astimezone(ZONE).date()})")
        for d in before)
    # a step whose data began late keeps the others' findings: skipped steps before the last
    # export's first event
    late_start = max(first.values())
    assert sum(at(d) < late_start for d in skipped) > 10
    assert year_result.count("before_log") >= len(before)
    deviating = {d.foreigner for d in year_result.deviations if d.category in RATED}
    assert year_result.conforming == year_result.foreigners - len(deviating)


@pytest.mark.slow
def test_norm_clocks_started_before_the_stop_steps_data_begins_are_before_log(
        ingested_year: Ingested, year_result: Conformance) -> None:
    """A late or overdue norm whose clock started on a day before the coverage start of its
    stopping step (the first day the log records it) is ``before_log`` (its stop may lie in data
    that does not reach back that far); from that day on it stays ``late``. The first evidence row
    of a norm finding is the event that started the clock."""
    con = duckdb.connect(str(ingested_year.workspace), read_only=True)
    first = {a: ts.astimezone(ZONE).date().isoformat() for a, ts in con.execute("""
        SELECT a.value_string, min(e.timestamp) FROM events e
        JOIN event_attributes a ON a.event_id = e.event_id AND a.name = 'activity_id'
        JOIN event_objects eo ON eo.event_id = e.event_id AND eo.qualifier = 'vreemdeling'
        GROUP BY 1""").fetchall()}
    begins = {n.id: min(first[r.activity] for r in n.stop if r.activity in first)
              for n in load_norms()}

    def started(d: Deviation) -> str:
        return datetime.fromisoformat(d.evidence[0].ts).astimezone(ZONE).date().isoformat()
    def norm(d: Deviation) -> str:
        return (d.detail or "").split(":")[0]
    norm_before = [d for d in year_result.deviations
                   if d.category == "before_log" and "last allowed day" in (d.detail or "")]
    late = [d for d in year_result.deviations if d.category == "late"]
    assert len(norm_before) > 100 and len(late) > 1000
    assert all(started(d) < begins[norm(d)] for d in norm_before)
    assert all(started(d) >= begins[norm(d)] for d in late)
    assert all((d.detail or "").endswith(
        f", before the data of this step begins ({begins[norm(d)]})") for d in norm_before)


@pytest.mark.slow
def test_norm_evidence_starts_on_the_day_the_clock_started(
        ingested_year: Ingested, year_result: Conformance) -> None:
    """The first evidence row of a late (or before-log) norm finding is an event on the day the
    norm's clock started for that foreigner (an earlier start event may not meet the norm's
    conditions), and the second, when there is one, is not before it."""
    log = connect(ingested_year.workspace, read_only=True)
    try:
        started = {(n.id, c.foreigner): c.start for n in norms(log, cases=True).norms
                   for c in n.cases}
    finally:
        log.close()
    findings = [d for d in year_result.deviations if d.category in ("late", "before_log")
                and "last allowed day" in (d.detail or "")]
    assert len(findings) > 1000
    for d in findings:
        norm = (d.detail or "").split(":")[0]
        first = datetime.fromisoformat(d.evidence[0].ts)
        assert first.astimezone(ZONE).date().isoformat() == started[(norm, d.foreigner)], d
        assert all(datetime.fromisoformat(e.ts) >= first for e in d.evidence[1:]), d


@pytest.mark.slow
def test_a_foreigner_who_follows_the_model_has_no_deviation(ingested_year: Ingested,
                                                            year_result: Conformance) -> None:
    planted, faulty, everyone = _truth(ingested_year)
    deviant = {d.foreigner for d in year_result.deviations}
    clean = everyone - faulty - set().union(*planted.values())
    conforming = clean - deviant
    assert conforming, "no foreigner without a planted deviation conforms"
    assert year_result.conforming >= len(conforming)
    one = min(conforming)
    assert [d for d in year_result.deviations if d.foreigner == one] == []


@pytest.mark.slow
def test_outputs_deterministic_and_consistent(ingested_year: Ingested, year_result: Conformance,
                                              tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    outs = []
    for name in ("one", "two"):
        args = parser.parse_args(["conformance", "--workspace", str(ingested_year.workspace),
                                  "--out", str(tmp_path / name)])
        assert args.func(args) == 0
        outs.append(tmp_path / name)
    assert (outs[0] / "conformance.json").read_bytes() == (outs[1] / "conformance.json").read_bytes()
    with (outs[0] / "deviations.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(year_result.deviations) + len(year_result.accepted)
    assert duckdb.sql(f"SELECT count(*) FROM '{outs[0] / 'deviations.parquet'}'").fetchall() == [
        (len(rows),)]
    for r in year_result.rates:
        assert r.foreigners == r.conforming + r.deviating
    assert sum(c.deviations for c in year_result.counts) == len(year_result.deviations)
    assert year_result.conforming <= year_result.foreigners
    assert Conformance.from_dict(year_result.to_dict()) == year_result
