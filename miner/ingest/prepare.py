"""Per source: from staged text cells to checked event candidates, quarantine decisions and warnings.

Everything runs as SQL in the private staging database. For source ``p`` (a table prefix) it makes

* ``{p}_base``: one row per raw row — ``_row``, ``record`` (the export's own row id, else the row
  number), ``fingerprint`` (keyed SHA-256 of all cells), ``dup_of`` (the first row with the same
  cells, or an earlier delivery: ``0``) and ``conflict`` (the record id was seen with other cells);
* ``{p}_ident``: the identifying fields, for identity linking;
* ``{p}_ev``: one row per event candidate (row × ``[[events]]`` entry that applies), with the code,
  catalogue id, label, organisation, lifecycle, the time as text, local and UTC, and its problem;
* ``{p}_q``: the quarantined rows (first rule that fires, see ``store.QUARANTINE_RULES``);
* ``{p}_w``: warnings on rows that stay (unmapped code, late registration, missing end, nationality).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from miner.catalogue import chain_catalogue
from miner.errors import SchemaError, UnknownNameError
from miner.ingest.mapping import Mapping
from miner.ingest.sources import SourceRead
from miner.ingest.store import QUARANTINE_RULES
from miner.ingest.timeparse import check_timezone, time_sql


def lit(value: object) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _normal(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_")


def resolve_columns(mapping: Mapping, read: SourceRead, label: str) -> dict[str, str]:
    """Mapping column → source column: exact name first, else the same name lower-cased with
    ``_`` for other characters (how databases usually hold an export's columns)."""
    by_normal = {_normal(c): c for c in read.columns}
    resolved: dict[str, str] = {}
    for wanted in sorted(mapping.used_columns()):
        if wanted in read.columns:
            resolved[wanted] = wanted
        elif _normal(wanted) in by_normal:
            resolved[wanted] = by_normal[_normal(wanted)]
        else:
            hint = UnknownNameError("column", wanted, read.columns).args[0]
            close = hint.split("Did you mean")[-1] if "Did you mean" in hint else None
            raise SchemaError(
                f"{label}: has no column {wanted!r}, which mapping {mapping.path} needs. "
                f"Found: {', '.join(repr(c) for c in read.columns)}."
                + (f" Did you mean{close}" if close else "")
                + " Fix the column name in the mapping, or pick the mapping of this export."
            )
    return resolved


@dataclass
class PreparedSource:
    """The staging tables of one source and the facts the pipeline needs about it."""

    prefix: str
    mapping: Mapping
    read: SourceRead
    label: str
    columns: dict[str, str]

    def col(self, mapping_column: str) -> str:
        """The quoted source column for a mapping column."""
        return ident(self.columns[mapping_column])


def prepare(
    stage: duckdb.DuckDBPyConnection, prepared: PreparedSource, *, salt: str, as_of: datetime
) -> None:
    """Build the ``{prefix}_*`` tables of one events source (see the module docstring)."""
    _base(stage, prepared, salt)
    if prepared.mapping.kind == "events":
        _identity(stage, prepared)
        _event_candidates(stage, prepared, as_of)
        _quarantine(stage, prepared)
        _warnings(stage, prepared)


def _base(stage: duckdb.DuckDBPyConnection, p: PreparedSource, salt: str) -> None:
    raw = p.read.table
    cells = ", ".join(f"coalesce({ident(c)}, '\\N')" for c in p.read.columns)
    record = p.col(p.mapping.record_id) if p.mapping.record_id else "NULL"
    stage.execute(f"""
        CREATE OR REPLACE TABLE {p.prefix}_base AS
        WITH r AS (
            SELECT _row, coalesce({record}, '#' || _row) AS record,
                   sha256({lit(salt)} || concat_ws(chr(31), {cells})) AS fingerprint
            FROM {raw}),
        copies AS (SELECT fingerprint, min(_row) AS first FROM r GROUP BY fingerprint),
        versions AS (SELECT record, count(DISTINCT fingerprint) AS n FROM r GROUP BY record),
        seen AS (SELECT record, fingerprint FROM prior_rows WHERE source = {lit(p.mapping.name)}),
        seen_records AS (SELECT DISTINCT record FROM seen)
        SELECT r._row, r.record, r.fingerprint,
               CASE WHEN s.fingerprint IS NOT NULL THEN 0 ELSE nullif(c.first, r._row) END AS dup_of,
               -- A record id with other cells (now or before): no version is kept, whatever the
               -- order of the rows; the partner must say which one is right.
               (s.fingerprint IS NULL AND (sr.record IS NOT NULL OR v.n > 1)) AS conflict
        FROM r
        JOIN copies c USING (fingerprint)
        JOIN versions v USING (record)
        LEFT JOIN seen s ON s.record = r.record AND s.fingerprint = r.fingerprint
        LEFT JOIN seen_records sr ON sr.record = r.record
        ORDER BY r._row
    """)


def _identity(stage: duckdb.DuckDBPyConnection, p: PreparedSource) -> None:
    person = p.mapping.person
    null = "CAST(NULL AS VARCHAR)"
    v_nummer = f"trim({p.col(person.v_nummer)})" if person.v_nummer else null
    name = (f"concat_ws(' ', {', '.join(p.col(c) for c in person.name)})" if person.name else null)
    if person.date_of_birth:
        tries = [f"try_strptime({p.col(person.date_of_birth)}, {lit(f)})"
                 for f in person.date_of_birth_format]
        dob = f"CAST(coalesce({', '.join(tries)}) AS DATE)"
    else:
        dob = "CAST(NULL AS DATE)"
    nationality_raw = p.col(person.nationality) if person.nationality else null
    partner_id = f"trim({p.col(person.partner_id)})" if person.partner_id else null
    stage.execute(f"""
        CREATE OR REPLACE TABLE {p.prefix}_ident AS
        SELECT {lit(p.mapping.name)} AS source, r._row AS row, {partner_id} AS partner_id,
               nullif({v_nummer}, '') AS v_nummer, nullif({name}, '') AS full_name,
               {dob} AS date_of_birth, n.iso3 AS nationality, {nationality_raw} AS nationality_raw
        FROM {p.read.table} r
        LEFT JOIN nationalities n ON n.kind = {lit(person.nationality_code)}
             AND n.code = lower(trim({nationality_raw}))
    """)


def _event_candidates(stage: duckdb.DuckDBPyConnection, p: PreparedSource, as_of: datetime) -> None:
    m = p.mapping
    zone = check_timezone(m.timezone, m.path).key
    parts = []
    for j, spec in enumerate(m.events, start=1):
        text, parsed, with_offset = time_sql(
            [p.col(c) for c in spec.time],
            list(spec.time_format),
            zone,
        )
        local = "NULL::TIMESTAMP" if with_offset else parsed
        utc = parsed if with_offset else f"timezone({lit(zone)}, {parsed})"
        code = p.col(spec.activity) if spec.activity else lit(spec.activity_id)
        table = lit(spec.codes) if spec.codes else "NULL"
        org_table = lit(spec.organisation_codes) if spec.organisation_codes else "NULL"
        when = f"{p.col(spec.when[0])} = {lit(spec.when[1])}" if spec.when else "true"
        performer = "NULL"
        if spec.performed_by:
            column, codes, unknown = spec.performed_by
            value = f"nullif(trim({p.col(column)}), '')"
            listed = ", ".join(lit(c) for c in codes)
            void = ", ".join(lit(u) for u in unknown) or "NULL"
            performer = (f"CASE WHEN {code} IN ({listed}) THEN "
                         f"CASE WHEN {value} IN ({void}) THEN '' ELSE coalesce({value}, '') END END")
        time_cols = lit(" + ".join(spec.time))
        parts.append(f"""
            SELECT r._row, {j} AS spec, {code} AS code, {table} AS code_table,
                   {org_table} AS org_table, {lit(spec.organisation or '')} AS organisation_fixed,
                   {performer} AS performer_read,
                   {lit(spec.lifecycle)} AS lifecycle, {spec.required} AS required,
                   {spec.activity_id is not None} AS fixed_activity,
                   {text} AS time_text, {time_cols} AS time_columns,
                   {local} AS local_ts, {utc} AS utc_ts
            FROM {p.read.table} r WHERE {when}""")
    first, last = _year_range(stage, p)
    stage.execute(f"""
        CREATE OR REPLACE TABLE {p.prefix}_ev AS
        WITH c AS ({' UNION ALL '.join(parts)})
        SELECT c.*,
               CASE WHEN c.fixed_activity THEN c.code ELSE a.target END AS activity_id,
               coalesce(nullif(c.organisation_fixed, ''), o.target, {lit(m.partner)})
                   AS organisation,
               c.performer_read AS performer,
               w.kind AS dst,
               CASE WHEN c.code IS NULL THEN 'activity_missing'
                    WHEN c.time_text IS NULL AND c.required THEN 'timestamp_missing'
                    WHEN c.time_text IS NOT NULL AND c.utc_ts IS NULL AND w.kind IS NULL
                         THEN 'timestamp_invalid'
                    WHEN w.kind IS NOT NULL THEN w.kind
                    WHEN c.utc_ts > {lit(as_of.isoformat())}::TIMESTAMPTZ THEN 'time_in_future'
                    WHEN c.utc_ts < timezone({lit(zone)}, i.date_of_birth::TIMESTAMP)
                         THEN 'time_before_birth'
               END AS problem
        FROM c
        LEFT JOIN codes a ON a.source = {lit(m.name)} AND a.code_table = c.code_table AND a.code = c.code
        LEFT JOIN codes o ON o.source = {lit(m.name)} AND o.code_table = c.org_table AND o.code = c.code
        LEFT JOIN (SELECT * FROM dst_windows WHERE zone = {lit(zone)}
                   AND year(local_start) BETWEEN {first} AND {last}) w
             ON c.local_ts >= w.local_start AND c.local_ts < w.local_end
        LEFT JOIN {p.prefix}_ident i ON i.row = c._row
    """)


def _year_range(stage: duckdb.DuckDBPyConnection, p: PreparedSource) -> tuple[int, int]:
    del stage, p  # the DST table covers 1900-2100; the join filters it to the data's years
    return 1900, 2100


def _quarantine(stage: duckdb.DuckDBPyConnection, p: PreparedSource) -> None:
    order = "CASE rule " + " ".join(f"WHEN {lit(r)} THEN {i}" for i, r in enumerate(QUARANTINE_RULES)) + " END"
    stage.execute(f"""
        CREATE OR REPLACE TABLE {p.prefix}_q AS
        WITH problems AS (
            SELECT _row, 'duplicate_row' AS rule, NULL AS "column", NULL AS found,
                   CASE dup_of WHEN 0 THEN 'an exact copy of this row was ingested before'
                        ELSE 'exact copy of row ' || dup_of END AS message
            FROM {p.prefix}_base WHERE dup_of IS NOT NULL
            UNION ALL
            SELECT _row, 'record_id_conflict', NULL, record,
                   'record id ' || record || ' was delivered before with other values; '
                   || 'the partner must say which is right'
            FROM {p.prefix}_base WHERE conflict AND dup_of IS NULL
            UNION ALL
            SELECT _row, problem,
                   CASE WHEN problem = 'activity_missing' THEN 'activity' ELSE time_columns END,
                   CASE WHEN problem IN ('activity_missing', 'time_before_birth') THEN NULL ELSE time_text END,
                   CASE problem
                     WHEN 'activity_missing' THEN 'no activity code'
                     WHEN 'timestamp_missing' THEN 'no time in ' || time_columns
                     WHEN 'timestamp_invalid' THEN 'time ' || time_text || ' does not exist or does not fit the format'
                     WHEN 'dst_gap' THEN 'local time ' || time_text || ' falls in the daylight-saving gap: it never happened'
                     WHEN 'dst_ambiguous' THEN 'local time ' || time_text || ' happened twice (end of daylight saving): which one is not known'
                     WHEN 'time_in_future' THEN 'time ' || time_text || ' lies after the ingest'
                     WHEN 'time_before_birth' THEN 'the time lies before the date of birth'
                   END
            FROM {p.prefix}_ev WHERE problem IS NOT NULL
            UNION ALL
            SELECT _row, 'end_before_start', NULL, NULL, 'the end lies before the start'
            FROM {p.prefix}_ev WHERE problem IS NULL AND utc_ts IS NOT NULL
            GROUP BY _row
            HAVING max(utc_ts) FILTER (WHERE lifecycle = 'start')
                   > min(utc_ts) FILTER (WHERE lifecycle = 'complete')
        )
        SELECT _row, arg_min(rule, {order}) AS rule, arg_min("column", {order}) AS "column",
               arg_min(found, {order}) AS found, arg_min(message, {order}) AS message
        FROM problems GROUP BY _row
    """)


def _warnings(stage: duckdb.DuckDBPyConnection, p: PreparedSource) -> None:
    m = p.mapping
    parts = [f"""
        SELECT e._row, 'unmapped_code' AS rule, 'activity' AS "column", e.code AS found,
               'code ' || e.code || ' is not in the mapping''s code table; kept as the activity name'
               AS message
        FROM {p.prefix}_ev e WHERE e.activity_id IS NULL AND e.code IS NOT NULL"""]
    if m.person.nationality:
        parts.append(f"""
        SELECT row, 'nationality_unknown', {lit(m.person.nationality)}, nationality_raw,
               'nationality ' || nationality_raw || ' is not in miner/data/nationalities.csv'
        FROM {p.prefix}_ident WHERE nationality IS NULL AND nationality_raw IS NOT NULL""")
    late = m.checks.get("late_registration")
    if late:
        recorded = f"try_strptime({p.col(late['column'])}, {lit(late['format'])})"
        occurred = f"try_strptime({p.col(late['of'])}, {lit(late['format'])})"
        days = float(late["max_days"])
        parts.append(f"""
        SELECT _row, 'late_registration', {lit(late['column'])}, {p.col(late['column'])},
               'registered ' || round(date_diff('minute', {occurred}, {recorded}) / 1440.0, 1)
               || ' days after ' || {lit(late['of'])} || ' (norm: {days:g} days)'
        FROM {p.read.table} WHERE date_diff('minute', {occurred}, {recorded}) > {days * 1440}""")
    missing = m.checks.get("missing_end")
    if missing and m.person.partner_id:
        end, reason = p.col(missing["end"]), p.col(missing["reason"])
        start = p.col(m.events[0].time[0])
        partner = p.col(m.person.partner_id)
        parts.append(f"""
        SELECT _row, 'missing_end', {lit(missing['end'])}, NULL,
               CASE WHEN {reason} IS NOT NULL THEN 'no end although an end reason is given'
                    ELSE 'no end although a later stay follows' END
        FROM (SELECT *, row_number() OVER (PARTITION BY {partner} ORDER BY {start} DESC, _row DESC) AS k
              FROM {p.read.table}
              WHERE _row NOT IN (SELECT _row FROM {p.prefix}_base WHERE dup_of IS NOT NULL))
        WHERE {end} IS NULL AND ({reason} IS NOT NULL OR k > 1)""")
    stage.execute(f"CREATE OR REPLACE TABLE {p.prefix}_w AS SELECT * FROM "
                  f"({' UNION ALL '.join(parts)}) WHERE _row NOT IN (SELECT _row FROM {p.prefix}_q)")


def catalogue_table(stage: duckdb.DuckDBPyConnection) -> None:
    """The activity catalogue as a staging table ``catalogue(activity_id, label, lane, phase)``."""
    rows = [(a.id, a.label, a.lane, a.phase) for a in chain_catalogue().values()]
    stage.execute("CREATE OR REPLACE TABLE catalogue (activity_id VARCHAR, label VARCHAR, "
                  "lane VARCHAR, phase VARCHAR)")
    stage.executemany("INSERT INTO catalogue VALUES (?, ?, ?, ?)", rows)
