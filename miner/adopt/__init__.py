"""Bring your own log: the chain analyses, conformance and reports on a log `miner ingest` did not
make (an OCEL 2.0 or XES file, a CSV/Parquet event table, a workspace made by ``miner convert``).

:func:`open_for_analysis` opens an ingested workspace as it is (read-only) and reads anything else
into memory and adopts it (:mod:`miner.adopt.build`) following a log profile
(:mod:`miner.adopt.profile`, docs/bring-your-own-log.md).
"""

from __future__ import annotations

from pathlib import Path

from miner.adopt.build import LogFacts, UnmappedLabel, adopt, log_facts
from miner.adopt.profile import LogProfile, load_profile, parse_profile
from miner.model.log import Log, connect

__all__ = ["LogFacts", "LogProfile", "UnmappedLabel", "adopt", "is_ingested", "load_profile",
           "log_facts", "open_for_analysis", "parse_profile"]


def is_ingested(path: Path) -> bool:
    """Whether ``path`` is a workspace made by ``miner ingest`` (it has ingested deliveries)."""
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return False
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "ingest_files" not in tables:
            return False
        row = con.execute("SELECT count(*) FROM ingest_files").fetchone()
        return bool(row and row[0])
    finally:
        con.close()


def open_for_analysis(source: str | Path, *, profile: LogProfile | str | Path | None = None,
                      object_type: str | None = None, key_file: str | Path | None = None) -> Log:
    """The log the chain analyses read: an ingested workspace opened read-only, or ``source`` read
    into memory and adopted with ``profile`` (a :class:`LogProfile`, a TOML file, or None for the
    defaults). ``object_type`` overrides the profile's case notion."""
    from miner.formats import TABLE_EXTENSIONS, WORKSPACE_EXTENSION, extension, load, read
    from miner.formats._input import check_file

    path = Path(source)
    check_file(path)
    ext = extension(path)
    if ext == WORKSPACE_EXTENSION and is_ingested(path):
        return connect(path, read_only=True)
    chosen = profile if isinstance(profile, LogProfile) else load_profile(profile)
    if ext == WORKSPACE_EXTENSION:
        log = connect(None)
        try:
            load(path, log)
        except BaseException:
            log.close()
            raise
    else:
        mapping = chosen.column_mapping(path) if ext in TABLE_EXTENSIONS else None
        log = read(path, mapping=mapping)
    try:
        adopt(log, chosen, object_type=object_type,
              key_file=None if key_file is None else str(key_file), name=str(path))
    except BaseException:
        log.close()
        raise
    return log
