"""The report's appendices from the workspace's ingest tables (written by ``miner ingest``):

- **data quality and reconciliation per partner**: per delivery (one partner export), the row
  accounting ``rows_read = rows_to_events + rows_to_figures + rows_quarantined + duplicate_rows``,
  the quarantined rows per rule, the warnings (issues) per rule and the unmapped partner codes;
- **provenance**: the input files with their SHA-256 content hash, kind, rows and the date range
  of their timestamps, the mapping file each was read with (and its hash), and the shipped data
  files the analyses read (reference model, taxonomy, norms, phases) with their hashes.

Only aggregates leave the workspace: no rows, no identifiers.
"""

from __future__ import annotations

import json
from typing import Any

from miner.analysis.period import ZONE
from miner.model.log import Log
from miner.report.datafiles import package_file_sha256

#: the shipped data files the report's analyses read (path under ``miner/``)
DATA_FILES = (
    ("data", "reference", "vreemdelingenketen.toml"),
    ("data", "reference", "vreemdelingenketen.bpmn"),
    ("data", "scenarios", "chain.toml"),
    ("data", "phases.toml"),
    ("data", "taxonomy.toml"),
    ("data", "norms.toml"),
    ("data", "queues.toml"),
)


def _tables(log: Log) -> set[str]:
    return {r[0] for r in log.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}


def _rows(log: Log, sql: str) -> list[dict[str, Any]]:
    cursor = log.con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def data_quality(log: Log) -> dict[str, Any]:
    """Per delivery: row accounting, quarantine and issues per rule, unmapped codes (sorted)."""
    tables = _tables(log)
    if "ingest_reconciliation" not in tables:
        return {"partners": []}
    issues: dict[tuple[str, str], dict[str, int]] = {}
    if "ingest_issues" in tables:
        for row in _rows(log, "SELECT file_sha256, source, rule, count(*) AS n FROM ingest_issues "
                              "GROUP BY ALL ORDER BY ALL"):
            issues.setdefault((row["file_sha256"], row["source"]), {})[row["rule"]] = int(row["n"])
    unmapped: dict[tuple[str, str], tuple[int, int]] = {}
    if "unmapped_codes" in tables:
        for row in _rows(log, "SELECT file_sha256, source, count(*) AS codes, sum(rows) AS n "
                              "FROM unmapped_codes GROUP BY ALL ORDER BY ALL"):
            unmapped[(row["file_sha256"], row["source"])] = (int(row["codes"]), int(row["n"]))
    partners = []
    for row in _rows(log, "SELECT * FROM ingest_reconciliation ORDER BY source, location"):
        key = (row["file_sha256"], row["source"])
        by_rule = row["quarantined_by_rule"]
        codes, code_rows = unmapped.get(key, (0, 0))
        partners.append({
            "source": row["source"], "location": row["location"],
            "rows_read": int(row["rows_read"]), "rows_to_events": int(row["rows_to_events"]),
            "rows_to_figures": int(row["rows_to_figures"]),
            "rows_quarantined": int(row["rows_quarantined"]),
            "duplicate_rows": int(row["duplicate_rows"]), "events_made": int(row["events_made"]),
            "quarantined_by_rule": dict(sorted(
                (json.loads(by_rule) if isinstance(by_rule, str) else dict(by_rule or {})).items())),
            "issues_by_rule": dict(sorted(issues.get(key, {}).items())),
            "unmapped_codes": codes, "unmapped_code_rows": code_rows,
        })
    return {"partners": partners}


def provenance(log: Log) -> dict[str, Any]:
    """The input files (hash, kind, rows, date range, mapping) and the shipped data files."""
    files = []
    if "ingest_files" in _tables(log):
        for row in _rows(log, "SELECT * FROM ingest_files ORDER BY source, location"):
            first, last = row["first_time"], row["last_time"]
            files.append({
                "source": row["source"], "location": row["location"], "kind": row["kind"],
                "sha256": row["file_sha256"], "rows": int(row["rows"]),
                "first": first.astimezone(ZONE).date().isoformat() if first else None,
                "last": last.astimezone(ZONE).date().isoformat() if last else None,
                "mapping": row["mapping"], "mapping_sha256": row["mapping_sha256"],
            })
    data = [{"path": "miner/" + "/".join(parts), "sha256": package_file_sha256(*parts)}
            for parts in DATA_FILES]
    return {"files": files, "data_files": data}
