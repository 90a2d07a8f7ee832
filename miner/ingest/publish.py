"""From the staging tables to the workspace: events, objects and links with pseudonyms only, and the
ingest tables (provenance, accounting, quarantine, issues, identity links).

Object ids:

* a foreigner (object type ``vreemdeling``) is ``vreemdeling:<pseudonym of the V-nummer>``;
* a partner's person or case number is ``<partner_id_type>:<pseudonym of the number>``, linked to
  its foreigner by an O2O link with qualifier ``betreft``;
* other objects (locations) are ``<type>:<value>``.

Event ids are ``<source>:<record id>`` (plus ``:<n>`` when a row makes several events), so a
delivery repeated under another file name still cannot double the log.
"""

from __future__ import annotations

import duckdb

from miner.ingest.prepare import PreparedSource, ident, lit
from miner.model.schema import EPOCH

FOREIGNER = "vreemdeling"


def event_rows_sql(p: PreparedSource) -> str:
    """The event candidates of one source that become events, with their ids."""
    suffix = " || ':' || e.spec" if len(p.mapping.events) > 1 else ""
    return f"""
        SELECT {lit(p.mapping.name)} || ':' || b.record{suffix} AS event_id,
               coalesce(c.label, e.code) AS event_type, e.utc_ts AS timestamp,
               {lit(p.mapping.name)} AS source, {lit(p.label)} AS source_file,
               e._row AS source_row, e.spec, e.code, e.activity_id, e.organisation, e.lifecycle,
               e.performer
        FROM {p.prefix}_ev e
        JOIN {p.prefix}_base b USING (_row)
        LEFT JOIN catalogue c ON c.activity_id = e.activity_id
        WHERE e.problem IS NULL AND e.utc_ts IS NOT NULL
          AND e._row NOT IN (SELECT _row FROM {p.prefix}_q)"""


def stage_events(stage: duckdb.DuckDBPyConnection, sources: list[PreparedSource]) -> None:
    """``out_events``: every event of this ingest with its source facts, in read order."""
    union = " UNION ALL ".join(
        f"SELECT {i} AS src, * FROM ({event_rows_sql(p)})" for i, p in enumerate(sources)
        if p.mapping.kind == "events"
    )
    stage.execute(f"CREATE OR REPLACE TABLE out_events AS SELECT * FROM ({union}) "
                  "ORDER BY src, source_row, spec")


def _attribute_parts(p: PreparedSource, index: int) -> list[str]:
    """SELECTs of (src, source_row, name, value, k) for the mapped and carried-through columns;
    ``k`` orders the attributes of one event (6 and up, after the fixed ones)."""
    identifying = set(p.mapping.person.columns())
    named = dict(p.mapping.attributes)
    used = set(p.mapping.used_columns())
    for column in p.read.columns:
        is_mapped = column in used or any(p.columns.get(u) == column for u in used)
        if not is_mapped and column not in identifying:
            named.setdefault(column, column)
    parts = []
    for k, (name, column) in enumerate(sorted(named.items()), start=6):
        source_column = p.columns.get(column, column)
        if column in identifying or source_column in {p.columns.get(c) for c in identifying}:
            continue
        parts.append(f"SELECT {index} AS src, _row AS source_row, {lit(name)} AS name, "
                     f"{ident(source_column)} AS value, {k} AS k FROM {p.read.table} "
                     f"WHERE {ident(source_column)} IS NOT NULL")
    return parts


def stage_attributes(stage: duckdb.DuckDBPyConnection, sources: list[PreparedSource]) -> None:
    """``out_attributes``: the string attributes of every event (long form)."""
    fixed = ("activity_id", "code", "organisation", "lifecycle")
    names = {"activity_id": "activity_id", "code": "activity_code",
             "organisation": "organisation", "lifecycle": "lifecycle:transition"}
    parts = [f"SELECT event_id, {lit(names[c])} AS name, {c} AS value, rowid AS ev, "
             f"{i} AS k FROM out_events WHERE {c} IS NOT NULL" for i, c in enumerate(fixed)]
    parts.append("SELECT event_id, 'partner', s.partner, e.rowid, 4 "
                 "FROM out_events e JOIN source_facts s USING (src)")
    # performer: the organisation that did the modelled step when the recording partner only
    # registers its result (mapping key performed_by; '' when the row names no one)
    parts.append("SELECT event_id, 'performer', performer, rowid, 5 FROM out_events "
                 "WHERE performer IS NOT NULL")
    column_parts = [q for i, p in enumerate(sources) if p.mapping.kind == "events"
                    for q in _attribute_parts(p, i)]
    if column_parts:
        parts.append(
            "SELECT e.event_id, a.name, a.value, e.rowid, a.k "
            f"FROM out_events e JOIN ({' UNION ALL '.join(column_parts)}) a "
            "USING (src, source_row)")
    stage.execute(f"CREATE OR REPLACE TABLE out_attributes AS SELECT * FROM "
                  f"({' UNION ALL '.join(parts)}) ORDER BY ev, k")


