"""Reading one partner export, as delivered, into a staging table of text cells.

A *source* is a file (CSV with any delimiter and encoding, JSON lines, an Excel sheet, Parquet) or a
database table or query (PostgreSQL, DuckDB). Whatever its shape, it lands in a staging DuckDB
table whose columns are the export's own, every cell as text exactly as read (empty cells NULL),
plus ``_row``: the 1-based data row (the first row after the header is 1; Excel: sheet row 2). No
value is parsed here, so no value can be lost here; parsing and its failures happen later, per row.

The staging database is a private in-memory DuckDB: raw identifying values never touch the
workspace file.
"""

from __future__ import annotations

import codecs
import hashlib
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from miner.errors import InputError, SchemaError
from miner.formats._input import check_file

_CHUNK = 1 << 22
FILE_KINDS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
              ".xlsx": "excel", ".xlsm": "excel", ".parquet": "parquet"}


@dataclass(frozen=True)
class SourceSpec:
    """Where a source is: ``location`` is a file path, a PostgreSQL DSN or a DuckDB file;
    ``table`` the table or ``SELECT`` query in a database (None for files)."""

    location: str
    table: str | None = None

    @property
    def kind(self) -> str:
        if self.location.startswith(("postgresql://", "postgres://")):
            return "postgres"
        if self.table is not None:
            return "duckdb"
        suffix = Path(self.location).suffix.lower()
        if suffix not in FILE_KINDS:
            from miner.formats import FORMATS, extension

            if extension(Path(self.location)) in FORMATS:
                raise InputError(
                    f"{self.location}: an event log ({FORMATS[extension(Path(self.location))][0]}), "
                    "not a partner export: ingest reads the partners' exports with their mappings. "
                    "Give the log to the analysing commands as it is (`miner analyze "
                    f"{self.location}`, conformance, report, audit; docs/bring-your-own-log.md), "
                    f"or import it into a workspace with `miner convert {self.location} WS.duckdb`.")
            raise InputError(
                f"{self.location}: cannot tell the format from the extension {suffix!r}. "
                f"Supported: {', '.join(sorted(FILE_KINDS))}; databases as DSN + table."
            )
        return FILE_KINDS[suffix]

    @property
    def label(self) -> str:
        """How the source is named in messages and provenance (a DSN without its password)."""
        if self.kind == "postgres":
            base = self.location.split("@")[-1] if "@" in self.location else self.location
            return f"postgresql://{base.split('://')[-1]}#{self.table}"
        return f"{self.location}#{self.table}" if self.table else self.location


@dataclass(frozen=True)
class SourceRead:
    """What :func:`read_source` staged: the table name, row count, columns and content hash."""

    table: str
    rows: int
    columns: tuple[str, ...]
    sha256: str


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes: the identity of a delivery (ingesting it twice changes nothing)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_source(
    stage: duckdb.DuckDBPyConnection, spec: SourceSpec, table: str, *, encoding: str = "utf-8",
    delimiter: str | None = None, sheet: str | None = None,
) -> SourceRead:
    """Stage one source as text cells in ``table`` of the staging connection."""
    kind = spec.kind
    if kind == "postgres":
        sha = _stage_postgres(stage, spec, table)
    elif kind == "duckdb":
        sha = _stage_duckdb(stage, spec, table)
    else:
        path = Path(spec.location)
        check_file(path)
        sha = file_sha256(path)
        if kind == "csv":
            _stage_csv(stage, path, table, encoding, delimiter)
        elif kind == "jsonl":
            _stage_json_lines(stage, path, table)
        elif kind == "excel":
            _stage_arrow(stage, table, _excel_table(path, sheet))
        else:
            _stage_query(stage, table, f"read_parquet({_lit(path)})", spec.label)
    columns = tuple(r[0] for r in stage.execute(f"DESCRIBE {table}").fetchall() if r[0] != "_row")
    rows = stage.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    if rows == 0:
        raise InputError(f"{spec.label}: the source has a header but no rows; nothing to ingest.")
    return SourceRead(table, int(rows), columns, sha)


