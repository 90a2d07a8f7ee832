"""Ingest from every kind of source: PostgreSQL gives the same workspace as the files, a delivery cut
in two gives the same log as the whole, and bad input fails clearly without writing anything."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from miner.errors import InputError, SchemaError, WorkspaceError
from miner.ingest import PseudonymKey, ingest, read_mapping, shipped_mappings
from miner.model.log import connect
from miner.simulation import SimulationResult, load_postgres
from tests.conftest import AS_OF, KEY, ingest_run

_COMPARED = {
    "events": "event_id, event_type, timestamp, source, source_row",
    "event_attributes": "event_id, name, value_string",
    "objects": "object_id, object_type",
    "event_objects": "event_id, object_id, qualifier",
    "object_objects": "source_id, target_id, qualifier",
    "ingest_quarantine": "source, row, rule, found",
    "ingest_issues": "source, row, rule, found",
    "identity_links": "source, row, foreigner, method, confidence",
}


def _tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f"SELECT {c} FROM {t} ORDER BY ALL").fetchall()
                for t, c in _COMPARED.items()}
    finally:
        con.close()


@pytest.fixture(scope="module")
def short_ingested(short_run: SimulationResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ingest_run(short_run, tmp_path_factory.mktemp("short") / "files.duckdb").workspace


def test_postgres_gives_the_same_workspace_as_the_files(
    short_run: SimulationResult, short_ingested: Path, postgres_dsn: str, tmp_path: Path
) -> None:
    load_postgres(short_run.out, postgres_dsn)
    log = connect(tmp_path / "pg.duckdb")
    try:
        summary = ingest(log, [postgres_dsn], key=KEY, as_of=AS_OF)
    finally:
        log.close()
    assert len(summary.sources) == 7
    from_pg, from_files = _tables(tmp_path / "pg.duckdb"), _tables(short_ingested)
    for table in _COMPARED:
        assert from_pg[table] == from_files[table], table
    assert len(from_files["events"]) > 10_000


def _split_csv(source: Path, first: Path, second: Path, encoding: str) -> int:
    lines = source.read_bytes().decode(encoding).splitlines(keepends=True)
    half = len(lines) // 2
    first.write_bytes("".join(lines[:half]).encode(encoding))
    second.write_bytes("".join(lines[:1] + lines[half:]).encode(encoding))
    return half - 1


def test_next_delivery_appends_and_equals_one_delivery(
    short_run: SimulationResult, short_ingested: Path, tmp_path: Path
) -> None:
    """INDiGO delivered in two halves (as two months would be) gives the same log as in one."""
    months = tmp_path / "months"
    shutil.copytree(short_run.out, months / "m1")
    (months / "m1" / "ind" / "indigo_zaakhistorie.csv").unlink()
    (months / "m2" / "ind").mkdir(parents=True)
    first_rows = _split_csv(short_run.out / "ind" / "indigo_zaakhistorie.csv",
                            months / "m1" / "ind" / "indigo_zaakhistorie_a.csv",
                            months / "m2" / "ind" / "indigo_zaakhistorie_b.csv", "cp1252")
    log = connect(tmp_path / "two.duckdb")
    try:
        ingest(log, [months / "m1"], key=KEY, as_of=AS_OF)
        second = ingest(log, [months / "m2"], key=KEY, as_of=AS_OF)
        again = ingest(log, [months / "m2"], key=KEY, as_of=AS_OF)
    finally:
        log.close()
    assert second.sources[0]["rows_read"] > 0 and first_rows > 0
    assert again.events == 0 and again.skipped
    two, one = _tables(tmp_path / "two.duckdb"), _tables(short_ingested)
    # row numbers restart in the second half; compare what does not depend on them
    assert sorted(r[:4] for r in two["events"]) == sorted(r[:4] for r in one["events"])
    for table in ("objects", "event_objects", "object_objects", "event_attributes"):
        assert two[table] == one[table], table


def test_wrong_encoding_names_file_line_and_fix(short_run: SimulationResult, tmp_path: Path) -> None:
    mapping = next(m for m in shipped_mappings() if m.name == "indigo")
    bad = tmp_path / "bad.toml"
    text = Path(mapping.path.replace("miner/data", str(Path(__file__).parents[2] / "miner/data")))
    bad.write_text(text.read_text(encoding="utf-8").replace('encoding = "cp1252"', 'encoding = "utf-8"'),
                   encoding="utf-8")
    log = connect(tmp_path / "ws.duckdb")
    with pytest.raises(InputError, match=r"indigo_zaakhistorie\.csv: byte \d+ \(line \d+\) .* not valid "
                       r"utf-8\. Set source\.encoding"):
        ingest(log, [short_run.out / "ind" / "indigo_zaakhistorie.csv"], key=KEY,
               mappings=[read_mapping(bad)])
    assert log.count("events") == 0
    assert log.con.execute("SELECT count(*) FROM ingest_files").fetchall() == [(0,)]


def test_missing_column_suggests_the_closest(short_run: SimulationResult, tmp_path: Path) -> None:
    source = short_run.out / "kmar" / "kmar_registraties.csv"
    renamed = tmp_path / "kmar_registraties.csv"
    renamed.write_bytes(source.read_bytes().replace(b"ACTIVITEIT", b"ACTIVITIET", 1))
    log = connect(tmp_path / "ws.duckdb")
    with pytest.raises(SchemaError, match=r"kmar_registraties\.csv: has no column 'ACTIVITEIT'.*"
                       r"Did you mean 'ACTIVITIET'\?"):
        ingest(log, [renamed], key=KEY)
    assert log.count("events") == 0


def test_malformed_mapping_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[source]\nname = "x"\npartner = "IND"\nrecord_idd = "id"\n', encoding="utf-8")
    with pytest.raises(SchemaError, match=r"m\.toml: key 'source\.record_idd' is unknown.*"
                       r"Did you mean 'record_id'\?"):
        read_mapping(path)
    path.write_text('[source]\nname = "x"\npartner = "IND"\n[[events]]\nactivity = "c"\n'
                    'codes = "activities"\ntime = "t"\ntime_format = "%Y"\n'
                    '[codes.activities]\nX = "A99"\n', encoding="utf-8")
    with pytest.raises(SchemaError, match=r"key 'codes\.activities\.X' names catalogue id 'A99'"):
        read_mapping(path)
    path.write_text("[source\nname=", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"m\.toml: not valid TOML"):
        read_mapping(path)


def test_unreadable_database_is_a_clear_error(tmp_path: Path) -> None:
    log = connect(tmp_path / "ws.duckdb")
    with pytest.raises(InputError, match=r"postgresql://127\.0\.0\.1:1/nowhere#ind\.indigo_zaakhistorie: "
                       r"cannot be read from PostgreSQL"):
        ingest(log, ["postgresql://127.0.0.1:1/nowhere#ind.indigo_zaakhistorie"], key=KEY)
    assert log.count("events") == 0


def test_another_key_is_refused(short_ingested: Path, short_run: SimulationResult, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    shutil.copy(short_ingested, copy)
    log = connect(copy)
    with pytest.raises(WorkspaceError, match="another pseudonymisation key"):
        ingest(log, [short_run.out], key=PseudonymKey(b"another-key-of-16-bytes-or-more"))
