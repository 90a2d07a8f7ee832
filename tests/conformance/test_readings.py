"""Readings of the reference model: a log that follows a documented reading conforms by default, and
the findings that hold only when the reading is rejected name it, on the simulator's own log with
readings planted into it (the simulator itself follows the model's base reading)."""

from __future__ import annotations

import csv
import re
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from miner.audit.loading import read_conformance_dir
from miner.audit.render import annex_path, read_audit_results, write_audit
from miner.catalogue import chain_catalogue
from miner.cli import main
from miner.conformance.check import Conformance, check_conformance
from miner.conformance.deviations import RATED
from miner.conformance.readings import (
    load_readings,
    read_trace,
    widen_lanes,
)
from miner.conformance.swimlane import reference_model
from miner.errors import SchemaError, UnknownNameError
from miner.model.log import connect
from miner.report.render import results_path
from tests.conftest import AS_OF, Ingested, ingest_run

LABEL = {a.id: a.label for a in chain_catalogue().values()}
ID = {v: k for k, v in LABEL.items()}


def _ids(*ids: str) -> tuple[str, ...]:
    return tuple(LABEL[i] for i in ids)


def test_an_order_reading_moves_its_step_back_within_its_run_only() -> None:
    order = [r for r in load_readings() if r.kind == "order"]
    # 1.7.1, the body's order: scheduling after the spoor
    read, positions, follows = read_trace(_ids("A10", "A12", "A13", "A11", "A14"), order)
    assert read == _ids("A10", "A11", "A12", "A13", "A14")
    assert positions == (1, 4, 2, 3, 5)
    assert follows == {"inplannen-na-spoor"}
    # a spoor set after the hearing is no reading's: nothing moves
    variant = _ids("A10", "A11", "A12", "A14", "A13")
    assert read_trace(variant, order) == (variant, (1, 2, 3, 4, 5), frozenset())
    # 1.7.2 and 1.7.3 together: planning before pol intake, documents checked at registration
    read, positions, follows = read_trace(
        _ids("R02", "R03", "R04", "R01", "R05", "R06", "R07", "R08"), order)
    assert read == _ids("R04", "R01", "R02", "R05", "R06", "R07", "R03", "R08")
    assert positions == (3, 4, 1, 5, 6, 7, 2, 8)
    assert follows == {"aa-planning-in-rvt", "documentenonderzoek-bij-aanmelding"}
    # a step that occurs twice follows no reading
    variant = _ids("A11", "A12", "A11", "A13")
    assert read_trace(variant, order)[2] == frozenset()


def test_every_conflict_of_the_extract_and_every_low_lane_has_a_reading() -> None:
    readings = load_readings()
    assert sorted(r.conflict for r in readings if r.conflict.startswith("1.7")) == [
        f"1.7.{i}" for i in range(1, 8)]
    low = {"A12", "V11", "V12", "V15", "V16", "V18"}  # marked "low" in the extract's section 1.3
    assert {r.conflict.split()[1] for r in readings if r.conflict.startswith("lane")} == low
    wide = widen_lanes(reference_model(), readings)
    assert wide.organisations_for(LABEL["A12"]) == {"COA", "GZA"}
    assert reference_model().organisations_for(LABEL["A12"]) == {"COA"}


def test_a_bad_readings_file_is_refused_with_its_entry(tmp_path: Path) -> None:
    bad = tmp_path / "readings.toml"
    bad.write_text('[[reading]]\nid = "x"\nconflict = "1.7.1"\nkind = "order"\nseed = "s"\n'
                   'nl = "n"\nen = "e"\nstep = "A99"\namong = ["A12"]\nplace = "first"\n')
    with pytest.raises(UnknownNameError, match=r"reading 1 .*A99"):
        load_readings(bad)
    bad.write_text('[[reading]]\nid = "x"\nconflict = "c"\nkind = "lane"\nseed = "s"\n'
                   'nl = "n"\nen = "e"\nstep = "A12"\n')
    with pytest.raises(SchemaError, match="needs step and lanes"):
        load_readings(bad)


