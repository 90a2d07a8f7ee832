"""Loading the exports into PostgreSQL: one schema per partner, row counts equal to the files."""

from __future__ import annotations

from pathlib import Path

import pytest

from miner.errors import InputError
from miner.simulation import SimulationResult, load_postgres


def test_load_postgres_row_counts_equal_file_row_counts(
    short_run: SimulationResult, postgres_dsn: str
) -> None:
    import psycopg

    loaded = load_postgres(short_run.out, postgres_dsn)
    expected = {
        "coa.bewonersregistratie": short_run.files["coa/bewonersregistratie.csv"],
        "dtv.vertrekdossiers": short_run.files["dtv/vertrekdossiers.csv"],
        "ind.indigo_zaakhistorie": short_run.files["ind/indigo_zaakhistorie.csv"],
        "kmar.kmar_registraties": short_run.files["kmar/kmar_registraties.csv"],
        "kmi.kmi_maandcijfers": short_run.files["kmi/kmi_maandcijfers.csv"],
        "politie.pshv_registraties": short_run.files["politie/pshv_registraties.jsonl"],
        "politie.smartflow_2021": short_run.files["politie/smartflow_2021.xlsx"],
    }
    assert loaded == expected
    with psycopg.connect(postgres_dsn) as conn:
        for table, n in expected.items():
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (n,)
        columns = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'ind' "
                "AND table_name = 'indigo_zaakhistorie' ORDER BY ordinal_position"
            )
        ]
        assert columns[:3] == ["zaaknummer", "v_nummer", "achternaam"]
    assert load_postgres(short_run.out, postgres_dsn) == expected  # reloading replaces


def test_load_postgres_refuses_a_folder_without_exports(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no partner exports found"):
        load_postgres(tmp_path, "postgresql://localhost/none")
