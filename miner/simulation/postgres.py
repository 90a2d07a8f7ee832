"""Load a simulation's partner exports into PostgreSQL: one schema per partner, one table per export.

Every column is loaded as text, exactly as the partner delivered it (a staging copy of the source
systems), so that ingest from the database meets the same faults as ingest from the files.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from miner.errors import InputError, MinerError
from miner.simulation._exports import SPECS, ExportSpec

SCHEMAS = {
    "IND": "ind",
    "Politie": "politie",
    "COA": "coa",
    "DT&V": "dtv",
    "KMar": "kmar",
    "APM": "kmi",
}


def _table_name(path: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", Path(path).stem.lower())


def _column(name: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", name.lower())


def _rows(spec: ExportSpec, path: Path) -> Iterator[list[str | None]]:
    if spec.kind == "csv":
        with open(path, encoding=spec.encoding, newline="") as fh:
            reader = csv.reader(fh, delimiter=spec.delimiter)
            next(reader)
            for row in reader:
                yield [v if v != "" else None for v in row]
    elif spec.kind == "jsonl":
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                record = json.loads(line)
                yield [record[c] if record[c] != "" else None for c in spec.columns]
    else:
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True)
        try:
            for values in wb.active.iter_rows(min_row=2, values_only=True):
                yield [_text(v) for v in values]
        finally:
            wb.close()


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def export_files(out: Path) -> list[tuple[ExportSpec, Path]]:
    """The export files of a simulation folder, with the spec of the partner system behind each."""
    found = []
    for spec in SPECS.values():
        pattern = spec.path.replace("{year}", "*")
        found += [(spec, p) for p in sorted(out.glob(pattern))]
    return found


def load_postgres(out: Path, dsn: str) -> dict[str, int]:
    """Load every export in ``out`` into the PostgreSQL database at ``dsn``.

    Each partner gets a schema (ind, politie, coa, dtv, kmar, kmi) and each export file a table named
    after the file (``ind.indigo_zaakhistorie``, ``politie.smartflow_2021`` ...), with the export's
    own column names in lower case and every value as text. Existing tables are replaced.

    Returns:
        The number of rows loaded per ``schema.table``.

    Raises:
        InputError: ``out`` holds no exports.
        MinerError: the database cannot be reached or refuses the load.

    Example:
        >>> load_postgres(Path("sim"), "postgresql://localhost/miner")  # doctest: +SKIP
        {'coa.bewonersregistratie': 91439, ...}
    """
    import psycopg

    files = export_files(Path(out))
    if not files:
        raise InputError(f"{out}: no partner exports found (expected e.g. {SPECS['indigo'].path})")
    loaded: dict[str, int] = {}
    try:
        with psycopg.connect(dsn) as conn:
            for spec, path in files:
                schema, table = SCHEMAS[spec.partner], _table_name(path.name)
                cols = [_column(c) for c in spec.columns]
                with conn.cursor() as cur:
                    cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                    cur.execute(f'DROP TABLE IF EXISTS "{schema}"."{table}"')
                    cur.execute(
                        f'CREATE TABLE "{schema}"."{table}" ('
                        + ", ".join(f'"{c}" text' for c in cols)
                        + ")"
                    )
                    n = 0
                    copy_sql = (
                        f'COPY "{schema}"."{table}" ('
                        + ", ".join(f'"{c}"' for c in cols)
                        + ") FROM STDIN"
                    )
                    with cur.copy(copy_sql) as copy:
                        for row in _rows(spec, path):
                            copy.write_row(row)
                            n += 1
                loaded[f"{schema}.{table}"] = n
            conn.commit()
    except psycopg.Error as exc:
        raise MinerError(f"loading {out} into PostgreSQL failed: {exc}") from exc
    return dict(sorted(loaded.items()))