@pytest.fixture(scope="module")
def planted(short_run: object, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[Path, dict[str, set[str]], Conformance]:
    """Two simulated weeks, checked as they are; then a copy with readings planted: for every
    other foreigner with A11, A12 and A13 in that order the scheduling moved to just after the spoor
    (1.7.1, the body's order), and for every third foreigner with A12 its performer the GZA (a
    low lane)."""
    base: Ingested = ingest_run(short_run, tmp_path_factory.mktemp("readings") / "base.duckdb")
    log = connect(base.workspace, read_only=True)
    try:
        before = check_conformance(log, as_of=AS_OF, workers=1)
    finally:
        log.close()
    target = base.workspace.with_name("planted.duckdb")
    shutil.copy(base.workspace, target)
    log = connect(target)
    con = log.con
    steps = """
        SELECT eo.object_id AS foreigner, e.event_id, e.timestamp AS ts, a.value_string AS id
        FROM events e JOIN event_objects eo ON eo.event_id = e.event_id
             AND eo.qualifier = 'vreemdeling'
        JOIN event_attributes a ON a.event_id = e.event_id AND a.name = 'activity_id'"""
    rows = con.execute(f"""
        WITH s AS ({steps})
        SELECT a11.foreigner, a11.event_id, a13.ts + INTERVAL 1 SECOND
        FROM s a11 JOIN s a12 ON a12.foreigner = a11.foreigner AND a12.id = 'A12'
        JOIN s a13 ON a13.foreigner = a11.foreigner AND a13.id = 'A13'
        WHERE a11.id = 'A11' AND a11.ts <= a12.ts AND a12.ts < a13.ts
          AND NOT EXISTS (SELECT 1 FROM s x WHERE x.foreigner = a11.foreigner
                          AND x.id = 'A14' AND x.ts <= a13.ts + INTERVAL 1 SECOND)
        ORDER BY 1""").fetchall()
    moved = rows[::2]
    for _, event_id, ts in moved:
        con.execute("UPDATE events SET timestamp = ? WHERE event_id = ?", [ts, event_id])
    medical = con.execute(f"WITH s AS ({steps}) SELECT foreigner, event_id FROM s "
                          "WHERE id = 'A12' ORDER BY 1").fetchall()[::3]
    con.execute("CREATE TEMP TABLE gza AS SELECT unnest($ids) AS event_id",
                {"ids": [e for _, e in medical]})
    con.execute("""UPDATE event_attributes SET value_string = 'GZA'
                   WHERE name IN ('organisation', 'performer')
                     AND event_id IN (SELECT event_id FROM gza)""")
    log.close()
    assert len(moved) >= 20 and len(medical) >= 20
    return target, {"inplannen-na-spoor": {f for f, _, _ in moved},
                    "medische-check-door-zorgaanbieder": {f for f, _ in medical}}, before


def _by_foreigner(devs: tuple[object, ...]) -> dict[str, set[tuple[str, str | None]]]:
    out: dict[str, set[tuple[str, str | None]]] = defaultdict(set)
    for d in devs:
        out[d.foreigner].add((d.category, d.activity))  # type: ignore[attr-defined]
    return out


@pytest.fixture(scope="module")
def checked(planted: tuple[Path, dict[str, set[str]], Conformance]
            ) -> tuple[Conformance, Conformance]:
    """The planted log checked with every reading accepted, and with the two planted rejected."""
    target, followers, _ = planted
    log = connect(target, read_only=True)
    try:
        return (check_conformance(log, as_of=AS_OF, workers=1),
                check_conformance(log, as_of=AS_OF, workers=1, reject_readings=list(followers)))
    finally:
        log.close()


def test_a_log_that_follows_a_reading_conforms_by_default_and_its_findings_name_it(
        planted: tuple[Path, dict[str, set[str]], Conformance],
        checked: tuple[Conformance, Conformance]) -> None:
    _, followers, before = planted
    default, rejected = checked
    # accepted by default: every foreigner's findings are those of the log before planting
    assert _by_foreigner(default.deviations) == _by_foreigner(before.deviations)
    assert default.conforming == before.conforming
    uses = {u.id: u for u in default.readings}
    moved, medical = followers["inplannen-na-spoor"], followers["medische-check-door-zorgaanbieder"]
    # the order reading: each moved foreigner has one postponed scheduling, named by the reading
    named = [d for d in default.read if d.reading == "inplannen-na-spoor"]
    assert {d.foreigner for d in named} == moved
    assert {(d.category, d.activity) for d in named} == {("wrong_order", LABEL["A11"])}
    assert uses["inplannen-na-spoor"].followers == len(moved)
    assert uses["inplannen-na-spoor"].foreigners == len(moved)
    # the lane reading: each GZA check is wrong lane only without the reading
    lane = [d for d in default.read if d.reading == "medische-check-door-zorgaanbieder"]
    assert {d.foreigner for d in lane if d.category == "wrong_lane"} == medical
    assert {d.activity for d in lane if d.category == "wrong_lane"} == {LABEL["A12"]}
    assert uses["medische-check-door-zorgaanbieder"].followers == len(medical)
    # rejected: the same deviations become findings, still naming their reading
    for rid in followers:
        assert {(d.foreigner, d.category, d.activity) for d in rejected.deviations
                if d.reading == rid} == {(d.foreigner, d.category, d.activity)
                                         for d in default.read if d.reading == rid}
        assert not any(u.accepted for u in rejected.readings if u.id == rid)
    assert not rejected.read
    # the rate with both rejected: what the default run predicted for each alone, combined
    bad = set().union(*({d.foreigner for d in default.read
                         if d.reading == rid and d.category in RATED} for rid in followers))
    with_findings = {d.foreigner for d in default.deviations if d.category in RATED}
    clean_before = bad - with_findings
    assert rejected.conforming == default.conforming - len(clean_before)
    for rid in followers:
        alone = {d.foreigner for d in default.read
                 if d.reading == rid and d.category in RATED} - with_findings
        assert uses[rid].rate_rejected == pytest.approx(
            (default.conforming - len(alone)) / default.foreigners)
    round_trip = Conformance.from_dict(rejected.to_dict())
    assert round_trip.readings == rejected.readings and round_trip.read == rejected.read


def test_an_unknown_reading_is_refused(planted: tuple[Path, dict[str, set[str]], Conformance]
                                       ) -> None:
    log = connect(planted[0], read_only=True)
    try:
        with pytest.raises(UnknownNameError, match="inplannen-na-spoor"):
            check_conformance(log, as_of=AS_OF, workers=1, reject_readings=["inplannen-na-spor"])
    finally:
        log.close()


def test_the_cli_and_the_audit_show_each_reading_and_round_trip(
        planted: tuple[Path, dict[str, set[str]], Conformance],
        checked: tuple[Conformance, Conformance], tmp_path: Path) -> None:
    target, followers, _ = planted
    default, rejected = checked
    out = tmp_path / "conf"
    assert main(["conformance", "--workspace", str(target), "--out", str(out),
                 "--reject-reading", "inplannen-na-spoor"]) == 0
    saved = read_conformance_dir(out)
    uses = {u.id: u for u in saved.readings}
    assert not uses["inplannen-na-spoor"].accepted and uses["aa-planning-in-rvt"].accepted
    # the rejected order reading's deviations are findings; the lane reading's stay read
    named = {(d.foreigner, d.category, d.activity) for d in saved.deviations
             if d.reading == "inplannen-na-spoor"}
    assert named == {(d.foreigner, d.category, d.activity) for d in default.read
                     if d.reading == "inplannen-na-spoor"}
    assert {d.reading for d in saved.read} == {"medische-check-door-zorgaanbieder"}
    assert len(saved.read) == sum(d.reading == "medische-check-door-zorgaanbieder"
                                  for d in default.read)
    # the audit of the result with both rejected
    html = tmp_path / "audit.html"
    write_audit(target, rejected, html)
    results = read_audit_results(results_path(html))
    rows = {r["id"]: r for r in results["readings"]["rows"]}
    assert list(rows) == [r.id for r in load_readings()]
    assert set(results["readings"]["rejected"]) == set(followers)
    for u in rejected.readings:
        r = rows[u.id]
        assert (r["accepted"], r["followers"], r["deviations"], r["foreigners"]) == (
            u.accepted, u.followers, u.deviations, u.foreigners)
    page = html.read_text(encoding="utf-8")
    table = page[page.index('id="readings-table"'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr id=\"reading-") == len(load_readings())
    for rid in followers:
        assert f'data-reading="{rid}" data-kind' in table
        assert re.search(f'data-reading="{rid}" data-kind="\\w+" data-accepted="false"', table)
    assert "Lezingen van het model" in page
    # a drill-down finding that holds only under a rejected reading links to it
    assert re.search(r'<dd class="reading"><a href="#reading-(inplannen-na-spoor|'
                     r'medische-check-door-zorgaanbieder)">', page)
    with annex_path(html).open(encoding="utf-8", newline="") as f:
        annex = list(csv.DictReader(f))
    assert sum(row["reading"] in followers for row in annex) == sum(
        d.reading is not None for d in rejected.deviations) > 0
