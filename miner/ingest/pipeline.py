"""``miner ingest``: partner exports → one object-centric chain event log in a workspace.

For every source: read it as text (:mod:`miner.ingest.sources`), check and translate each row
(:mod:`miner.ingest.prepare`), link the rows of all sources to foreigners
(:mod:`miner.ingest.identity`), replace identifying values by keyed pseudonyms
(:mod:`miner.ingest.pseudonyms`) and write events, objects, links and the accounting in one
transaction (:mod:`miner.ingest.publish`). A delivery whose content hash the workspace already
holds is skipped, so ingesting the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import dataclasses
import fnmatch
import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from miner.errors import InputError, MinerError, WorkspaceError
from miner.ingest.accounting import (
    IngestSummary,
    source_facts,
    stage_accounting,
    write_accounting,
)
from miner.ingest.identity import link_identities
from miner.ingest.logsource import ingest_log, is_log_file
from miner.ingest.mapping import Mapping, shipped_mappings
from miner.ingest.prepare import PreparedSource, catalogue_table, lit, prepare, resolve_columns
from miner.ingest.pseudonyms import PseudonymKey
from miner.ingest.publish import (
    FOREIGNER,
    canonical_selects,
    stage_attributes,
    stage_events,
    stage_objects,
)
from miner.ingest.sources import FILE_KINDS, SourceSpec, file_sha256, read_source
from miner.ingest.store import create_ingest_tables
from miner.ingest.timeparse import dst_windows
from miner.model.case_index import build_case_index
from miner.model.loading import TableSink
from miner.model.log import Log, first_row

KEY_CHECK = "miner.pseudonym_key_check"
#: The catalog name of the staging database while an ingest runs.
STAGE = "miner_stage"


def discover(
    locations: Sequence[str | Path | SourceSpec], mappings: Sequence[Mapping]
) -> list[tuple[SourceSpec, Mapping]]:
    """Pair every source with its mapping.

    A folder yields the files its mappings' ``files`` patterns find (other files are ignored); a
    PostgreSQL DSN or a ``.duckdb`` file without ``#table`` yields every mapping's ``table``; a
    file is matched on its name; ``DSN#table`` on the table name.
    """
    pairs: list[tuple[SourceSpec, Mapping]] = []
    for location in locations:
        if isinstance(location, SourceSpec):
            specs = [location]
        else:
            text = str(location)
            base, _, table = text.partition("#")
            is_db = base.startswith(("postgresql://", "postgres://")) or base.endswith(".duckdb")
            if is_db and not table:
                specs = [SourceSpec(base, m.table) for m in mappings if m.table]
            elif Path(text).is_dir():
                folder = Path(text)
                files = sorted(p for p in folder.rglob("*") if p.is_file())
                specs = [SourceSpec(str(p)) for p in files
                         if any(_matches(p.relative_to(folder), m) for m in mappings)]
                if not specs:
                    raise InputError(f"{folder}: no file in it matches a mapping's source.files "
                                     "patterns; pass --mapping FILE for these exports.")
            else:
                specs = [SourceSpec(base, table or None)]
        for spec in specs:
            pairs.append((spec, _mapping_for(spec, mappings)))
    return pairs


def _pattern_matches(name: str, pattern: str) -> bool:
    """``name`` fits ``pattern``; a pattern also finds the same export in another tabular format
    (``indigo_zaakhistorie*.csv`` finds ``indigo_zaakhistorie_2024-03.parquet``)."""
    if fnmatch.fnmatch(name, pattern):
        return True
    suffix = Path(name).suffix.lower()
    return suffix in FILE_KINDS and fnmatch.fnmatch(
        name[: -len(suffix)], pattern[: -len(Path(pattern).suffix) or None])


def _matches(relative: Path, mapping: Mapping) -> bool:
    return any(_pattern_matches(relative.as_posix(), pattern) for pattern in mapping.files)


def _mapping_for(spec: SourceSpec, mappings: Sequence[Mapping]) -> Mapping:
    if spec.table is not None:
        found = [m for m in mappings if m.table and m.table.lower() == spec.table.lower()]
    else:
        name = Path(spec.location).name
        found = [m for m in mappings if any(_pattern_matches(name, pat.split("/")[-1])
                                           for pat in m.files)]
    if len(mappings) == 1 and not found:
        found = list(mappings)
    if len(found) != 1:
        known = ", ".join(f"{m.name} ({', '.join(m.files)})" for m in mappings)
        what = "no mapping" if not found else f"{len(found)} mappings"
        raise InputError(f"{spec.label}: {what} match this source. Known: {known}. Pass the "
                         "right one with --mapping FILE.")
    return found[0]


def _nationalities(stage: duckdb.DuckDBPyConnection) -> None:
    text = (resources.files("miner") / "data" / "nationalities.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    values = [(kind, r[kind].lower(), r["iso3"]) for r in rows for kind in ("name_nl", "iso3", "iso2")]
    stage.execute("CREATE TABLE nationalities (kind VARCHAR, code VARCHAR, iso3 VARCHAR)")
    stage.executemany("INSERT INTO nationalities VALUES (?, ?, ?)", values)


def _codes(stage: duckdb.DuckDBPyConnection, mappings: Sequence[Mapping]) -> None:
    rows = [(m.name, table, code, target)
            for m in mappings for table, entries in m.codes.items() for code, target in entries.items()]
    stage.execute("CREATE TABLE codes (source VARCHAR, code_table VARCHAR, code VARCHAR, target VARCHAR)")
    if rows:
        stage.executemany("INSERT INTO codes VALUES (?, ?, ?, ?)", rows)


def _check_key(workspace: Log, key: PseudonymKey) -> None:
    row = first_row(workspace.con.execute(
        "SELECT value FROM log_meta WHERE key = ?", [KEY_CHECK]))
    if row is not None and row[0] != key.key_check:
        raise WorkspaceError(
            f"{workspace.path or 'the workspace'}: was ingested with another pseudonymisation key; "
            "with this key the same person would get another pseudonym. Use the key of the "
            "earlier ingests, or a new workspace.")


def _stage_tables(
    stage: duckdb.DuckDBPyConnection, workspace: Log, mappings: Sequence[Mapping]
) -> None:
    stage.execute("SET TimeZone = 'UTC'")
    _nationalities(stage)
    _codes(stage, mappings)
    catalogue_table(stage)
    zones = sorted({m.timezone for m in mappings})
    for zone in zones:
        windows = dst_windows(zone, 1900, 2100)
        stage.register("_w", windows)
        stage.execute(f"CREATE TABLE IF NOT EXISTS dst_windows AS SELECT {lit(zone)} AS zone, * "
                      "FROM _w LIMIT 0")
        stage.execute(f"INSERT INTO dst_windows SELECT {lit(zone)}, * FROM _w")
        stage.unregister("_w")
    stage.execute("CREATE TABLE prior_rows AS SELECT source, record, fingerprint FROM ingest_rows")


def ingest(
    workspace: Log,
    sources: Sequence[str | Path | SourceSpec],
    *,
    key: PseudonymKey,
    mappings: Sequence[Mapping] | None = None,
    as_of: datetime | None = None,
    memory_limit: str = "1GB",
    profile: str | Path | None = None,
) -> IngestSummary:
    """Ingest partner exports into ``workspace`` and return the summary (see docs/ingest.md).

    An event-log file among ``sources`` (OCEL 2.0, XES) is adopted with the log ``profile``
    (docs/bring-your-own-log.md) and appended on its own, before the partner exports
    (:mod:`miner.ingest.logsource`).

    ``as_of`` is the moment of ingest for the ``time_in_future`` rule (default: now).
    ``memory_limit`` caps DuckDB's memory while ingesting (it spills beyond; the workspace's own
    setting is restored afterwards): a simulated year needs about 1.3 GB resident with the default.
    """
    mappings = list(mappings) if mappings else shipped_mappings()
    as_of = as_of or datetime.now(UTC)
    create_ingest_tables(workspace.con)
    _check_key(workspace, key)
    logs = [Path(str(s)) for s in sources if is_log_file(s)]
    sources = [s for s in sources if not is_log_file(s)]
    from_logs: list[dict[str, Any]] = []
    skipped_logs: list[dict[str, str]] = []
    for path in logs:
        row = ingest_log(workspace, path, key=key, profile=profile, batch=_next_batch(workspace))
        if row is None:
            skipped_logs.append({"source": str(path), "reason": "already ingested"})
        else:
            from_logs.append(row)
    if not sources:
        if FOREIGNER in workspace.object_types():
            build_case_index(workspace, [FOREIGNER])
        return IngestSummary(from_logs, sum(r["events_made"] for r in from_logs),
                             workspace.count("objects"), {}, {}, {}, [], skipped_logs)
    pairs = discover(sources, mappings)
    limit = first_row(workspace.con.execute("SELECT current_setting('memory_limit')"))
    workspace.con.execute(f"SET memory_limit = '{memory_limit}'")
    stage = _open_stage(workspace)
    try:
        _stage_tables(stage, workspace, mappings)
        prepared, skipped = _read_all(stage, workspace, pairs, key, as_of)
        if not prepared:
            return IngestSummary(from_logs, sum(r["events_made"] for r in from_logs),
                                 workspace.count("objects") if from_logs else 0, {}, {}, {}, [],
                                 skipped_logs + skipped)
        events_sources = [p for p in prepared if p.mapping.kind == "events"]
        source_facts(stage, prepared)
        _link(stage, workspace, events_sources, key)
        stage_events(stage, prepared)
        stage_attributes(stage, prepared)
        stage_objects(stage, prepared)
        summary = stage_accounting(stage, prepared, skipped)
        if from_logs or skipped_logs:
            summary = dataclasses.replace(
                summary, sources=from_logs + summary.sources, skipped=skipped_logs + summary.skipped,
                events=summary.events + sum(r["events_made"] for r in from_logs))
        sink = TableSink(workspace.con)
        try:
            batch = _next_batch(workspace)
            hashes = {m.name: mapping_sha256(m) for m in mappings}
            sink.commit_selects(canonical_selects(), what=", ".join(p.label for p in prepared),
                                also=lambda con: write_accounting(stage, con, prepared, key, batch,
                                                                  summary, hashes))
        finally:
            sink.abort()
    except duckdb.OutOfMemoryException as exc:
        raise MinerError(
            f"{', '.join(str(s) for s in sources)}: ingest ran out of its DuckDB memory cap "
            f"({memory_limit}): {str(exc).splitlines()[0]}. Nothing was written to the "
            f"workspace. Run it again with a larger cap than {memory_limit} (`miner ingest "
            "--memory-limit SIZE`, memory_limit= in Python), or ingest the deliveries in smaller "
            "parts (docs/ingest.md, Memory).") from exc
    finally:
        stage.close()
        workspace.con.execute("RESET search_path")
        workspace.con.execute(f"DETACH {STAGE}")
        if limit:
            workspace.con.execute(f"SET memory_limit = '{limit[0]}'")
    # The foreigners' journeys are indexed now, so the analyses' first query finds them ready.
    if FOREIGNER in workspace.object_types():
        build_case_index(workspace, [FOREIGNER])
    return summary


def _open_stage(workspace: Log) -> duckdb.DuckDBPyConnection:
    """The private staging database: in memory, attached to the workspace's DuckDB instance so rows
    move between the two by SQL alone, and never part of the workspace file.

    The returned cursor creates tables in the stage and reads workspace tables by name; the
    workspace connection reads stage tables by name (``search_path``).
    """
    row = first_row(workspace.con.execute("SELECT current_database()"))
    home = str(row[0]) if row else "memory"
    workspace.con.execute(f"ATTACH ':memory:' AS {STAGE}")
    workspace.con.execute(f"SET search_path = '{home}.main,{STAGE}.main'")
    stage = workspace.con.cursor()
    stage.execute(f"USE {STAGE}")
    stage.execute(f"SET search_path = '{STAGE}.main,{home}.main'")
    return stage


def _next_batch(workspace: Log) -> int:
    row = first_row(workspace.con.execute("SELECT coalesce(max(batch), 0) + 1 FROM ingest_files"))
    return int(row[0]) if row else 1


def _read_all(
    stage: duckdb.DuckDBPyConnection, workspace: Log, pairs: list[tuple[SourceSpec, Mapping]],
    key: PseudonymKey, as_of: datetime,
) -> tuple[list[PreparedSource], list[dict[str, str]]]:
    known = {r[0]: r[1] for r in workspace.con.execute(
        "SELECT file_sha256, location FROM ingest_files").fetchall()}
    prepared: list[PreparedSource] = []
    skipped: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, (spec, mapping) in enumerate(pairs):
        if spec.kind not in ("postgres", "duckdb"):
            sha = file_sha256(Path(spec.location)) if Path(spec.location).is_file() else ""
            if sha in known or sha in seen:
                skipped.append({"source": spec.label, "reason": "already ingested as "
                                + known.get(sha, "another source of this ingest")})
                continue
        read = read_source(stage, spec, f"raw_{i}", encoding=mapping.encoding,
                           delimiter=mapping.delimiter, sheet=mapping.sheet)
        if read.sha256 in known or read.sha256 in seen:
            skipped.append({"source": spec.label, "reason": "already ingested as "
                            + known.get(read.sha256, "another source of this ingest")})
            continue
        seen.add(read.sha256)
        columns = resolve_columns(mapping, read, spec.label)
        source = PreparedSource(f"s{i}", mapping, read, spec.label, columns)
        prepare(stage, source, salt=key.row_salt, as_of=as_of)
        prepared.append(source)
    return prepared, skipped


def _link(
    stage: duckdb.DuckDBPyConnection, workspace: Log, sources: list[PreparedSource],
    key: PseudonymKey,
) -> None:
    """Link every row that is not quarantined to a foreigner and pseudonymise the results.

    Makes ``linked(source, row, foreigner, method, confidence, reason, candidates, v_raw)``,
    ``partner_rows(source, row, partner_id)``, ``partner_objects(source, partner_id, object_id,
    object_type)`` and ``foreigner_nationality(foreigner, nationality)``.
    """
    union = " UNION ALL ".join(
        f"SELECT source, row, partner_id, v_nummer, full_name, date_of_birth, nationality "
        f"FROM {p.prefix}_ident WHERE row NOT IN (SELECT _row FROM {p.prefix}_q)" for p in sources)
    stage.execute(f"CREATE OR REPLACE TABLE id_rows AS {union or 'SELECT NULL LIMIT 0'}")
    link_identities(stage, "id_rows", "links")
    valid = [r[0] for r in stage.execute(
        "SELECT DISTINCT v_nummer FROM links WHERE v_nummer IS NOT NULL").fetchall()]
    _register(stage, "pv", {"v_nummer": valid,
                            "foreigner": [key.pseudonym("v_nummer", v) for v in valid]})
    kinds = {p.mapping.name: p.mapping.person.partner_id_type or f"{p.mapping.name}-id"
             for p in sources}
    partner = stage.execute(
        "SELECT DISTINCT source, partner_id FROM id_rows WHERE partner_id IS NOT NULL").fetchall()
    _register(stage, "partner_objects", {
        "source": [s for s, _ in partner],
        "partner_id": [pid for _, pid in partner],
        "object_id": [f"{kinds[s]}:{key.pseudonym(kinds[s], pid)}" for s, pid in partner],
        "object_type": [kinds[s] for s, _ in partner],
    })
    stage.execute("CREATE OR REPLACE TABLE partner_rows AS SELECT source, row, partner_id "
                  "FROM id_rows WHERE partner_id IS NOT NULL")
    stage.execute("CREATE OR REPLACE TABLE earlier_o2o AS SELECT source_id, target_id "
                  "FROM object_objects WHERE qualifier = 'betreft'")
    stage.execute(
        "CREATE OR REPLACE TEMP VIEW _earlier AS SELECT source_id AS object_id, "
        "any_value(target_id) AS foreigner FROM earlier_o2o GROUP BY source_id "
        "HAVING count(DISTINCT target_id) = 1")
    stage.execute("""
        CREATE OR REPLACE TABLE linked AS
        SELECT l.source, l.row,
               coalesce(pv.foreigner, replace(ea.foreigner, 'vreemdeling:', '')) AS foreigner,
               CASE WHEN pv.foreigner IS NULL AND ea.foreigner IS NOT NULL
                    THEN 'partner_id_earlier' ELSE l.method END AS method,
               CASE WHEN pv.foreigner IS NULL AND ea.foreigner IS NOT NULL
                    THEN 0.99 ELSE l.confidence END AS confidence,
               CASE WHEN pv.foreigner IS NULL AND ea.foreigner IS NOT NULL
                    THEN 'partner id linked to one foreigner in an earlier delivery'
                    ELSE l.reason END AS reason,
               l.candidates, i.v_nummer IS NULL AS v_missing
        FROM links l
        JOIN id_rows i USING (source, row)
        LEFT JOIN pv ON pv.v_nummer = l.v_nummer
        LEFT JOIN partner_objects po ON po.source = i.source AND po.partner_id = i.partner_id
        LEFT JOIN _earlier ea ON ea.object_id = po.object_id
    """)
    stage.execute("""
        CREATE OR REPLACE TABLE foreigner_nationality AS
        SELECT l.foreigner, mode(i.nationality ORDER BY i.nationality) AS nationality
        FROM linked l JOIN id_rows i USING (source, row)
        WHERE l.foreigner IS NOT NULL AND i.nationality IS NOT NULL GROUP BY l.foreigner""")
    stage.execute("DELETE FROM foreigner_nationality WHERE 'vreemdeling:' || foreigner IN "
                  "(SELECT object_id FROM objects WHERE object_type = 'vreemdeling')")


def _register(stage: duckdb.DuckDBPyConnection, name: str, columns: dict[str, list[str]]) -> None:
    table = pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
    stage.register("_t", table)
    stage.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _t")
    stage.unregister("_t")


def mapping_sha256(mapping: Mapping) -> str:
    """Hash of the mapping's parsed content (stable across formatting of the file)."""
    text = json.dumps({"name": mapping.name, "events": [e.__dict__ for e in mapping.events],
                       "codes": mapping.codes, "attributes": mapping.attributes,
                       "person": mapping.person.__dict__, "objects": [o.__dict__ for o in mapping.objects],
                       "checks": mapping.checks, "figures": mapping.figures},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