def stage_objects(stage: duckdb.DuckDBPyConnection, sources: list[PreparedSource]) -> None:
    """``out_e2o``, ``out_objects`` and ``out_o2o`` for the events of this ingest."""
    foreigners = ("SELECT e.event_id, 'vreemdeling:' || l.foreigner AS object_id, "
                  f"'{FOREIGNER}' AS object_type, '{FOREIGNER}' AS qualifier, e.src, e.source_row, "
                  "e.spec, 0 AS k FROM out_events e JOIN source_facts s USING (src) "
                  "JOIN linked l ON l.source = s.name AND l.row = e.source_row "
                  "WHERE l.foreigner IS NOT NULL")
    links = [foreigners]
    links.append("SELECT e.event_id, pp.object_id, pp.object_type, pp.object_type, e.src, "
                 "e.source_row, e.spec, 1 FROM out_events e JOIN source_facts s USING (src) "
                 "JOIN partner_rows pr ON pr.source = s.name AND pr.row = e.source_row "
                 "JOIN partner_objects pp ON pp.source = pr.source AND pp.partner_id = pr.partner_id")
    for i, p in enumerate(sources):
        if p.mapping.kind != "events":
            continue
        for k, o in enumerate(p.mapping.objects, start=2):
            links.append(
                f"SELECT e.event_id, {lit(o.type + ':')} || r.{ident(p.columns[o.column])}, "
                f"{lit(o.type)}, {lit(o.qualifier)}, e.src, e.source_row, e.spec, {k} "
                f"FROM out_events e JOIN {p.read.table} r ON e.src = {i} AND r._row = e.source_row "
                f"WHERE r.{ident(p.columns[o.column])} IS NOT NULL")
    stage.execute(f"CREATE OR REPLACE TABLE out_e2o AS SELECT * FROM ({' UNION ALL '.join(links)}) "
                  "ORDER BY src, source_row, spec, k")
    stage.execute("""
        CREATE OR REPLACE TABLE out_objects AS
        SELECT object_id, any_value(object_type) AS object_type FROM out_e2o
        GROUP BY object_id ORDER BY min(src), min(source_row), min(k), object_id""")
    stage.execute("""
        CREATE OR REPLACE TABLE out_o2o AS
        SELECT DISTINCT pp.object_id AS source_id, 'vreemdeling:' || l.foreigner AS target_id,
               'betreft' AS qualifier
        FROM partner_rows pr
        JOIN partner_objects pp ON pp.source = pr.source AND pp.partner_id = pr.partner_id
        JOIN linked l ON l.source = pr.source AND l.row = pr.row
        WHERE l.foreigner IS NOT NULL
          AND pp.object_id IN (SELECT object_id FROM out_objects)
          AND NOT EXISTS (SELECT 1 FROM earlier_o2o k WHERE k.source_id = pp.object_id
                          AND k.target_id = 'vreemdeling:' || l.foreigner)
        ORDER BY source_id, target_id""")


def canonical_selects() -> dict[str, str]:
    """The query per canonical table over the ``out_*`` tables (pseudonyms only), for
    :meth:`TableSink.commit_selects`; the workspace connection reads the stage tables by name."""
    nulls = "NULL::BIGINT, NULL::DOUBLE, NULL::BOOLEAN, NULL::TIMESTAMPTZ"
    selects = {
        "events": "SELECT event_id, event_type, timestamp, source, source_file, source_row, "
                  "rowid AS ord FROM out_events",
        "event_attributes": f"SELECT event_id, name, 'string', value, {nulls}, rowid AS ord "
                            "FROM out_attributes",
        "objects": "SELECT object_id, object_type, rowid AS ord FROM out_objects",
        "object_attributes": (
            f"SELECT 'vreemdeling:' || foreigner, 'nationaliteit', "
            f"'{EPOCH.isoformat()}'::TIMESTAMPTZ, 'string', nationality, {nulls}, "
            "row_number() OVER (ORDER BY foreigner) - 1 AS ord "
            "FROM foreigner_nationality WHERE 'vreemdeling:' || foreigner IN "
            "(SELECT object_id FROM out_objects)"),
        "event_objects": "SELECT event_id, object_id, qualifier, rowid AS ord FROM out_e2o",
        "object_objects": "SELECT source_id, target_id, qualifier, rowid AS ord FROM out_o2o",
        "object_types": (
            "SELECT DISTINCT object_type, CASE WHEN object_type = 'vreemdeling' THEN "
            "'nationaliteit' END AS attribute, CASE WHEN object_type = 'vreemdeling' THEN "
            "'string' END AS type, object_type AS ord FROM out_objects"),
        "event_types": (
            "SELECT DISTINCT e.event_type, a.name, 'string' AS type, e.event_type AS ord "
            "FROM out_attributes a JOIN out_events e ON e.rowid = a.ev"),
    }
    return selects
