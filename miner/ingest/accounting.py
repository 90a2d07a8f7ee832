"""Row accounting: every raw row ends as event(s), as figures, or in quarantine — and the numbers
add up, per delivery: ``rows_read = rows_to_events + rows_to_figures + rows_quarantined +
duplicate_rows`` (checked here; a failure is a bug in miner, not in the data).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from miner.ingest.prepare import PreparedSource, lit
from miner.ingest.pseudonyms import PseudonymKey

_KEY_CHECK = "miner.pseudonym_key_check"


@dataclass(frozen=True)
class IngestSummary:
    """What an ingest did: per delivery the reconciliation, and the totals.

    ``links`` counts rows per identity-linking method; ``quarantined`` rows per rule; ``issues``
    warnings per rule (the rows stayed); ``unmapped_codes`` codes no mapping translates, with rows;
    ``skipped`` deliveries already in the workspace.
    """

    sources: list[dict[str, Any]]
    events: int
    objects: int
    links: dict[str, int]
    quarantined: dict[str, int]
    issues: dict[str, int]
    unmapped_codes: list[dict[str, Any]]
    skipped: list[dict[str, str]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(int(s["rows_read"]) for s in self.sources)

    @property
    def duplicates(self) -> int:
        return sum(int(s["duplicate_rows"]) for s in self.sources)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "events": self.events, "objects": self.objects,
                "duplicates": self.duplicates, "links": self.links,
                "quarantined": self.quarantined, "issues": self.issues,
                "unmapped_codes": self.unmapped_codes, "sources": self.sources,
                "skipped": self.skipped}

    def to_text(self) -> str:
        header = (f"{'source':<12}{'rows':>10}{'events':>10}{'to events':>11}{'figures':>9}"
                  f"{'quarant.':>10}{'dupl.':>8}  location")
        lines = [header]
        for s in self.sources:
            lines.append(f"{s['source']:<12}{s['rows_read']:>10,}{s['events_made']:>10,}"
                         f"{s['rows_to_events']:>11,}{s['rows_to_figures']:>9,}"
                         f"{s['rows_quarantined']:>10,}{s['duplicate_rows']:>8,}  {s['location']}")
        lines.append(f"total: {self.rows:,} rows, {self.events:,} events, {self.objects:,} objects "
                     f"(new), {self.duplicates:,} duplicate rows")
        for title, counts in (("identity links", self.links), ("quarantined", self.quarantined),
                              ("issues", self.issues)):
            shown = ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())) or "none"
            lines.append(f"{title}: {shown}")
        for code in self.unmapped_codes[:10]:
            lines.append(f"unmapped code {code['source']}:{code['code']} ({code['rows']} rows; "
                         f"closest known {code['closest_known']})")
        for skip in self.skipped:
            lines.append(f"skipped {skip['source']}: {skip['reason']}")
        return "\n".join(lines)


def _figures(stage: duckdb.DuckDBPyConnection, p: PreparedSource) -> None:
    f = {k: p.col(v) for k, v in p.mapping.figures.items()}
    stage.execute(f"""
        CREATE OR REPLACE TABLE {p.prefix}_fig AS
        SELECT _row, {f['period']} AS period, {f['indicator']} AS indicator,
               {f['category']} AS category, try_cast(replace({f['value']}, ',', '.') AS DOUBLE) AS value,
               {f['value']} AS value_text
        FROM {p.read.table}""")
    stage.execute(f"""
        CREATE OR REPLACE TABLE {p.prefix}_q AS
        SELECT _row, 'duplicate_row' AS rule, NULL AS "column", NULL AS found,
               'exact copy of row ' || dup_of AS message FROM {p.prefix}_base WHERE dup_of IS NOT NULL
        UNION ALL
        SELECT _row, 'figure_invalid', {lit(p.mapping.figures['value'])}, value_text,
               'value ' || coalesce(value_text, '(empty)') || ' is not a number, or period/indicator is empty'
        FROM {p.prefix}_fig
        WHERE (value IS NULL OR period IS NULL OR indicator IS NULL)
          AND _row NOT IN (SELECT _row FROM {p.prefix}_base WHERE dup_of IS NOT NULL)""")
    stage.execute(f"CREATE OR REPLACE TABLE {p.prefix}_w AS SELECT * FROM {p.prefix}_q LIMIT 0")


def source_facts(stage: duckdb.DuckDBPyConnection, sources: list[PreparedSource]) -> None:
    """``source_facts(src, name, partner)``: the position of each source in this ingest."""
    facts = [(i, p.mapping.name, p.mapping.partner) for i, p in enumerate(sources)]
    stage.execute("CREATE OR REPLACE TABLE source_facts (src INTEGER, name VARCHAR, partner VARCHAR)")
    if facts:
        stage.executemany("INSERT INTO source_facts VALUES (?, ?, ?)", facts)


def stage_accounting(
    stage: duckdb.DuckDBPyConnection, sources: list[PreparedSource], skipped: list[dict[str, str]]
) -> IngestSummary:
    """Per-source reconciliation and the warning tables; checks that the rows add up."""
    rows_out: list[dict[str, Any]] = []
    quarantined: Counter[str] = Counter()
    issues: Counter[str] = Counter()
    for i, p in enumerate(sources):
        if p.mapping.kind == "figures":
            _figures(stage, p)
        else:
            _identity_warnings(stage, p)
            stage.execute(f"""
                INSERT INTO {p.prefix}_q
                SELECT _row, 'no_event', NULL, NULL, 'no [[events]] entry of the mapping applies'
                FROM {p.prefix}_base
                WHERE _row NOT IN (SELECT _row FROM {p.prefix}_q)
                  AND _row NOT IN (SELECT source_row FROM out_events WHERE src = {i})""")
        by_rule = dict(stage.execute(
            f"SELECT rule, count(*) FROM {p.prefix}_q GROUP BY rule ORDER BY rule").fetchall())
        made = stage.execute(f"SELECT count(*), count(DISTINCT source_row) FROM out_events "
                             f"WHERE src = {i}").fetchall()[0] if p.mapping.kind == "events" else (0, 0)
        duplicates = int(by_rule.pop("duplicate_row", 0))
        to_figures = (p.read.rows - duplicates - sum(by_rule.values())
                      if p.mapping.kind == "figures" else 0)
        row: dict[str, Any] = {"source": p.mapping.name, "location": p.label, "file_sha256": p.read.sha256,
               "rows_read": p.read.rows, "rows_to_events": int(made[1]),
               "rows_to_figures": to_figures, "rows_quarantined": sum(by_rule.values()),
               "duplicate_rows": duplicates, "events_made": int(made[0]),
               "quarantined_by_rule": by_rule}
        total = row["rows_to_events"] + to_figures + row["rows_quarantined"] + duplicates
        if total != p.read.rows:
            raise AssertionError(f"{p.label}: {p.read.rows} rows read but {total} accounted for "
                                 f"({row}); this is a bug in miner, please report it")
        rows_out.append(row)
        quarantined.update(by_rule)
        if duplicates:
            quarantined["duplicate_row"] += duplicates
        issues.update(dict(stage.execute(
            f"SELECT rule, count(*) FROM {p.prefix}_w GROUP BY rule").fetchall()))
    links: dict[str, int] = {}
    unmapped: list[dict[str, Any]] = []
    if any(p.mapping.kind == "events" for p in sources):
        links = dict(stage.execute("SELECT method, count(*) FROM linked GROUP BY 1 ORDER BY 1").fetchall())
        unmapped = _unmapped(stage, sources)
    counts = stage.execute("SELECT (SELECT count(*) FROM out_events), "
                           "(SELECT count(*) FROM out_objects)").fetchall()[0] if links else (0, 0)
    return IngestSummary(rows_out, int(counts[0]), int(counts[1]), links, dict(quarantined),
                         dict(issues), unmapped, skipped)


def _identity_warnings(stage: duckdb.DuckDBPyConnection, p: PreparedSource) -> None:
    v_column = lit(p.mapping.person.v_nummer or "")
    if not p.mapping.person.v_nummer:
        return
    stage.execute(f"""
        INSERT INTO {p.prefix}_w
        SELECT row, CASE WHEN v_missing THEN 'vnummer_missing' ELSE 'vnummer_invalid' END,
               {v_column}, NULL,
               CASE WHEN v_missing THEN 'no V-nummer' ELSE 'the V-nummer fails the mod-11 check' END
               || CASE WHEN method = 'unresolved' THEN '; not linked: ' || reason
                       ELSE '; linked by ' || method || ' (confidence ' || round(confidence, 3) || ')' END
        FROM linked WHERE source = {lit(p.mapping.name)} AND method <> 'vnummer'""")
    stage.execute(f"""
        INSERT INTO {p.prefix}_w
        SELECT row, 'identity_unresolved', NULL, NULL, 'not linked to a foreigner: ' || reason
        FROM linked WHERE source = {lit(p.mapping.name)} AND method = 'unresolved'""")


def _unmapped(stage: duckdb.DuckDBPyConnection, sources: list[PreparedSource]) -> list[dict[str, Any]]:
    from rapidfuzz import process

    result = []
    for p in sources:
        if p.mapping.kind != "events":
            continue
        rows = stage.execute(f"SELECT code, count(*) FROM {p.prefix}_ev WHERE activity_id IS NULL "
                             "AND code IS NOT NULL GROUP BY code ORDER BY code").fetchall()
        known = sorted({c for table in p.mapping.codes.values() for c in table})
        for code, n in rows:
            best = process.extractOne(code, known) if known else None
            result.append({"source": p.mapping.name, "code": code, "rows": int(n),
                           "closest_known": best[0] if best else None,
                           "file_sha256": p.read.sha256})
    return result


def write_accounting(
    stage: duckdb.DuckDBPyConnection, con: duckdb.DuckDBPyConnection,
    sources: list[PreparedSource], key: PseudonymKey, batch: int, summary: IngestSummary,
    mapping_hashes: dict[str, str],
) -> None:
    """Write the ingest tables into the workspace (inside the caller's transaction)."""
    now = datetime.now(UTC)
    by_sha = {s["file_sha256"]: s for s in summary.sources}
    for i, p in enumerate(sources):
        sha, name, label = p.read.sha256, p.mapping.name, p.label
        times = stage.execute(f"SELECT min(timestamp), max(timestamp) FROM out_events WHERE src = {i}"
                              ).fetchall()[0]
        con.execute("INSERT INTO ingest_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [sha, name, label, p.mapping.kind, p.read.rows, times[0], times[1],
                     p.mapping.path, mapping_hashes[name], batch, now])
        rec = by_sha[sha]
        con.execute("INSERT INTO ingest_reconciliation VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [sha, name, label, rec["rows_read"], rec["rows_to_events"],
                     rec["rows_to_figures"], rec["rows_quarantined"], rec["duplicate_rows"],
                     rec["events_made"], json.dumps(rec["quarantined_by_rule"], sort_keys=True)])
        head = f"SELECT {lit(sha)}, {lit(name)}, {lit(label)}, "
        for table, src in (("ingest_quarantine", "q"), ("ingest_issues", "w")):
            _copy(stage, con, table, f"{head}_row, rule, \"column\", found, message "
                  f"FROM {p.prefix}_{src} ORDER BY _row, rule")
        if p.mapping.kind == "figures":
            _copy(stage, con, "chain_figures",
                  f"SELECT {lit(name)}, period, indicator, category, value, {lit(sha)}, _row "
                  f"FROM {p.prefix}_fig WHERE _row NOT IN (SELECT _row FROM {p.prefix}_q) ORDER BY _row")
            continue
        _copy(stage, con, "ingest_rows",
              f"SELECT {lit(name)}, record, fingerprint, {lit(sha)}, _row FROM {p.prefix}_base "
              f"WHERE _row IN (SELECT source_row FROM out_events WHERE src = {i}) ORDER BY _row")
        _copy(stage, con, "identity_links",
              f"SELECT {lit(sha)}, source, row, CASE WHEN foreigner IS NOT NULL THEN "
              "'vreemdeling:' || foreigner END, method, confidence, reason, candidates "
              f"FROM linked WHERE source = {lit(name)} ORDER BY row")
    for code in summary.unmapped_codes:
        con.execute("INSERT INTO unmapped_codes VALUES (?, ?, ?, ?, ?)",
                    [code["source"], code["code"], code["rows"], code["closest_known"],
                     code["file_sha256"]])
    con.execute("DELETE FROM log_meta WHERE key = ?", [_KEY_CHECK])
    con.execute("INSERT INTO log_meta VALUES (?, ?)", [_KEY_CHECK, key.key_check])


def _copy(stage: duckdb.DuckDBPyConnection, con: duckdb.DuckDBPyConnection, table: str, sql: str) -> None:
    del stage  # the workspace connection reads the stage tables by name (search_path)
    con.execute(f"INSERT INTO {table} {sql}")
