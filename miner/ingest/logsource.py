"""Event logs as ingest sources: an OCEL 2.0 or XES file delivered instead of a partner export.

A log needs no partner mapping: it is adopted (:mod:`miner.adopt`, with the log profile given to
ingest, or the defaults) and its canonical rows are appended to the workspace in one transaction
with its accounting: an ``ingest_files`` row (source ``log``, kind the format, the profile as the
mapping and its hash) and an ``ingest_reconciliation`` row in which every event of the file is a
row read that became an event (adoption drops no event). A log whose case ids are raw V-nummers is
pseudonymised with the ingest key (``[case] identifiers = "v-nummers"``), so its foreigners are the
same pseudonyms as those of the partner exports.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from miner.adopt import LogProfile, adopt, load_profile
from miner.formats import FORMATS, extension
from miner.ingest.pseudonyms import PseudonymKey
from miner.model.log import Log, first_row

SOURCE = "log"


def is_log_file(source: object) -> bool:
    """Whether ``source`` names an event-log file (OCEL 2.0 or XES) rather than a partner export."""
    return isinstance(source, (str, Path)) and extension(Path(source)) in FORMATS


def ingest_log(workspace: Log, path: Path, *, key: PseudonymKey, profile: str | Path | None,
               batch: int) -> dict[str, Any] | None:
    """Append the adopted log ``path`` to ``workspace``; returns its reconciliation row (as the
    summary lists sources), or None when the same file was ingested before."""
    from miner.formats import _copy_from, read
    from miner.ingest.sources import file_sha256
    from miner.model.loading import TableSink

    sha = file_sha256(path)
    if first_row(workspace.con.execute("SELECT 1 FROM ingest_files WHERE file_sha256 = ?", [sha])):
        return None
    chosen = load_profile(profile)
    log = read(path)
    try:
        adopt(log, chosen, key=key, name=str(path))
        events = log.count("events")
        span = first_row(log.con.execute("SELECT min(timestamp), max(timestamp) FROM events"))
        row = {"file_sha256": sha, "source": SOURCE, "location": str(path), "rows_read": events,
               "rows_to_events": events, "rows_to_figures": 0, "rows_quarantined": 0,
               "duplicate_rows": 0, "events_made": events, "quarantined_by_rule": "{}"}
        file_row = (sha, SOURCE, str(path), FORMATS[extension(path)][0], events,
                    span[0] if span else None, span[1] if span else None,
                    chosen.path or "(default log profile)", _profile_sha256(chosen), batch,
                    datetime.now(UTC))
        sink = TableSink(workspace.con)
        try:
            _copy_from(log, sink)
            sink.commit(what=str(path), also=lambda con: _account(con, file_row, row))
        finally:
            sink.abort()
    finally:
        log.close()
    return row


def _account(con: duckdb.DuckDBPyConnection, file_row: tuple[Any, ...],
             row: dict[str, Any]) -> None:
    con.execute("INSERT INTO ingest_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", list(file_row))
    con.execute("INSERT INTO ingest_reconciliation VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [row[k] for k in ("file_sha256", "source", "location", "rows_read",
                                  "rows_to_events", "rows_to_figures", "rows_quarantined",
                                  "duplicate_rows", "events_made", "quarantined_by_rule")])


def _profile_sha256(profile: LogProfile) -> str:
    return hashlib.sha256(repr(sorted(vars(profile).items())).encode()).hexdigest()
