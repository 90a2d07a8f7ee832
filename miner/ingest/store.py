"""The ingest tables of a workspace: provenance, accounting, quarantine, issues and identity links.

They sit next to the canonical OCEL tables (``miner/model/schema.py``) in the same DuckDB file and
hold no raw identifying value (pseudonyms only):

* ``ingest_files`` — one row per delivery ingested: source, location, content hash (SHA-256),
  rows, time range, mapping file and its hash, the ingest batch and when.
* ``ingest_rows`` — per source row that became events: its record id and a keyed fingerprint of
  the whole row, so a row delivered again later is recognised as a duplicate.
* ``ingest_reconciliation`` — per delivery: rows read = rows to events + rows to figures + rows
  quarantined + duplicate rows; events made; quarantined rows per rule (JSON).
* ``ingest_quarantine`` — every row that did not become an event, with the rule, column, the
  offending value (never an identifying one) and a message.
* ``ingest_issues`` — warnings on rows that did become events (unmapped code, V-nummer missing or
  invalid, late registration, missing end, identity unresolved …).
* ``identity_links`` — per source row: the foreigner (pseudonym) it was linked to, the method and
  the confidence; ``method = 'unresolved'`` rows are the unresolved ones.
* ``unmapped_codes`` — partner codes no mapping translates, with the closest known code.
* ``chain_figures`` — aggregate figures (KMI+): period, indicator, category, value.
"""

from __future__ import annotations

import duckdb

INGEST_TABLES: dict[str, str] = {
    "ingest_files": (
        "file_sha256 VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, location VARCHAR NOT NULL, "
        "kind VARCHAR NOT NULL, rows BIGINT NOT NULL, first_time TIMESTAMPTZ, "
        "last_time TIMESTAMPTZ, mapping VARCHAR NOT NULL, mapping_sha256 VARCHAR NOT NULL, "
        "batch BIGINT NOT NULL, ingested_at TIMESTAMPTZ NOT NULL"
    ),
    "ingest_rows": (
        "source VARCHAR NOT NULL, record VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL, "
        "file_sha256 VARCHAR NOT NULL, row BIGINT NOT NULL"
    ),
    "ingest_reconciliation": (
        "file_sha256 VARCHAR NOT NULL, source VARCHAR NOT NULL, location VARCHAR NOT NULL, "
        "rows_read BIGINT NOT NULL, rows_to_events BIGINT NOT NULL, "
        "rows_to_figures BIGINT NOT NULL, rows_quarantined BIGINT NOT NULL, "
        "duplicate_rows BIGINT NOT NULL, events_made BIGINT NOT NULL, "
        "quarantined_by_rule VARCHAR NOT NULL"
    ),
    "ingest_quarantine": (
        "file_sha256 VARCHAR NOT NULL, source VARCHAR NOT NULL, location VARCHAR NOT NULL, "
        "row BIGINT NOT NULL, rule VARCHAR NOT NULL, \"column\" VARCHAR, found VARCHAR, "
        "message VARCHAR NOT NULL"
    ),
    "ingest_issues": (
        "file_sha256 VARCHAR NOT NULL, source VARCHAR NOT NULL, location VARCHAR NOT NULL, "
        "row BIGINT NOT NULL, rule VARCHAR NOT NULL, \"column\" VARCHAR, found VARCHAR, "
        "message VARCHAR NOT NULL"
    ),
    "identity_links": (
        "file_sha256 VARCHAR NOT NULL, source VARCHAR NOT NULL, row BIGINT NOT NULL, "
        "foreigner VARCHAR, method VARCHAR NOT NULL, confidence DOUBLE NOT NULL, "
        "reason VARCHAR, candidates INTEGER"
    ),
    "unmapped_codes": (
        "source VARCHAR NOT NULL, code VARCHAR NOT NULL, rows BIGINT NOT NULL, "
        "closest_known VARCHAR, file_sha256 VARCHAR NOT NULL"
    ),
    "chain_figures": (
        "source VARCHAR NOT NULL, period VARCHAR NOT NULL, indicator VARCHAR NOT NULL, "
        "category VARCHAR, value DOUBLE, file_sha256 VARCHAR NOT NULL, row BIGINT NOT NULL"
    ),
}

#: Rules under which a row is quarantined, in the order they are checked (the first that fires).
QUARANTINE_RULES = (
    "duplicate_row",
    "record_id_conflict",
    "activity_missing",
    "timestamp_missing",
    "timestamp_invalid",
    "dst_gap",
    "dst_ambiguous",
    "time_in_future",
    "time_before_birth",
    "end_before_start",
    "figure_invalid",
    "no_event",
)


def create_ingest_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ingest tables (and the ``identity_unresolved`` view) where missing."""
    for table, columns in INGEST_TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
    con.execute(
        "CREATE VIEW IF NOT EXISTS identity_unresolved AS "
        "SELECT * FROM identity_links WHERE method = 'unresolved'"
    )
