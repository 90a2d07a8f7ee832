"""A filtered view of one case notion, evaluated on the case index: the relations figures read.

:func:`open_scope` applies an :class:`~miner.model.flatten.EventLog`'s filters in order to its case
index (:mod:`miner.model.case_index`) and yields a :class:`Scope`:

* ``steps``: SQL of the kept steps, coded: ``case_no, pos, event_seq, act, timestamp, res,
  next_act, next_res, gap_us`` (``event_seq`` is the event's ``seq`` in ``events``).
* ``cases``: SQL of the kept cases: ``case_no, case_id, events, start, "end", duration_us,
  first_act, last_act``, and ``activities`` (the variant) where asked for.
* ``trimmed``: whether an event filter dropped events inside cases. Untrimmed, the stored steps,
  case rows and variants are read as they are (whole-case filters are semi-joins on ``case_no``);
  trimmed, the successors, case rows and variants are recomputed from the kept steps.

The kept cases of each case filter and the steps of each event filter are written to temporary
tables, dropped when the ``with`` block ends.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from miner.model.case_index import CaseIndex, case_index
from miner.model.filters import sql_literal

if TYPE_CHECKING:
    import duckdb

    from miner.model.flatten import EventLog

_STEP_COLUMNS = "case_no, pos, event_seq, act, timestamp, res, next_act, next_res, gap_us"
_CASE_COLUMNS = 'case_no, case_id, events, start, "end", duration_us, first_act, last_act'
_names = itertools.count()


@dataclass(frozen=True)
class Scope:
    """The relations of a filtered view; see the module docstring."""

    index: CaseIndex
    steps: str
    cases: str
    trimmed: bool
    filtered: bool

    def activity_codes(self, activities: tuple[object, ...]) -> str:
        """SQL of the codes of ``activities`` (unknown names match nothing)."""
        names = ", ".join(sql_literal(str(a)) for a in activities) or "NULL"
        return f"SELECT code FROM {self.index.table('activity_codes')} WHERE activity IN ({names})"

    def cases_where(self, condition: str, retain: bool, *, needs_variant: bool = False) -> str:
        """SQL of the kept cases (``case_no``) that meet ``condition`` (or, ``retain=False``, not)."""
        cases = self.cases_with_variant() if needs_variant else self.cases
        kept = condition if retain else f"NOT ({condition})"
        return f"SELECT case_no FROM ({cases}) WHERE {kept}"

    def cases_with_variant(self) -> str:
        """``cases`` with the column ``activities`` (the case's variant as a list of names)."""
        if not self.trimmed:
            return (f"SELECT c.*, v.activities FROM ({self.cases}) c "
                    f"JOIN {self.index.table('variant_table')} v "
                    f"ON v.{self.index.where()} AND v.variant_no = c.variant_no")
        return (f"SELECT c.*, string_split(s.variant, chr(31)) AS activities "
                f"FROM ({self.cases}) c JOIN ({self.variant_per_case()}) s USING (case_no)")

    def variant_per_case(self) -> str:
        """SQL of ``case_no, variant, events``: each kept case's activities joined by U+001F."""
        return (f"SELECT s.case_no, string_agg(n.activity, chr(31) ORDER BY s.pos) AS variant, "
                f"count(*) AS events FROM ({self.steps}) s "
                f"JOIN {self.index.table('activity_codes')} n ON n.code = s.act GROUP BY s.case_no")


@contextmanager
def open_scope(log: EventLog, *,
               after_each: Callable[[Scope], None] | None = None) -> Iterator[Scope]:
    """The :class:`Scope` of ``log`` for the ``with`` block (its temporary tables are dropped after).
    ``after_each`` is called with the scope after each filter (what the filters so far keep)."""
    con = log.log.con
    index = case_index(log.log, log.object_type)
    scope = Scope(
        index,
        steps=f"SELECT {_STEP_COLUMNS} FROM {index.table('case_steps')} WHERE {index.where()}",
        cases=(f"SELECT {_CASE_COLUMNS}, variant_no FROM {index.table('case_table')} "
               f"WHERE {index.where()}"),
        trimmed=False,
        filtered=bool(log.filters),
    )
    made: list[str] = []
    try:
        for f in log.filters:
            name = f"_miner_view_{next(_names)}"
            made.append(name)
            if f.trims:
                scope = _trim(con, scope, f.event_condition(scope), name)  # type: ignore[union-attr]
            else:
                con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {f.kept_cases(scope)}")
                kept = f"case_no IN (SELECT case_no FROM {name})"
                scope = Scope(index, f"SELECT * FROM ({scope.steps}) WHERE {kept}",
                              f"SELECT * FROM ({scope.cases}) WHERE {kept}", scope.trimmed, True)
            if after_each is not None:
                after_each(scope)
        yield scope
    finally:
        for name in made:
            con.execute(f"DROP TABLE IF EXISTS {name}")


def _trim(con: duckdb.DuckDBPyConnection, scope: Scope, condition: str, name: str) -> Scope:
    """Keep the steps meeting ``condition``, renumbered, with their successors recomputed."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {name} AS
        SELECT case_no, CAST(row_number() OVER w - 1 AS INTEGER) AS pos, event_seq, act, timestamp,
               res, lead(act) OVER w AS next_act, lead(res) OVER w AS next_res,
               epoch_us(lead(timestamp) OVER w) - epoch_us(timestamp) AS gap_us
        FROM ({scope.steps}) WHERE {condition}
        WINDOW w AS (PARTITION BY case_no ORDER BY pos)""")
    steps = f"SELECT {_STEP_COLUMNS} FROM {name}"
    cases = f"""
        SELECT s.case_no, t.case_id, s.events, s.start, s."end",
               epoch_us(s."end") - epoch_us(s.start) AS duration_us, s.first_act, s.last_act
        FROM (SELECT case_no, count(*) AS events, min(timestamp) AS start, max(timestamp) AS "end",
                     arg_min(act, pos) AS first_act, arg_max(act, pos) AS last_act
              FROM {name} GROUP BY case_no) s
        JOIN {scope.index.table('case_table')} t ON t.{scope.index.where()} AND t.case_no = s.case_no"""
    return Scope(scope.index, steps, cases, True, True)
