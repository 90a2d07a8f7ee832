"""Event provenance (``source``, ``source_file``, ``source_row``) survives an OCEL 2.0 export and
re-import: the partner system of an ingested workspace is what the chain analyses compare."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import miner
from miner.formats._ocel2_common import READER_SOURCES
from miner.model.log import Log, connect
from miner.model.schema import ARROW_SCHEMAS, CANONICAL_TABLES
from tests.conftest import import_pm4py, ingest_run, reallog

SUFFIXES = [".jsonocel", ".xmlocel", ".sqlite"]
MINER_ATTRIBUTES = "SELECT count(*) FROM event_attributes WHERE name LIKE 'miner:%'"


def tables(log: Log) -> dict[str, list[tuple[Any, ...]]]:
    """Every canonical table: sequenced ones in ``seq`` order with ``seq``, the others sorted."""
    result = {}
    for table in CANONICAL_TABLES:
        if "seq" in ARROW_SCHEMAS[table].names:
            result[table] = log.con.execute(f"SELECT * FROM {table} ORDER BY seq").fetchall()
        else:
            result[table] = sorted(log.con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
    return result


def events(log: Log) -> list[tuple[Any, ...]]:
    return log.con.execute("SELECT * FROM events ORDER BY seq").fetchall()


@pytest.fixture
def partner_log() -> Log:
    """The OCEL 2.0 example as if ingested: events of COA and PSHV with their delivery file and
    row; one event without file and row; one event type without attributes."""
    log = miner.read(reallog("ocel20_example.jsonocel"))
    log.con.execute(
        "UPDATE events SET source = CASE WHEN seq % 3 = 0 THEN 'pshv' ELSE 'coa' END, "
        "source_file = CASE WHEN seq % 3 = 0 THEN 'politie/pshv_registraties.jsonl' "
        "ELSE 'coa/bewonersregistratie.csv' END, source_row = 1000 + 7 * seq"
    )
    log.con.execute("UPDATE events SET source_file = NULL, source_row = NULL WHERE seq = 4")
    # 'Change PO Quantity' without attributes (written, read and renumbered as a plain log is)
    log.con.execute("DELETE FROM event_types WHERE event_type = 'Change PO Quantity'")
    log.con.execute("INSERT INTO event_types VALUES ('Change PO Quantity', NULL, NULL)")
    log.con.execute(
        "DELETE FROM event_attributes WHERE event_id IN "
        "(SELECT event_id FROM events WHERE event_type = 'Change PO Quantity')"
    )
    log.con.execute(
        "CREATE TEMP TABLE dense AS SELECT * EXCLUDE (seq), "
        "row_number() OVER (ORDER BY seq) - 1 AS seq FROM event_attributes"
    )
    log.con.execute("DELETE FROM event_attributes")
    log.con.execute("INSERT INTO event_attributes SELECT * FROM dense")
    log.con.execute("DROP TABLE dense")
    return log


def test_the_example_has_what_the_fixture_assumes(partner_log: Log) -> None:
    rows = partner_log.con.execute(
        "SELECT source, count(*), count(source_file), count(source_row) FROM events "
        "GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert rows == [("coa", 8, 7, 7), ("pshv", 5, 5, 5)]
    assert partner_log.con.execute(
        "SELECT attribute FROM event_types WHERE event_type = 'Change PO Quantity'"
    ).fetchall() == [(None,)]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_round_trip_keeps_source_file_and_row(
    partner_log: Log, suffix: str, tmp_path: Path
) -> None:
    target = tmp_path / f"partners{suffix}"
    miner.write(partner_log, target)
    back = miner.read(target)
    assert events(back) == events(partner_log)
    assert back.con.execute(
        "SELECT event_id, source, source_file, source_row FROM events WHERE seq IN (0, 3, 4)"
        " ORDER BY seq"
    ).fetchall() == [
        ("e1", "pshv", "politie/pshv_registraties.jsonl", 1000),
        ("e4", "pshv", "politie/pshv_registraties.jsonl", 1021),
        ("e5", "coa", None, None),
    ]
    assert back.con.execute(MINER_ATTRIBUTES).fetchone() == (0,)
    # every canonical table, not just the events: the attributes renumbered densely, the
    # provenance declarations gone (a type without attributes says so again)
    assert tables(back) == tables(partner_log)
    # and once more: read(write(read(x))) equals read(x)
    again = tmp_path / f"again{suffix}"
    miner.write(back, again)
    assert tables(miner.read(again)) == tables(partner_log)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_the_file_declares_the_provenance_attributes(
    partner_log: Log, suffix: str, tmp_path: Path
) -> None:
    target = tmp_path / f"partners{suffix}"
    miner.write(partner_log, target)
    expected = [("miner:source", "string"), ("miner:source_file", "string"),
                ("miner:source_row", "integer")]
    if suffix == ".jsonocel":
        doc = json.loads(target.read_text())
        declared = {t["name"]: [(a["name"], a["type"]) for a in t["attributes"]]
                    for t in doc["eventTypes"]}
        first = doc["events"][0]["attributes"]
        assert first[-3:] == [{"name": "miner:source", "value": "pshv"},
                              {"name": "miner:source_file", "value": "politie/pshv_registraties.jsonl"},
                              {"name": "miner:source_row", "value": "1000"}]
        assert [a for a in doc["events"][4]["attributes"] if a["name"].startswith("miner:")] == [
            {"name": "miner:source", "value": "coa"}]
    elif suffix == ".xmlocel":
        from lxml import etree

        root = etree.parse(str(target)).getroot()
        declared = {t.get("name"): [(a.get("name"), a.get("type")) for a in t.iter("attribute")]
                    for t in root.iter("event-type")}
    else:
        con = sqlite3.connect(target)
        declared = {}
        for name, suffix_ in con.execute("SELECT ocel_type, ocel_type_map FROM event_map_type"):
            info = con.execute(f'PRAGMA table_info("event_{suffix_}")').fetchall()
            types = {"TEXT": "string", "INTEGER": "integer"}
            declared[name] = [(r[1], types.get(r[2], r[2])) for r in info
                              if r[1] not in ("ocel_id", "ocel_time")]
        row = con.execute(
            'SELECT "miner:source", "miner:source_file", "miner:source_row" '
            "FROM event_ApprovePurchaseRequisition"
        ).fetchall()
        con.close()
        assert row == [("coa", "coa/bewonersregistratie.csv", 1007)]
    assert len(declared) == 8
    for name, attributes in declared.items():
        assert attributes[-3:] == expected, name
    assert declared["Change PO Quantity"] == expected


def test_only_events_from_other_sources_carry_provenance(partner_log: Log, tmp_path: Path) -> None:
    # events whose source is a reader's marker are written as before; a re-read marks them itself
    partner_log.con.execute(
        "UPDATE events SET source = 'ocel2-json', source_file = 'ocel20_example.jsonocel', "
        "source_row = seq + 1 WHERE seq >= 10"
    )
    target = tmp_path / "mixed.xmlocel"
    miner.write(partner_log, target)
    back = miner.read(target)
    assert back.con.execute(
        "SELECT seq, source, source_file, source_row FROM events WHERE seq >= 9 ORDER BY seq"
    ).fetchall() == [
        (9, "pshv", "politie/pshv_registraties.jsonl", 1063),
        (10, "ocel2-xml", "mixed.xmlocel", 11),
        (11, "ocel2-xml", "mixed.xmlocel", 12),
        (12, "ocel2-xml", "mixed.xmlocel", 13),
    ]
    assert back.con.execute(MINER_ATTRIBUTES).fetchone() == (0,)
    assert back.con.execute("SELECT count(*) FROM event_attributes").fetchone() == (
        partner_log.count("event_attributes"),
    )


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_plain_log_is_written_without_provenance(suffix: str, tmp_path: Path) -> None:
    log = miner.read(reallog("ocel20_example.sqlite"))
    assert {r[0] for r in log.con.execute("SELECT source FROM events").fetchall()} == {
        "ocel2-sqlite"}
    target = tmp_path / f"plain{suffix}"
    miner.write(log, target)
    assert b"miner:" not in target.read_bytes()
    back = miner.read(target)
    assert back.count("event_attributes") == log.count("event_attributes")
    assert back.con.execute("SELECT DISTINCT source, source_file FROM events").fetchall() == [
        (f"ocel2-{suffix.removeprefix('.').removesuffix('ocel')}", target.name)]


def test_the_reader_markers_are_what_the_readers_write(tmp_path: Path) -> None:
    sources = set()
    for name in ("ocel20_example.jsonocel", "ocel20_example.xmlocel", "ocel20_example.sqlite",
                 "running-example.xes"):
        log = miner.read(reallog(name))
        sources |= {r[0] for r in log.con.execute("SELECT DISTINCT source FROM events").fetchall()}
    csv = tmp_path / "events.csv"
    csv.write_text("case,activity,time\nc1,a,2024-01-02 03:04:05\n")
    parquet = tmp_path / "events.parquet"
    mapping = miner.ColumnMapping(activity="activity", timestamp="time", objects={"case": "case"},
                                  timestamp_format="%Y-%m-%d %H:%M:%S")
    log = miner.read(csv, mapping=mapping)
    sources |= {r[0] for r in log.con.execute("SELECT DISTINCT source FROM events").fetchall()}
    log.con.execute(f"COPY (SELECT * FROM read_csv('{csv}', all_varchar = true)) TO '{parquet}' (FORMAT parquet)")
    log = miner.read(parquet, mapping=mapping)
    sources |= {r[0] for r in log.con.execute("SELECT DISTINCT source FROM events").fetchall()}
    assert sources == set(READER_SOURCES)


def test_appending_to_a_workspace_restores_only_the_new_events(
    partner_log: Log, tmp_path: Path
) -> None:
    for table in ("events", "event_attributes", "event_objects"):  # ids running-example lacks
        partner_log.con.execute(f"UPDATE {table} SET event_id = 'partner:' || event_id")
    export = tmp_path / "partners.sqlite"
    miner.write(partner_log, export)
    workspace = miner.read(reallog("running-example.xes"), workspace=tmp_path / "ws.duckdb")
    before = tables(workspace)
    miner.load(export, workspace)
    old = "SELECT * FROM {} WHERE seq < {} ORDER BY seq"
    assert workspace.con.execute(old.format("events", 42)).fetchall() == before["events"]
    n = len(before["event_attributes"])
    assert workspace.con.execute(old.format("event_attributes", n)).fetchall() == before[
        "event_attributes"]
    assert workspace.con.execute(
        "SELECT * EXCLUDE (seq) FROM events WHERE seq >= 42 ORDER BY seq"
    ).fetchall() == partner_log.con.execute("SELECT * EXCLUDE (seq) FROM events ORDER BY seq").fetchall()
    assert workspace.con.execute(
        "SELECT min(seq), max(seq), count(*) FROM event_attributes WHERE seq >= ?", [n]
    ).fetchone() == (n, n + partner_log.count("event_attributes") - 1,
                     partner_log.count("event_attributes"))
    assert workspace.con.execute(MINER_ATTRIBUTES).fetchone() == (0,)
    workspace.close()


def test_pm4py_reads_the_json_with_provenance(partner_log: Log, tmp_path: Path) -> None:
    pm4py = import_pm4py()
    target = tmp_path / "partners.jsonocel"
    miner.write(partner_log, target)
    ocel = pm4py.read_ocel2_json(str(target))
    assert len(ocel.events) == 13 and len(ocel.objects) == 9 and len(ocel.o2o) == 7
    frame = ocel.events.set_index("ocel:eid")
    assert frame.loc["e1", "miner:source"] == "pshv"
    assert frame.loc["e2", "miner:source_file"] == "coa/bewonersregistratie.csv"
    assert int(frame.loc["e2", "miner:source_row"]) == 1007


@pytest.mark.slow
def test_an_ingested_workspace_keeps_its_partner_systems(
    short_run: Any, tmp_path: Path
) -> None:
    ingested = ingest_run(short_run, tmp_path / "ingested.duckdb")
    workspace = connect(ingested.workspace, read_only=True)  # writing needs no write access
    try:
        systems = workspace.con.execute(
            "SELECT DISTINCT source FROM events ORDER BY 1").fetchall()
        assert {"coa", "indigo", "pshv", "smartflow"} <= {s for (s,) in systems}
        target = tmp_path / "export.jsonocel"
        miner.write(workspace, target)
        back = miner.read(target)
        assert events(back) == events(workspace)
        assert back.con.execute(MINER_ATTRIBUTES).fetchone() == (0,)
        content = "SELECT * FROM event_attributes ORDER BY seq"
        assert back.con.execute(content).fetchall() == workspace.con.execute(content).fetchall()
        assert sorted(back.con.execute("FROM event_types").fetchall(), key=repr) == sorted(
            workspace.con.execute("FROM event_types").fetchall(), key=repr)
    finally:
        workspace.close()