def _lit(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _stage_query(stage: duckdb.DuckDBPyConnection, table: str, relation: str, label: str) -> None:
    """Create ``table`` from a DuckDB table function, every column cast to text, numbered."""
    try:
        stage.execute(f"CREATE OR REPLACE TABLE _{table} AS SELECT * FROM {relation}")
    except duckdb.OutOfMemoryException:
        raise  # the memory cap, not the file: ingest names the cap and the fix
    except duckdb.Error as exc:
        raise InputError(f"{label}: cannot be read ({str(exc).splitlines()[0]}). "
                         "Check that the file is complete and of the type its name says.") from exc
    columns = [r[0] for r in stage.execute(f"DESCRIBE _{table}").fetchall()]
    cells = ", ".join(f"NULLIF(CAST({_ident(c)} AS VARCHAR), '') AS {_ident(c)}" for c in columns)
    stage.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {cells}, rowid + 1 AS _row FROM _{table}")
    stage.execute(f"DROP TABLE _{table}")


def _stage_json_lines(stage: duckdb.DuckDBPyConnection, path: Path, table: str) -> None:
    """JSON lines: every key of the records becomes a text column (in order of first appearance),
    taken as the JSON text says it, without type detection."""
    objects = f"read_json_objects({_lit(path)}, format='newline_delimited')"
    _stage_query(stage, f"{table}_json", objects, str(path))
    keys = stage.execute(
        f"SELECT k FROM (SELECT _row, unnest(json_keys(json)) AS k, "
        f"unnest(range(len(json_keys(json)))) AS i FROM {table}_json) "
        "GROUP BY k ORDER BY min(_row), min(i)"
    ).fetchall()
    if not keys:
        raise InputError(f"{path}: no JSON objects with keys found; is it JSON lines?")
    cells = ", ".join(f"NULLIF(json ->> {_lit(_json_path(k))}, '') AS {_ident(k)}" for (k,) in keys)
    stage.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {cells}, _row FROM {table}_json "
                  "ORDER BY _row")
    stage.execute(f"DROP TABLE {table}_json")


def _json_path(key: str) -> str:
    return '$."' + key.replace('"', '\\"') + '"'


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _stage_arrow(stage: duckdb.DuckDBPyConnection, table: str, data: pa.Table) -> None:
    stage.register("_miner_arrow", data)
    stage.execute(f"CREATE OR REPLACE TABLE _{table} AS SELECT * FROM _miner_arrow")
    stage.unregister("_miner_arrow")
    _stage_query(stage, table, f"_{table}", table)


def _stage_csv(
    stage: duckdb.DuckDBPyConnection, path: Path, table: str, encoding: str, delimiter: str | None
) -> None:
    """CSV: decode strictly in ``encoding`` (an undecodable byte is an error naming its line and
    offset), hand UTF-8 to DuckDB's CSV reader with every column as text."""
    utf8 = _as_utf8(path, encoding)
    try:
        delim = f", delim={_lit(delimiter)}" if delimiter else ""
        _stage_query(stage, table, f"read_csv({_lit(utf8)}, header=true, all_varchar=true, "
                     f"quote='\"', escape='\"', strict_mode=true, null_padding=false{delim})",
                     str(path))
    finally:
        if utf8 != path:
            utf8.unlink(missing_ok=True)


