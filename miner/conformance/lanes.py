"""Lane checks: who performed each step and how the journey passed between organisations, compared
with the swimlane model. Plain DuckDB SQL over the table ``conf_events`` that
:func:`miner.conformance.check.check_conformance` makes (one event per activity occurrence, see
there), so the scans run in the engine and only the findings reach Python.

Definitions (a foreigner's *model events* are their events of activities the model has, ordered by
time and read order; two neighbours in that order are *consecutive*):

The organisation judged is the event's *performer* (the journey's ``performer``: who did the
modelled step, which differs from the recording organisation where a mapping's ``performed_by``
names the sender of what the partner registers, as DT&V's receipt of the overdrachtsdossier).

* **wrong lane**: a model event whose ``organisation`` is none of the organisations of the lanes
  of its task (:meth:`SwimlaneModel.organisations_for`). A task whose lanes map to no organisation
  is not judged. Activities the model does not know are never wrong lane (they are *not in model*).
* **unexpected hand-off**: consecutive model events performed by organisations A ≠ B where the
  model has no lane transition A → B. The model's lane transitions are those of its sequence flows
  (:meth:`SwimlaneModel.expected_handoffs`) and of every pair of tasks that can directly follow
  each other in a run of the model, parallel branches interleaved (the directly-follows relation
  of its language, from the reachability graph). The element is the receiving event's task.
* **missing hand-off**: consecutive model events of tasks T1 → T2 that the model connects directly
  (a sequence flow, possibly through gateways and intermediate events, no task in between) across
  lanes whose organisations do not overlap, where both events were performed by the *same*
  organisation: the model hands the journey over at that point and the log shows no hand-over.
  When T2 was done by an organisation of its own lane the hand-off happened, so a foreigner who
  follows the model never has one. (It often comes with a wrong-lane T2: that one says who did
  the step, this one that the transfer between organisations did not take place.)
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from miner.conformance.swimlane import SwimlaneModel

#: Columns of a lane finding row, as the SQL below returns them.
LANE_COLUMNS = ("foreigner", "category", "activity", "organisation", "partner", "phase",
                "detail", "event_ids", "sources", "source_rows", "times")


def direct_task_flows(model: SwimlaneModel) -> frozenset[tuple[str, str]]:
    """Pairs of task labels (T1, T2) with a path of sequence flows from T1 to T2 that passes no
    other task (gateways and events only)."""
    succ: dict[str, list[str]] = {}
    for f in model.flows:
        succ.setdefault(f.source, []).append(f.target)
    found: set[tuple[str, str]] = set()
    for task in model.tasks.values():
        seen: set[str] = set()
        todo = list(succ.get(task.id, ()))
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            if node in model.tasks:
                found.add((task.label, model.tasks[node].label))
            else:
                todo.extend(succ.get(node, ()))
    return frozenset(found)


def load_lane_tables(con: duckdb.DuckDBPyConnection, model: SwimlaneModel,
                     follows: Iterable[tuple[str, str]] = ()) -> None:
    """The model's facts as temp tables: ``conf_task_orgs`` (activity, organisation),
    ``conf_expected`` (source, target organisation) and ``conf_crossing`` (activity pairs handed
    over between lanes without a common organisation). ``follows``: activity pairs (a, b) of the
    model's directly-follows relation; their organisation pairs are expected hand-offs too."""
    labels = sorted(model.labels())
    con.execute("CREATE OR REPLACE TEMP TABLE conf_task_orgs (activity VARCHAR, organisation VARCHAR)")
    _insert(con, "conf_task_orgs", sorted(
        (a, o) for a in labels for o in model.organisations_for(a)))
    con.execute("CREATE OR REPLACE TEMP TABLE conf_expected (source VARCHAR, target VARCHAR)")
    expected = set(model.expected_handoffs())
    for a, b in follows:
        expected.update((x, y) for x in model.organisations_for(a)
                        for y in model.organisations_for(b) if x != y)
    _insert(con, "conf_expected", sorted(expected))
    con.execute("CREATE OR REPLACE TEMP TABLE conf_crossing (source VARCHAR, target VARCHAR)")
    crossing = []
    for a, b in sorted(direct_task_flows(model)):
        orgs_a, orgs_b = model.organisations_for(a), model.organisations_for(b)
        if orgs_a and orgs_b and not orgs_a & orgs_b:
            crossing.append((a, b))
    _insert(con, "conf_crossing", crossing)


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: Iterable[tuple[str, str]]) -> None:
    values = list(rows)
    if values:
        con.executemany(f"INSERT INTO {table} VALUES (?, ?)", values)


_PAIRS = """
    WITH m AS (
        SELECT foreigner, event_id, ts, seq, activity, organisation, partner, phase, source,
               source_row,
               lag(event_id) OVER w AS p_event_id, lag(activity) OVER w AS p_activity,
               lag(organisation) OVER w AS p_organisation, lag(source) OVER w AS p_source,
               lag(source_row) OVER w AS p_source_row, lag(ts) OVER w AS p_ts
        FROM conf_events WHERE in_model AND organisation IS NOT NULL
        WINDOW w AS (PARTITION BY foreigner ORDER BY ts, seq))
"""


def lane_findings(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    """Wrong-lane, unexpected and missing hand-off findings (rows of :data:`LANE_COLUMNS`; evidence
    as lists, oldest event first), in a fixed order. Needs ``conf_events`` and the tables of
    :func:`load_lane_tables`."""
    return con.execute(f"""
        {_PAIRS}
        SELECT e.foreigner, 'wrong_lane', e.activity, e.organisation, e.partner, e.phase,
               e.organisation || ' is not in the lane of this task', [e.event_id], [e.source],
               [e.source_row], [e.ts]
        FROM conf_events e
        WHERE e.in_model AND e.organisation IS NOT NULL
          AND e.activity IN (SELECT activity FROM conf_task_orgs)
          AND NOT EXISTS (SELECT 1 FROM conf_task_orgs o
                          WHERE o.activity = e.activity AND o.organisation = e.organisation)
        UNION ALL
        SELECT foreigner, CASE WHEN p_organisation <> organisation THEN 'unexpected_handoff'
                               ELSE 'missing_handoff' END,
               activity, organisation, partner, phase,
               CASE WHEN p_organisation <> organisation
                    THEN p_organisation || ' -> ' || organisation
                    ELSE p_activity || ' -> ' || activity || ' stayed with ' || organisation END,
               [p_event_id, event_id], [p_source, source], [p_source_row, source_row], [p_ts, ts]
        FROM m
        WHERE p_event_id IS NOT NULL AND (
            (p_organisation <> organisation AND NOT EXISTS (
                SELECT 1 FROM conf_expected x WHERE x.source = p_organisation
                                                AND x.target = organisation))
            OR (p_organisation = organisation AND EXISTS (
                SELECT 1 FROM conf_crossing c WHERE c.source = p_activity
                                                AND c.target = activity)))
    """).fetchall()
