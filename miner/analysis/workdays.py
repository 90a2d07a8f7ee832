"""Working days and day numbers of the Dutch chain, in local Europe/Amsterdam dates.

* A **local date** is the calendar date in Europe/Amsterdam of a timestamp. Event times are stored in
  UTC, so a timestamp first becomes a local date: 2021-03-27 23:30 UTC is Sunday 28 March 00:30 local
  time (the summer-time change matters near midnight).
* A **working day** (werkdag) is Monday to Friday and not a Dutch public holiday. The holidays come
  from the ``holidays`` package (``holidays.Netherlands``, category public): Nieuwjaarsdag, Goede
  Vrijdag, both Easter days, Koningsdag (27 April, the Saturday before when it falls on a Sunday),
  Bevrijdingsdag **only in lustrum years** (5 May 2020, 2025, …: the package follows the collective
  labour agreements that give the day off once every five years), Hemelvaartsdag, both Whit days and
  both Christmas days.
* An **Atw day** is a day on which a statutory term may end under the Algemene termijnenwet (art. 1):
  not a Saturday, Sunday or "algemeen erkende feestdag" (art. 3: the public holidays above and
  5 May in *every* year; Goede Vrijdag by art. 3(2)). Bridge days the government adds by decree
  are not known to the package and are not modelled.
* **Working-day index**: the number of working days from the start of a calendar up to and including
  a date; a non-working day carries the index of the working day before it. The working days in
  ``(a, b]`` are ``index(b) - index(a)``.
* **Dag N** of a procedure that starts on date ``s`` (dag 1 is the day of the start): in calendar
  days ``d - s + 1``; in working days ``index(d) - index(s) + (1 if s is a working day else 0)``, so
  a procedure that starts on a Saturday has its dag 1 on the Monday, and a non-working day carries the
  number of the working day before it.

The Python functions answer single questions; :func:`create_calendar` builds the same facts as a
DuckDB table for set-wise joins (no per-row Python).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import duckdb
from holidays import country_holidays
from holidays.constants import OPTIONAL, PUBLIC

ZONE = ZoneInfo("Europe/Amsterdam")
TIMEZONE = "Europe/Amsterdam"
CALENDAR = "nl_calendar"
UNITS = ("days", "working_days")


@cache
def _public(year: int) -> dict[date, str]:
    return dict(country_holidays("NL", years=year, categories=PUBLIC, language="nl").items())


@cache
def _atw(year: int) -> dict[date, str]:
    both = country_holidays("NL", years=year, categories=(PUBLIC, OPTIONAL), language="nl")
    return dict(both.items())


def holiday_name(day: date) -> str | None:
    """The Dutch name of the public holiday on ``day`` (as the package gives it), or None."""
    return _public(day.year).get(day)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a public holiday."""
    return day.isoweekday() <= 5 and day not in _public(day.year)


def is_atw_day(day: date) -> bool:
    """A day on which a statutory term may end (Algemene termijnenwet art. 1 and 3)."""
    return day.isoweekday() <= 5 and day not in _atw(day.year)


def atw_end(day: date) -> date:
    """A statutory term ending on ``day`` ends on the first Atw day on or after it."""
    while not is_atw_day(day):
        day += timedelta(days=1)
    return day


def local_date(ts: datetime) -> date:
    """The Europe/Amsterdam calendar date of an aware timestamp."""
    if ts.tzinfo is None:
        raise ValueError(f"timestamp {ts.isoformat()} has no time zone; give it one (e.g. UTC)")
    return ts.astimezone(ZONE).date()


def add_working_days(day: date, n: int) -> date:
    """The ``n``-th working day after ``day`` (``n`` > 0), before it (``n`` < 0), or ``day``
    itself (``n`` = 0). ``day`` does not count: Friday + 1 is Monday, Saturday − 1 is Friday."""
    step = 1 if n > 0 else -1
    left = abs(n)
    while left:
        day += timedelta(days=step)
        left -= is_working_day(day)
    return day


def working_days_between(start: date, end: date) -> int:
    """The working days in ``(start, end]``; negative (the working days in ``(end, start]``) when
    ``end`` lies before ``start``."""
    if end < start:
        return -working_days_between(end, start)
    return sum(is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1))


def day_number(start: date, day: date, *, unit: str = "days") -> int:
    """Dag N of ``day`` in a procedure that started on ``start`` (dag 1 = the start's date), in
    calendar ``days`` or ``working_days`` (see the module docstring)."""
    if unit == "days":
        return (day - start).days + 1
    if unit == "working_days":
        return working_days_between(start, day) + int(is_working_day(start))
    raise ValueError(f"unit {unit!r} is not one of {', '.join(UNITS)}")


def create_calendar(con: duckdb.DuckDBPyConnection, start: date, end: date,
                    *, name: str = CALENDAR) -> str:
    """Create (or replace) the temporary table ``name`` with one row per date in
    ``[start, end]``:

    ================== ==========================================================
    day                the date
    holiday            the public holiday's name, or NULL
    is_working_day     Monday-Friday and not a public holiday
    working_day_index  working days from ``start`` up to and including ``day``
    is_atw_day         a statutory term may end on it (Algemene termijnenwet)
    atw_end            the first Atw day on or after ``day`` (NULL near ``end``)
    ================== ==========================================================

    and ``<name>_workday`` (working_day_index, day) with one row per working day, to turn an index
    back into a date. Returns ``name``.
    """
    if end < start:
        raise ValueError(f"calendar end {end} lies before its start {start}")
    rows: list[tuple[date, str, bool]] = []
    for year in range(start.year, end.year + 1):
        public = _public(year)
        rows.extend((d, n, False) for d, n in _atw(year).items() if d not in public)
        rows.extend((d, n, True) for d, n in public.items())
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_holidays (day DATE, holiday VARCHAR, "
                "public BOOLEAN)")
    if rows:
        con.executemany(f"INSERT INTO {name}_holidays VALUES (?, ?, ?)", rows)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {name} AS
        WITH d AS (
            SELECT CAST(range AS DATE) AS day
            FROM range(DATE '{start.isoformat()}', DATE '{end.isoformat()}' + INTERVAL 1 DAY,
                       INTERVAL 1 DAY)),
        f AS (
            SELECT d.day,
                   any_value(h.holiday) FILTER (WHERE h.public) AS holiday,
                   isodow(d.day) <= 5 AND count(h.day) FILTER (WHERE h.public) = 0
                       AS is_working_day,
                   isodow(d.day) <= 5 AND count(h.day) = 0 AS is_atw_day
            FROM d LEFT JOIN {name}_holidays h ON h.day = d.day
            GROUP BY d.day)
        SELECT day, holiday, is_working_day,
               CAST(sum(CAST(is_working_day AS INTEGER)) OVER (ORDER BY day) AS INTEGER)
                   AS working_day_index,
               is_atw_day,
               min(CASE WHEN is_atw_day THEN day END) OVER (
                   ORDER BY day ROWS BETWEEN CURRENT ROW AND 14 FOLLOWING) AS atw_end
        FROM f ORDER BY day
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {name}_workday AS
        SELECT working_day_index, day FROM {name} WHERE is_working_day
    """)
    con.execute(f"DROP TABLE {name}_holidays")
    return name


def local_date_sql(column: str) -> str:
    """SQL for the Europe/Amsterdam date of a TIMESTAMPTZ ``column`` (independent of the
    connection's TimeZone setting)."""
    return f"CAST(timezone('{TIMEZONE}', {column}) AS DATE)"