def _as_utf8(path: Path, encoding: str) -> Path:
    """``path`` itself when it is valid UTF-8 (BOM allowed) and asked as such, else a UTF-8 copy."""
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise InputError(f"{path}: unknown encoding {encoding!r} in the mapping. Use a Python "
                         "codec name such as utf-8, cp1252 or latin-1.") from exc
    same = codecs.lookup(encoding).name == "utf-8"
    decoder = codecs.getincrementaldecoder("utf-8-sig" if same else encoding)("strict")
    # Closed below, or by the caller that unlinks the copy.
    out = None if same else tempfile.NamedTemporaryFile("wb", suffix=".csv", delete=False)  # noqa: SIM115
    offset, lines = 0, 0
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                try:
                    text = decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    bad = offset + exc.start
                    line = lines + chunk[: exc.start].count(b"\n") + 1
                    raise InputError(
                        f"{path}: byte {bad} (line {line}) is {chunk[exc.start:exc.start + 1]!r}, "
                        f"not valid {encoding}. Set source.encoding in the mapping to the export's "
                        "encoding (e.g. cp1252 for Windows exports, utf-8 otherwise)."
                    ) from exc
                offset += len(chunk)
                lines += chunk.count(b"\n")
                if out is not None:
                    out.write(text.encode("utf-8"))
            decoder.decode(b"", final=True)
    except BaseException:
        if out is not None:
            out.close()
            Path(out.name).unlink(missing_ok=True)
        raise
    if out is None:
        return path
    out.close()
    return Path(out.name)


def _cell(value: Any) -> str | None:
    """An Excel cell as text: dates ISO, whole numbers without '.0', empty as None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _excel_table(path: Path, sheet: str | None) -> pa.Table:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for broken files
        raise InputError(f"{path}: cannot be read as an Excel workbook ({exc}).") from exc
    names = book.sheet_names
    if sheet is None:
        sheet = names[0]
    if sheet not in names:
        raise SchemaError(f"{path}: has no sheet {sheet!r}; sheets: {', '.join(names)}. "
                          "Set source.sheet in the mapping.")
    rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    if not rows:
        raise InputError(f"{path}: sheet {sheet!r} is empty.")
    header = [str(h) for h in rows[0]]
    columns = list(zip(*rows[1:], strict=True)) if len(rows) > 1 else [() for _ in header]
    return pa.table({h: pa.array([_cell(v) for v in col], pa.string())
                     for h, col in zip(header, columns, strict=True)})


def _stage_postgres(stage: duckdb.DuckDBPyConnection, spec: SourceSpec, table: str) -> str:
    """PostgreSQL: stream the table or query out with COPY as CSV into a temporary file."""
    import psycopg

    assert spec.table is not None
    query = spec.table if spec.table.lstrip().lower().startswith("select") else (
        "SELECT * FROM " + ".".join(f'"{p}"' for p in spec.table.split(".")))
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile("wb", suffix=".csv", delete=False) as out:
        try:
            with psycopg.connect(spec.location) as pg, pg.cursor() as cur, cur.copy(
                f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)"
            ) as copy:
                for data in copy:
                    digest.update(data)
                    out.write(data)
        except psycopg.Error as exc:
            Path(out.name).unlink(missing_ok=True)
            raise InputError(f"{spec.label}: cannot be read from PostgreSQL "
                             f"({str(exc).strip().splitlines()[0]}). Check the DSN, the table name "
                             "and the user's rights.") from exc
    try:
        _stage_query(stage, table, f"read_csv({_lit(out.name)}, header=true, all_varchar=true)",
                     spec.label)
    finally:
        Path(out.name).unlink(missing_ok=True)
    return digest.hexdigest()


def _stage_duckdb(stage: duckdb.DuckDBPyConnection, spec: SourceSpec, table: str) -> str:
    """A table or query in another DuckDB file, attached read-only."""
    assert spec.table is not None
    check_file(Path(spec.location))
    try:
        stage.execute(f"ATTACH {_lit(spec.location)} AS _miner_src (READ_ONLY)")
    except duckdb.Error as exc:
        raise InputError(f"{spec.label}: cannot open as a DuckDB database ({exc}).") from exc
    try:
        relation = (f"({spec.table})" if spec.table.lstrip().lower().startswith("select")
                    else "_miner_src." + spec.table)
        _stage_query(stage, table, relation, spec.label)
    finally:
        stage.execute("DETACH _miner_src")
    digest = hashlib.sha256()
    for batch in stage.sql(f"SELECT * EXCLUDE (_row) FROM {table} ORDER BY _row").to_arrow_reader():
        for column in batch.columns:
            digest.update(str(column.to_pylist()).encode())
    return digest.hexdigest()


