"""Same scenario and seed give byte-identical files; another seed gives other data."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from miner.simulation import SimulationResult, simulate


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_same_seed_gives_byte_identical_files(short_run: SimulationResult, tmp_path: Path) -> None:
    again = simulate("default", seed=1, years=0.04, out=tmp_path / "again")
    first, second = _digests(short_run.out), _digests(again.out)
    assert first == second
    assert set(first) == {
        "coa/bewonersregistratie.csv",
        "dtv/vertrekdossiers.csv",
        "ind/indigo_zaakhistorie.csv",
        "kmar/kmar_registraties.csv",
        "kmi/kmi_maandcijfers.csv",
        "politie/pshv_registraties.jsonl",
        "politie/smartflow_2021.xlsx",
        "summary.json",
        "truth/foreigners.parquet",
        "truth/phenomena.json",
        "truth/rows.parquet",
    }
    assert again.files == short_run.files and again.phenomena == short_run.phenomena


@pytest.mark.slow
def test_another_seed_gives_different_data(short_run: SimulationResult, tmp_path: Path) -> None:
    other = simulate("default", seed=2, years=0.04, out=tmp_path / "other")
    first, second = _digests(short_run.out), _digests(other.out)
    assert all(first[name] != second[name] for name in first)
    assert other.phenomena != short_run.phenomena


def test_excel_export_has_fixed_metadata(short_run: SimulationResult) -> None:
    import zipfile

    with zipfile.ZipFile(short_run.out / "politie" / "smartflow_2021.xlsx") as z:
        assert {i.date_time for i in z.infolist()} == {(2000, 1, 1, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core and core.count("2000-01-01T00:00:00Z") == 2


def test_a_run_across_new_year_keeps_every_excel_row(tmp_path: Path) -> None:
    """Smartflow has one workbook a year; rows of both years interleave around New Year."""
    from openpyxl import load_workbook

    scenario = tmp_path / "newyear.toml"
    scenario.write_text('base = "default"\nstart = 2021-12-29\n', encoding="utf-8")
    result = simulate(scenario, seed=1, years=0.015, out=tmp_path / "out")
    books = {name: n for name, n in result.files.items() if name.endswith(".xlsx")}
    assert set(books) == {"politie/smartflow_2021.xlsx", "politie/smartflow_2022.xlsx"}
    for name, n in books.items():
        wb = load_workbook(result.out / name, read_only=True)
        assert sum(1 for _ in wb.active.iter_rows(values_only=True)) == n + 1, name
        wb.close()
