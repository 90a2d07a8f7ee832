"""Reporting periods: a month (``2021-03``), a tertaal or four-month period (``2021-T1`` = January-
April, T2 = May-August, T3 = September-December), a quarter (``2021-Q2``) or a year (``2021``).

A period is a half-open interval of local Dutch time, ``[start, end)``; :meth:`Period.previous` is
the period of the same kind before it (for "change against the previous period").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from miner.errors import MinerError

ZONE = ZoneInfo("Europe/Amsterdam")
_PATTERN = re.compile(r"^(\d{4})(?:-(?:(\d{2})|T([1-3])|Q([1-4])))?$")


class PeriodError(MinerError, ValueError):
    """A period text that is not YYYY, YYYY-MM, YYYY-Tn or YYYY-Qn."""


@dataclass(frozen=True, order=True)
class Period:
    """A reporting period: ``kind`` is ``year``, ``tertaal``, ``quarter`` or ``month``; ``start``
    and ``end`` are the first day and the day after the last (local dates)."""

    start: date
    end: date
    kind: str
    label: str

    @classmethod
    def parse(cls, text: str) -> Period:
        found = _PATTERN.match(text.strip())
        if not found:
            raise PeriodError(f"period {text!r} is not YYYY, YYYY-MM, YYYY-T1..T3 or YYYY-Q1..Q4 "
                              "(e.g. 2021, 2021-03, 2021-T1, 2021-Q2)")
        year = int(found.group(1))
        month, tertaal, quarter = found.group(2), found.group(3), found.group(4)
        if month is not None:
            m = int(month)
            if not 1 <= m <= 12:
                raise PeriodError(f"period {text!r}: month {m} does not exist")
            return cls.months(year, m, 1, "month", f"{year}-{m:02d}")
        if tertaal is not None:
            t = int(tertaal)
            return cls.months(year, 4 * (t - 1) + 1, 4, "tertaal", f"{year}-T{t}")
        if quarter is not None:
            q = int(quarter)
            return cls.months(year, 3 * (q - 1) + 1, 3, "quarter", f"{year}-Q{q}")
        return cls.months(year, 1, 12, "year", str(year))

    @classmethod
    def months(cls, year: int, first: int, count: int, kind: str, label: str) -> Period:
        end_month = first + count
        end = date(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1)
        return cls(date(year, first, 1), end, kind, label)

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        if self.kind == "year":
            return Period.parse(str(self.start.year - 1))
        step = {"month": 1, "quarter": 3, "tertaal": 4}[self.kind]
        index = self.start.year * 12 + self.start.month - 1 - step
        year, month = divmod(index, 12)
        if self.kind == "month":
            return Period.parse(f"{year}-{month + 1:02d}")
        number = month // step + 1
        return Period.parse(f"{year}-{'T' if self.kind == 'tertaal' else 'Q'}{number}")

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.start, datetime.min.time(), ZONE)

    @property
    def end_utc(self) -> datetime:
        return datetime.combine(self.end, datetime.min.time(), ZONE)

    def sql_range(self, column: str) -> str:
        """A SQL condition: ``column`` (TIMESTAMPTZ) lies in the period."""
        return (f"({column} >= '{self.start_utc.isoformat()}'::TIMESTAMPTZ AND "
                f"{column} < '{self.end_utc.isoformat()}'::TIMESTAMPTZ)")

    def __str__(self) -> str:
        return self.label
