"""Variants: the distinct activity sequences of the cases.

Two cases share a *variant* when their activities, in case order (see :func:`miner.flatten`), are
the same sequence. Each variant is counted with the number of cases that follow it. Variants with
equal counts are ordered by their activity sequence. Variants are stored as the activities joined
with the unit separator (U+001F), so an activity name must not contain that control character.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from miner.analysis._result import SCHEMA_VERSION
from miner.model.flatten import EventLog
from miner.model.view import open_scope


@dataclass(frozen=True, eq=False)
class Variants:
    """The variants of one case notion.

    ``table`` has one row per variant, most frequent first (ties by sequence): ``variant`` (a list
    of activities), ``cases``, ``share`` (of all cases) and ``events`` (the variant's length).
    """

    object_type: str
    table: pd.DataFrame
    cases: int

    def counts(self) -> dict[tuple[str, ...], int]:
        """Variant (as a tuple of activities) → number of cases."""
        return {tuple(v): int(n) for v, n in zip(self.table["variant"], self.table["cases"])}

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "object_type": self.object_type,
            "cases": self.cases,
            "variants": [
                {"variant": list(v), "cases": int(n), "share": float(s)}
                for v, n, s in zip(self.table["variant"], self.table["cases"], self.table["share"])
            ],
        }


def variants(log: EventLog) -> Variants:
    """The variants of ``log`` with their case counts."""
    with open_scope(log) as scope:
        index = scope.index
        stored = f"{index.table('variant_table')} v"
        if not scope.filtered:
            # variant_table is stored in result order; DuckDB keeps insertion order on a plain scan.
            sql = f"SELECT activities AS variant, cases, events FROM {stored} WHERE v.{index.where()}"
        elif not scope.trimmed:
            sql = f"""
                SELECT v.activities AS variant, c.cases, v.events
                FROM (SELECT variant_no, count(*) AS cases FROM ({scope.cases}) GROUP BY ALL) c
                JOIN {stored} ON v.{index.where()} AND v.variant_no = c.variant_no
                ORDER BY c.cases DESC, v.variant"""
        else:
            sql = f"""
                SELECT string_split(variant, chr(31)) AS variant, cases, events FROM (
                    SELECT variant, count(*) AS cases, any_value(events) AS events
                    FROM ({scope.variant_per_case()}) GROUP BY variant)
                ORDER BY cases DESC, variant"""
        # The variant column stays an Arrow list column: converting 10^5 sequences to Python lists
        # would cost more than computing them.
        table = log.log.con.sql(sql).to_arrow_table().to_pandas(types_mapper=pd.ArrowDtype)
    table = table.astype({"cases": "int64", "events": "int64"})
    total = int(table["cases"].sum())
    table.insert(2, "share", table["cases"] / total if total else 0.0)
    return Variants(object_type=log.object_type, table=table, cases=total)
