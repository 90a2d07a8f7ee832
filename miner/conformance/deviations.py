"""Deviations per foreigner: alignment moves turned into categories, spread from each variant back to
the foreigners with that variant, with the events that show them.

Categories (the lane ones are defined in :mod:`miner.conformance.lanes`):

* **skipped**: a model move on a labelled task: the model needed the step there and the foreigner
  has no event of it there. Evidence: the event before which it was expected (the last event when
  it was expected at the end). A step expected after the foreigner's very last event is *pending*
  (the journey is still open when the data ends) and not reported.
* **inserted**: a log move: an event of a model activity that the model does not allow at that point
  (a repeated step, an extra step). Evidence: that event.
* **wrong order**: a log move of activity X and a model move of the same X in one alignment: the
  step happened, but elsewhere than the model has it. Each such pair is one deviation (not a skip
  plus an insert); pairs are formed in alignment order. Evidence: the misplaced event. Two
  adjacent steps done the other way round have two equally cheap alignments, each naming one of
  them; the one named is the step done *later* than the model has it (a postponed step, see
  :func:`prefer_postponed`), whichever alignment the search returned.
* **late**: a norm of ``miner/data/norms.toml`` (:mod:`miner.analysis.norms`) whose outcome for the
  foreigner is *late* (the stopping step after its last allowed day) or *overdue* (no stopping step
  and the last allowed day has passed: a statutory term exceeded). Element: the norm's first ``to``
  activity. Evidence: the event that started the clock and, when there is one, the one that stopped
  it.
* **before log**: a skipped step that was expected before the step's *coverage start* (the
  earliest first event of the exports that record that activity, :mod:`miner.conformance.coverage`),
  or a late or overdue norm whose clock started on a day before the coverage start of its stopping
  step. Before it the data cannot show whether the step happened, or when: a journey that began
  before the exports did (the initial stock, whose first years only some partners deliver) is not
  missing those steps, and its stopping step may lie in data that does not reach back that far.
  Each step is judged on its own exports, so one export that starts late does not hide the
  findings of the others. Reported apart, not counted against the conformance rate.
* **unresolved**: the foreigner's trace in a phase belongs to a variant whose alignment exceeded the
  time budget; it is reported, never counted as fitting.
* **not in model**: an event of an activity the model does not have (reported; it does not count
  against the conformance rate, as the model makes no claim about that step).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from miner.analysis.workdays import local_date_sql
from miner.conformance._controlflow import Move, VariantCheck
from miner.conformance.coverage import load_coverage, log_coverage_start

#: Categories in report order. ``before_log`` and ``not_in_model`` are reported but not counted
#: in the rates.
CATEGORIES = ("skipped", "inserted", "wrong_order", "late", "wrong_lane", "unexpected_handoff",
              "missing_handoff", "unresolved", "before_log", "not_in_model")
RATED = tuple(c for c in CATEGORIES if c not in ("before_log", "not_in_model"))
#: Separator of the activities in a variant key (a unit separator: never in a label).
SEP = "\x1f"
#: Appended to the detail of a finding that is ``before_log`` (the coverage start's day).
BEFORE_LOG_SUFFIX = ", before the data of this step begins ({coverage})"


@dataclass(frozen=True)
class Evidence:
    """One event that shows a deviation: its id, the export and row it came from, its time (ISO
    8601, UTC)."""

    event_id: str
    source: str
    source_row: int
    ts: str


@dataclass(frozen=True)
class Deviation:
    """One deviation of one foreigner (pseudonym). ``activity``/``task``: the model element (label
    and task id; None for an unresolved trace); ``lane``: the task's lane names joined by `` / ``;
    ``organisation``/``partner``: who performed and who recorded the evidence event (None for a
    skipped step); ``phase``: the model phase; ``detail``: a short explanation; ``accepted_by``: the
    allowlist entry (1-based) that accepts it, None for a finding; ``reading``: the reading of the
    model whose rejection alone makes it a deviation (:mod:`miner.conformance.readings`), None when
    it holds under every reading."""

    foreigner: str
    category: str
    activity: str | None
    task: str | None
    lane: str | None
    organisation: str | None
    partner: str | None
    phase: str | None
    detail: str | None
    evidence: tuple[Evidence, ...]
    accepted_by: int | None = None
    reading: str | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Deviation:
        return cls(**{**d, "evidence": tuple(Evidence(**e) for e in d["evidence"])})

    def sort_key(self) -> tuple[str, str, str, str, str]:
        first = self.evidence[0] if self.evidence else None
        return (self.foreigner, first.ts if first else "", self.category, self.activity or "",
                first.event_id if first else "")


def prefer_postponed(moves: Sequence[Move]) -> tuple[Move, ...]:
    """The alignment with every adjacent swap named by its postponed step.

    When the trace has Y X where the model has X Y (nothing visible between), two alignments are
    optimal and equally cheap: *log move Y, sync X, model move Y* (Y was done too early) and
    *model move X, sync Y, log move X* (X was done too late). Which one a search returns is a
    tie-break of the search (pm4py's A* returns either). The rule: the step done later than the
    model has it is the one named, so the first form is rewritten into the second, repeatedly
    until none is left. The rewrite keeps the trace, the model's run (silent steps included, they
    are not listed) and the cost; only which of the two steps is the deviation changes. A step
    moved further than one place has one optimal alignment and is named as it is.
    """
    out = list(moves)
    i = 0
    while i + 2 < len(out):
        early, sync, back = out[i:i + 3]
        if (early.model is None and early.log is not None and back.log is None
                and back.model == early.log and sync.log is not None and sync.log == sync.model
                and sync.log != early.log):
            out[i:i + 3] = [Move(None, sync.log), Move(early.log, early.log), Move(sync.log, None)]
            i = max(i - 2, 0)  # the new log move may start an earlier swap's pattern
        else:
            i += 1
    return tuple(out)


def move_templates(check: VariantCheck, positions: Sequence[int] | None = None
                   ) -> list[tuple[str, str | None, int, str | None]]:
    """The deviations of one aligned variant as (category, activity, position, detail); position
    is the 1-based index in the variant of the evidence event. An adjacent swap names the step done
    later than the model has it (:func:`prefer_postponed`). ``positions``: for a trace read under a
    reading (:func:`miner.conformance.readings.read_trace`), the position in the foreigner's own
    trace of each event of the checked one; positions and details are given in the own trace."""
    if check.status != "ok":
        return [("unresolved", None, 1, check.reason)]
    length = len(check.variant)

    def own(k: int) -> int:
        return positions[k - 1] if positions is not None else k

    log_moves: dict[str, list[int]] = {}
    model_moves: dict[str, list[int]] = {}
    order: list[tuple[str, str, int, str]] = []  # (kind, label, position, detail)
    consumed = 0
    for move in prefer_postponed(check.moves):
        if move.log is not None:
            consumed += 1
            if move.model is None:
                log_moves.setdefault(move.log, []).append(consumed)
                order.append(("log", move.log, consumed, "not allowed here by the model"))
        elif move.model is not None:
            # anchored at the next event of the trace, or at the last when none follows
            anchor = min(consumed + 1, length)
            where = "expected before this event" if consumed < length else \
                "expected after this event (the last)"
            model_moves.setdefault(move.model, []).append(anchor)
            order.append(("model", move.model, anchor, where))
    found: list[tuple[str, str | None, int, str | None]] = []
    paired: list[tuple[str, str, int]] = []
    for label in sorted(set(log_moves) & set(model_moves)):
        for at, expected in zip(log_moves[label], model_moves[label], strict=False):
            paired += [("log", label, at), ("model", label, expected)]
            detail = f"event {own(at)} of {length}; the model has it before event {own(expected)}"
            found.append(("wrong_order", label, own(at), detail))
    for kind, label, pos, detail in order:
        if (kind, label, pos) in paired:
            paired.remove((kind, label, pos))
            continue
        found.append(("inserted" if kind == "log" else "skipped", label, own(pos), detail))
    return found


def temp_table_from_arrow(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table,
                          select: str = "*") -> None:
    """``CREATE OR REPLACE TEMP TABLE name AS SELECT select`` from the Arrow ``table``: one bulk
    insert (``executemany`` binds row by row: seconds to minutes for a year's rows)."""
    view = f"{name}_arrow"
    con.register(view, table)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {select} FROM {view}")
    finally:
        con.unregister(view)


#: The columns of ``conf_templates`` and their Arrow types.
_TEMPLATE_COLUMNS = (("grp", pa.string()), ("variant", pa.string()), ("category", pa.string()),
                     ("activity", pa.string()), ("pos", pa.int32()), ("detail", pa.string()),
                     ("reading", pa.string()))


def load_templates(con: duckdb.DuckDBPyConnection,
                   rows: Iterable[tuple[str, str, str, str | None, int, str | None, str | None]]
                   ) -> None:
    """``conf_templates`` (group, variant key, category, activity, position, detail, reading: the
    reading under which alone it holds, :mod:`miner.conformance.readings`)."""
    values = list(rows)
    columns = list(zip(*values, strict=True)) if values else [()] * len(_TEMPLATE_COLUMNS)
    temp_table_from_arrow(con, "conf_templates", pa.table({
        name: pa.array(col, kind) for (name, kind), col in zip(_TEMPLATE_COLUMNS, columns,
                                                               strict=True)}))


def spread(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """The templates spread to every foreigner with the variant: rows (foreigner, category,
    activity, organisation, partner, detail, phase, event_id, source, source_row, ts, reading).
    Needs
    ``conf_traces`` (foreigner, grp, variant), ``conf_events`` with ``grp`` and ``pos``, and the
    ``journey`` (for the coverage start)."""
    coverage, day = log_coverage_start(con)
    load_coverage(con)
    before, after = BEFORE_LOG_SUFFIX.split("{coverage}")
    return con.execute("""
        SELECT r.foreigner,
               CASE WHEN t.category = 'skipped' AND e.ts < coalesce(c.coverage, $coverage)
                    THEN 'before_log' ELSE t.category END,
               t.activity,
               CASE WHEN t.category IN ('skipped', 'unresolved') THEN NULL ELSE e.organisation END,
               CASE WHEN t.category IN ('skipped', 'unresolved') THEN NULL ELSE e.partner END,
               CASE WHEN t.category = 'skipped' AND e.ts < coalesce(c.coverage, $coverage)
                    THEN t.detail || $before || coalesce(c.day, $day) || $after
                    ELSE t.detail END,
               e.phase, e.event_id, e.source, e.source_row, e.ts, t.reading
        FROM conf_templates t
        JOIN conf_traces r ON r.grp = t.grp AND r.variant = t.variant
        JOIN conf_events e ON e.foreigner = r.foreigner AND e.grp = t.grp AND e.pos = t.pos
        LEFT JOIN conf_coverage c ON c.activity = t.activity
        -- a step expected after the foreigner's last event is pending, not skipped: the journey
        -- is still open when the data ends
        WHERE NOT (t.category = 'skipped' AND t.detail LIKE 'expected after%' AND NOT EXISTS (
            SELECT 1 FROM conf_events x WHERE x.foreigner = r.foreigner AND x.ts > e.ts))
    """, {"coverage": coverage, "day": day, "before": before, "after": after}).fetchall()


def late_rows(con: duckdb.DuckDBPyConnection,
              cases: Sequence[tuple[str, str, str, str, tuple[str, ...], tuple[str, ...]]]
              ) -> list[tuple[Any, ...]]:
    """Evidence for late cases given as (foreigner, detail, norm id, local day the clock started,
    start activity ids, stop activity ids): rows (foreigner, detail, norm, [event ids], [sources],
    [rows], [times], organisation, partner of the stopping event). The starting event is the
    foreigner's first of the start activities on the day the norm's clock started (an earlier one
    may not have met the norm's conditions); the stopping event the first of the stop activities
    at or after it."""
    table = pa.table({
        "k": pa.array(range(len(cases)), pa.int32()),
        "foreigner": pa.array([c[0] for c in cases], pa.string()),
        "detail": pa.array([c[1] for c in cases], pa.string()),
        "norm": pa.array([c[2] for c in cases], pa.string()),
        "start_day": pa.array([c[3] for c in cases], pa.string()),
        "starts": pa.array([list(c[4]) for c in cases], pa.list_(pa.string())),
        "stops": pa.array([list(c[5]) for c in cases], pa.list_(pa.string()))})
    temp_table_from_arrow(con, "conf_late", table, "k, foreigner, detail, norm, "
                          "CAST(start_day AS DATE) AS start_day, starts, stops")
    if not cases:
        return []
    return con.execute(f"""
        -- one row per case and activity, so the joins with the journey are equi-joins
        WITH ls AS (SELECT k, foreigner, start_day, unnest(starts) AS activity_id FROM conf_late),
        lt AS (SELECT k, foreigner, unnest(stops) AS activity_id FROM conf_late),
        f AS (
            SELECT ls.k, arg_min(j.event_id, (j.ts, j.seq)) AS event_id, min(j.ts) AS ts
            FROM ls JOIN journey j
              ON j.foreigner = ls.foreigner AND j.activity_id = ls.activity_id
            WHERE {local_date_sql("j.ts")} = ls.start_day
            GROUP BY ls.k),
        t AS (
            SELECT lt.k, arg_min(j.event_id, (j.ts, j.seq)) AS event_id
            FROM lt JOIN f USING (k) JOIN journey j
              ON j.foreigner = lt.foreigner AND j.activity_id = lt.activity_id
            WHERE j.ts >= f.ts
            GROUP BY lt.k)
        SELECT l.foreigner, l.detail, l.norm,
               list_filter([a.event_id, b.event_id], lambda x: x IS NOT NULL),
               list_filter([a.source, b.source], lambda x: x IS NOT NULL),
               list_filter([a.source_row, b.source_row], lambda x: x IS NOT NULL),
               list_filter([a.ts, b.ts], lambda x: x IS NOT NULL),
               b.organisation, b.partner
        FROM conf_late l LEFT JOIN f USING (k) LEFT JOIN t USING (k)
        LEFT JOIN journey a ON a.event_id = f.event_id AND a.foreigner = l.foreigner
        LEFT JOIN journey b ON b.event_id = t.event_id AND b.foreigner = l.foreigner
        ORDER BY l.k
    """).fetchall()
