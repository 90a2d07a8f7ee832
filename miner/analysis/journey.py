"""The journey: every event of a chain workspace on the foreigner (vreemdeling) it concerns, with the
catalogue facts of its activity. The chain analyses (duplicate work, hand-offs, bottlenecks, norms,
queues) all read this one view.

:func:`create_journey` makes the temporary table ``journey`` on a workspace made by ``miner ingest``
(once per connection: the analyses of one run share it), ordered by foreigner, time and read order:

========== =============================================================================
foreigner  the foreigner's object id (``vreemdeling:<pseudonym>``)
event_id   the event
ts         its time (TIMESTAMPTZ, UTC)
activity   the exact Dutch label (the event type)
activity_id  catalogue id (A01 …; NULL for an unmapped partner code)
phase      the catalogue phase (Aanmeldfase, …), NULL when unmapped
lane       the organisation owning the activity in the reference model
organisation  who performed it (``organisation`` attribute; the partner unless the mapping says)
performer  who performed the modelled step: the ``performer`` attribute where the mapping reads one
           (``performed_by``: a step whose result the partner registers; NULL when the row names no
           one), else the organisation
partner    the partner whose system recorded it
lifecycle  ``start`` or ``complete``
source     the export (indigo, pshv, smartflow, coa, dtv, kmar)
source_row the row in that export
seq        read order (ties in time are broken by it)
previous_organisation  the organisation of the foreigner's previous event that has one: with
           ``organisation`` it forms a *consecutive pair* (NULL on the first such event, and on
           events without an organisation, which stay out of the sequence)
previous_gap_us  microseconds since that previous event (NULL likewise)
========== =============================================================================

The two ``previous_`` columns are computed once here, so that the hand-off analyses read the
consecutive pairs instead of re-sorting every foreigner's events for each question.

Events not linked to a foreigner are left out (``identity_unresolved`` lists them).
"""

from __future__ import annotations

import duckdb

from miner.catalogue import chain_catalogue
from miner.errors import WorkspaceError
from miner.model.log import Log, first_row

FOREIGNER_TYPE = "vreemdeling"


def create_journey(log: Log) -> str:
    """Create the temporary table ``journey`` (and ``chain_catalogue``) once per connection; it is
    rebuilt when the events have changed since. Returns its name."""
    con = log.con
    stamp = first_row(con.execute("SELECT count(*), coalesce(max(seq), -1) FROM events"))
    marker = f"{stamp[0]}:{stamp[1]}" if stamp else ""
    known = first_row(con.execute(
        "SELECT comment FROM duckdb_tables() WHERE temporary AND table_name = 'journey'"))
    if known is not None and known[0] == marker:
        return "journey"
    found = first_row(con.execute(
        "SELECT count(*) FROM objects WHERE object_type = ?", [FOREIGNER_TYPE]))
    if not found or not found[0]:
        raise WorkspaceError(
            f"{log.path or 'the log'}: has no '{FOREIGNER_TYPE}' objects, so the chain analyses "
            "have nobody to follow. Give the log to the command as a file or workspace "
            "(`miner analyze LOG --object-type T`, T the type of the foreigners or cases), or "
            "make a workspace with `miner ingest`; see docs/bring-your-own-log.md.")
    _catalogue(con)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE journey AS
        WITH a AS (
            SELECT event_id,
                   any_value(value_string) FILTER (WHERE name = 'activity_id') AS activity_id,
                   any_value(value_string) FILTER (WHERE name = 'organisation') AS organisation,
                   any_value(value_string) FILTER (WHERE name = 'partner') AS partner,
                   any_value(value_string) FILTER (WHERE name = 'performer') AS performer,
                   any_value(value_string) FILTER (WHERE name = 'lifecycle:transition') AS lifecycle
            FROM event_attributes
            WHERE name IN ('activity_id', 'organisation', 'partner', 'performer',
                           'lifecycle:transition')
            GROUP BY event_id)
        SELECT eo.object_id AS foreigner, e.event_id, e.timestamp AS ts, e.event_type AS activity,
               a.activity_id, c.phase, c.lane, a.organisation, a.partner,
               CASE WHEN a.performer IS NULL THEN a.organisation ELSE nullif(a.performer, '')
               END AS performer,
               coalesce(a.lifecycle, 'complete') AS lifecycle, e.source, e.source_row, e.seq,
               CASE WHEN a.organisation IS NOT NULL THEN lag(a.organisation) OVER w
               END AS previous_organisation,
               CASE WHEN a.organisation IS NOT NULL
                    THEN epoch_us(e.timestamp) - epoch_us(lag(e.timestamp) OVER w)
               END AS previous_gap_us
        FROM events e
        JOIN event_objects eo ON eo.event_id = e.event_id AND eo.qualifier = 'vreemdeling'
        LEFT JOIN a ON a.event_id = e.event_id
        LEFT JOIN chain_catalogue c ON c.activity_id = a.activity_id
        -- events without an organisation form their own partition: they drop out of the pairs
        WINDOW w AS (PARTITION BY eo.object_id, a.organisation IS NULL ORDER BY e.timestamp, e.seq)
        ORDER BY foreigner, ts, seq
    """)
    linked = first_row(con.execute("SELECT count(*) FROM journey"))
    if not linked or not linked[0]:
        # a figure over zero foreigners where the log has events is a wrong answer, not a result
        raise WorkspaceError(
            f"{log.path or 'the log'}: {stamp[0] if stamp else 0:,} events, but none is linked to "
            f"a '{FOREIGNER_TYPE}' object by the E2O qualifier '{FOREIGNER_TYPE}', so the chain "
            "analyses would count nobody. Give the log as a file or workspace to the command "
            "(`miner analyze LOG`, which adopts it) with --object-type T naming the foreigners' "
            "object type, or make it with `miner ingest`; see docs/bring-your-own-log.md.")
    con.execute(f"COMMENT ON TABLE temp.journey IS '{marker}'")
    return "journey"


def _catalogue(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE chain_catalogue (activity_id VARCHAR, label VARCHAR, "
                "phase VARCHAR, lane VARCHAR, reference BOOLEAN)")
    con.executemany("INSERT INTO chain_catalogue VALUES (?, ?, ?, ?, ?)",
                    [(a.id, a.label, a.phase, a.lane, a.reference) for a in chain_catalogue().values()])
