"""The simulated default year through `miner ingest`, checked against the simulator's ground truth:
every row accounted for, every planted fault found, identities linked without false merges, and no
raw identifier left in the workspace or the summary."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from miner.errors import MinerError
from miner.ingest import ingest
from miner.model.log import connect
from miner.simulation import SimulationResult
from tests.conftest import AS_OF, KEY, Ingested

#: Planted fault (truth/rows.parquet) → the rule under which ingest must report the row.
FAULT_RULES = {
    "duplicate_row": "duplicate_row",
    "missing_timestamp": "timestamp_missing",
    "impossible_timestamp": "timestamp_invalid",
    "misspelt_code": "unmapped_code",
    "missing_vnummer": "vnummer_missing",
    "typo_vnummer": "vnummer_invalid",
    "coa_late_update": "late_registration",
    "coa_missing_end": "missing_end",
}


def _con(ingested: Ingested) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(ingested.workspace), read_only=True)
    truth = ingested.run.out / "truth"
    con.execute(f"CREATE TEMP VIEW truth_rows AS SELECT * FROM '{truth / 'rows.parquet'}'")
    con.execute(f"CREATE TEMP VIEW truth_people AS SELECT * FROM '{truth / 'foreigners.parquet'}'")
    # every flag on a row, quarantined or kept, with the export file it came from
    con.execute("""
        CREATE TEMP VIEW flags AS
        SELECT f.location, x.row, x.rule FROM (
            SELECT file_sha256, row, rule FROM ingest_quarantine
            UNION ALL SELECT file_sha256, row, rule FROM ingest_issues) x
        JOIN ingest_files f USING (file_sha256)""")
    return con


@pytest.mark.slow
def test_every_row_is_accounted_for(ingested_year: Ingested) -> None:
    con = _con(ingested_year)
    per_file = dict(con.execute("SELECT file, count(*) FROM truth_rows GROUP BY file").fetchall())
    rec = con.execute("""
        SELECT location, rows_read, rows_to_events, rows_to_figures, rows_quarantined,
               duplicate_rows, quarantined_by_rule FROM ingest_reconciliation""").fetchall()
    assert len(rec) == len(per_file) == 7
    for location, read, to_events, to_figures, quarantined, duplicates, by_rule in rec:
        file = next(f for f in per_file if location.endswith(f))
        assert read == per_file[file]
        assert read == to_events + to_figures + quarantined + duplicates
        assert sum(json.loads(by_rule).values()) == quarantined
    # the quarantine table holds exactly the rows the reconciliation counts
    q = con.execute("SELECT count(*) FROM ingest_quarantine").fetchall()[0][0]
    assert q == sum(r[4] + r[5] for r in rec)
    # rows that became events are exactly the distinct source rows of the events
    made = con.execute("SELECT count(DISTINCT (source, source_row)) FROM events").fetchall()[0][0]
    assert made == sum(r[2] for r in rec)
    # KMI+ rows are figures, not events
    assert con.execute("SELECT count(*) FROM chain_figures").fetchall()[0][0] == per_file[
        "kmi/kmi_maandcijfers.csv"]
    summary = ingested_year.summary
    assert summary.rows == sum(per_file.values())
    assert summary.duplicates == ingested_year.run.phenomena["fault_duplicate_row"]


@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(FAULT_RULES))
def test_every_planted_fault_is_found(ingested_year: Ingested, fault: str) -> None:
    con = _con(ingested_year)
    rule = FAULT_RULES[fault]
    missed = con.execute("""
        SELECT t.file, t.row FROM truth_rows t
        WHERE t.fault = ? AND NOT EXISTS (
            SELECT 1 FROM flags f WHERE f.location LIKE '%' || t.file AND f.row = t.row
              AND (f.rule = ? OR f.rule IN (SELECT rule FROM ingest_quarantine)))
        ORDER BY 1, 2""", [fault, rule]).fetchall()
    planted = con.execute("SELECT count(*) FROM truth_rows WHERE fault = ?", [fault]).fetchall()[0][0]
    assert planted > 0
    assert missed == [], f"{len(missed)} of {planted} rows with {fault} not reported"
    # the exact faults are reported exactly: no extra duplicates, no extra missing times
    if fault in ("duplicate_row", "missing_timestamp", "missing_vnummer", "typo_vnummer",
                 "misspelt_code"):
        flagged = con.execute("SELECT count(*) FROM flags WHERE rule = ?", [rule]).fetchall()[0][0]
        assert flagged == planted


@pytest.mark.slow
def test_identity_linking_recovers_people_without_false_merges(ingested_year: Ingested) -> None:
    con = _con(ingested_year)
    people = con.execute("SELECT v_nummer FROM truth_people").fetchall()
    con.execute("CREATE TEMP TABLE pseudo (v_nummer VARCHAR, foreigner VARCHAR)")
    con.executemany("INSERT INTO pseudo VALUES (?, ?)",
                    [(v, "vreemdeling:" + KEY.pseudonym("v_nummer", v)) for (v,) in people])
    joined = """
        FROM identity_links l JOIN ingest_files f USING (file_sha256)
        JOIN truth_rows t ON f.location LIKE '%' || t.file AND t.row = l.row
        JOIN truth_people p ON p.foreigner = t.foreigner
        JOIN pseudo s ON s.v_nummer = p.v_nummer"""
    false_links = con.execute(
        f"SELECT count(*) {joined} WHERE l.foreigner IS NOT NULL AND l.foreigner <> s.foreigner"
    ).fetchall()[0][0]
    assert false_links == 0
    faulty, recovered = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE l.foreigner = s.foreigner) {joined} "
        "WHERE t.fault IN ('missing_vnummer', 'typo_vnummer')").fetchall()[0]
    planted = sum(ingested_year.run.phenomena[f"fault_{f}"] for f in ("missing_vnummer", "typo_vnummer"))
    assert faulty == planted
    assert recovered / faulty >= 0.99
    methods = dict(con.execute("SELECT method, count(*) FROM identity_links GROUP BY 1").fetchall())
    assert methods["partner_id"] > 0 and methods["fuzzy"] > 0
    # every event of a linked row points at its foreigner (E2O, qualifier vreemdeling)
    unlinked = con.execute("""
        SELECT count(*) FROM events e JOIN identity_links l
          ON l.source = e.source AND l.row = e.source_row AND l.foreigner IS NOT NULL
        WHERE NOT EXISTS (SELECT 1 FROM event_objects o WHERE o.event_id = e.event_id
                          AND o.object_id = l.foreigner AND o.qualifier = 'vreemdeling')""").fetchall()
    assert unlinked == [(0,)]


@pytest.mark.slow
def test_no_raw_identifier_in_workspace_or_summary(ingested_year: Ingested) -> None:
    """No V-nummer, family name or date of birth of the ground truth is a token of any text cell of
    any workspace table (a partner's record id that happens to equal a V-nummer is not a leak)."""
    con = _con(ingested_year)
    con.execute("""
        CREATE TEMP TABLE needles AS
        SELECT v_nummer AS v FROM truth_people
        UNION SELECT family_name FROM truth_people WHERE length(family_name) >= 5
        -- dates of birth in the exports' formats; before 2000, so no event date can match
        UNION SELECT strftime(CAST(date_of_birth AS DATE), '%Y-%m-%d') FROM truth_people
              WHERE year(CAST(date_of_birth AS DATE)) < 2000
        UNION SELECT strftime(CAST(date_of_birth AS DATE), '%d-%m-%Y') FROM truth_people
              WHERE year(CAST(date_of_birth AS DATE)) < 2000
        EXCEPT SELECT record FROM ingest_rows""")
    assert con.execute("SELECT count(*) FROM needles").fetchall()[0][0] > 60_000
    columns = con.execute("""
        SELECT table_name, column_name FROM duckdb_columns()
        WHERE database_name = 'year' AND data_type = 'VARCHAR'""").fetchall()
    tables = {t for t, _ in columns}
    assert {"events", "event_attributes", "objects", "ingest_quarantine", "ingest_issues"} <= tables
    for table, column in columns:
        hits = con.execute(f"""
            SELECT count(*) FROM (
                SELECT unnest(regexp_split_to_array(upper("{column}"), '[^0-9A-Z\\-À-Þ]+')) AS tok
                FROM "{table}") JOIN (SELECT upper(v) AS v FROM needles) ON tok = v""").fetchall()
        assert hits == [(0,)], f"{table}.{column} holds raw identifying values"
    v_nummers = {v for (v,) in con.execute(
        "SELECT v FROM needles WHERE regexp_full_match(v, '[0-9]{10}')").fetchall()}
    con.close()
    assert len(v_nummers) > 50_000
    # The cells are checked above; the bytes of the file (free blocks, what the tables do not
    # show) are searched for every V-nummer as a run of exactly ten digits, in one pass. Not inside
    # longer runs: DuckDB stores short strings back to back, and zero-padded record numbers side
    # by side make digit runs in which any ten-digit number appears by chance.
    raw = ingested_year.workspace.read_bytes()
    runs = {m.group(1).decode() for m in re.finditer(rb"(?<![0-9])([0-9]{10})(?![0-9])", raw)}
    assert not runs & v_nummers
    summary = json.dumps(ingested_year.summary.to_dict(), ensure_ascii=False)
    assert not set(re.findall(r"(?<![0-9])([0-9]{10})(?![0-9])", summary)) & v_nummers


@pytest.mark.slow
def test_ingesting_again_changes_nothing(ingested_year: Ingested) -> None:
    def counts() -> list[int]:
        con = duckdb.connect(str(ingested_year.workspace), read_only=True)
        try:
            return [con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in (
                "events", "event_attributes", "objects", "event_objects", "object_objects",
                "ingest_files", "ingest_quarantine", "identity_links")]
        finally:
            con.close()

    before = counts()
    log = connect(ingested_year.workspace)
    try:
        again = ingest(log, [ingested_year.run.out], key=KEY, as_of=AS_OF)
    finally:
        log.close()
    assert counts() == before
    assert again.events == 0 and len(again.skipped) == 7


def test_performer_of_the_dossier_is_its_sender_and_dtv_stays_the_recorder(
        ingested_year: Ingested) -> None:
    """dtv.toml's ``performed_by``: DT&V's receipt of the overdrachtsdossier (V01) keeps DT&V as
    organisation (the hand-off analysis measures the transfer there) and gets the sender named in
    ``bron`` as performer ('' for 'overig'); other events get no performer."""
    con = _con(ingested_year)
    rows = con.execute("""
        SELECT max(value_string) FILTER (WHERE name = 'activity_id') AS activity,
               max(value_string) FILTER (WHERE name = 'organisation') AS organisation,
               max(value_string) FILTER (WHERE name = 'performer') AS performer,
               max(value_string) FILTER (WHERE name = 'bron') AS bron
        FROM event_attributes JOIN events USING (event_id)
        WHERE source = 'dtv' GROUP BY event_id""").fetchall()
    dossiers = [r for r in rows if r[0] == "V01"]
    assert len(dossiers) > 1000
    assert {r[1] for r in dossiers} == {"DT&V"}
    assert all(r[2] == ("" if r[3] in (None, "overig") else r[3].strip()) for r in dossiers)
    senders = {r[2] for r in dossiers}
    assert {"IND", "Politie", "KMar"} <= senders
    assert all(r[2] is None for r in rows if r[0] != "V01")


def test_running_out_of_the_memory_cap_is_a_clear_error_and_writes_nothing(
        short_run: SimulationResult, tmp_path: Path) -> None:
    log = connect(tmp_path / "ws.duckdb")
    try:
        with pytest.raises(MinerError, match=r"memory cap \(2MB\).*larger cap than 2MB") as caught:
            ingest(log, [short_run.out], key=KEY, as_of=AS_OF, memory_limit="2MB")
        assert str(short_run.out) in str(caught.value)
        assert log.count("events") == 0 and log.count("objects") == 0
        # the workspace's own cap is back, and a run with room succeeds on the same connection
        summary = ingest(log, [short_run.out], key=KEY, as_of=AS_OF)
        assert summary.events == log.count("events") > 0
    finally:
        log.close()
