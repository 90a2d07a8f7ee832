"""Working days with Dutch public holidays, local dates around the DST changes, dag N, and the
DuckDB calendar table agreeing with the Python functions day by day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import pytest

from miner.analysis.workdays import (
    add_working_days,
    atw_end,
    create_calendar,
    day_number,
    holiday_name,
    is_atw_day,
    is_working_day,
    local_date,
    local_date_sql,
    working_days_between,
)

D = date


@pytest.mark.parametrize(("day", "working", "name"), [
    (D(2021, 4, 27), False, "Koningsdag"),            # Tuesday
    (D(2025, 4, 26), False, "Koningsdag"),            # 27 April 2025 is a Sunday: the Saturday before
    (D(2025, 4, 28), True, None),                     # … and the Monday after is a normal day
    (D(2021, 4, 5), False, "Tweede paasdag"),         # Easter Monday
    (D(2021, 4, 2), False, "Goede vrijdag"),          # Good Friday: public in the package
    (D(2021, 12, 24), True, None),
    (D(2020, 12, 25), False, "Eerste kerstdag"),
    (D(2023, 12, 26), False, "Tweede kerstdag"),
    (D(2021, 1, 1), False, "Nieuwjaarsdag"),
    (D(2021, 5, 13), False, "Hemelvaartsdag"),        # Ascension
    (D(2021, 5, 14), True, None),                     # the Friday after is not a holiday
    (D(2021, 5, 24), False, "Tweede pinksterdag"),    # Whit Monday
    (D(2020, 5, 5), False, "Bevrijdingsdag"),         # lustrum year
    (D(2021, 5, 5), True, None),                      # not a lustrum year
    (D(2025, 5, 5), False, "Bevrijdingsdag"),
    (D(2021, 3, 27), False, None),                    # Saturday
    (D(2021, 3, 28), False, None),                    # Sunday
    (D(2021, 3, 29), True, None),
])
def test_working_days_and_public_holidays(day: date, working: bool, name: str | None) -> None:
    assert is_working_day(day) is working
    assert holiday_name(day) == name


@pytest.mark.parametrize(("day", "n", "expected"), [
    (D(2021, 4, 26), 1, D(2021, 4, 28)),      # over Koningsdag
    (D(2021, 4, 1), 1, D(2021, 4, 6)),        # Good Friday, weekend, Easter Monday
    (D(2021, 3, 26), 5, D(2021, 4, 6)),
    (D(2021, 12, 24), 1, D(2021, 12, 27)),    # Christmas 2021 on the weekend
    (D(2020, 12, 24), 1, D(2020, 12, 28)),    # Christmas 2020 on Friday and Saturday
    (D(2020, 12, 31), 1, D(2021, 1, 4)),      # New Year on Friday
    (D(2021, 5, 12), 1, D(2021, 5, 14)),      # Ascension
    (D(2021, 5, 21), 1, D(2021, 5, 25)),      # Whit Monday
    (D(2020, 5, 4), 1, D(2020, 5, 6)),        # Bevrijdingsdag 2020 is off …
    (D(2021, 5, 4), 1, D(2021, 5, 5)),        # … 2021 is not
    (D(2021, 4, 30), 1, D(2021, 5, 3)),       # weekend
    (D(2021, 5, 1), 1, D(2021, 5, 3)),        # from a Saturday
    (D(2021, 5, 1), -1, D(2021, 4, 30)),      # back from a Saturday
    (D(2021, 4, 28), -1, D(2021, 4, 26)),     # back over Koningsdag
    (D(2021, 4, 6), -2, D(2021, 3, 31)),      # back over Easter
    (D(2021, 5, 1), 0, D(2021, 5, 1)),
])
def test_add_working_days(day: date, n: int, expected: date) -> None:
    assert add_working_days(day, n) == expected


@pytest.mark.parametrize(("start", "end", "expected"), [
    (D(2021, 4, 26), D(2021, 4, 28), 1),      # Koningsdag does not count
    (D(2021, 4, 1), D(2021, 4, 6), 1),        # Good Friday to Easter Monday
    (D(2021, 12, 20), D(2022, 1, 3), 10),     # Christmas and New Year 2021/22 on weekends
    (D(2020, 12, 21), D(2021, 1, 4), 8),      # 25 Dec and 1 Jan 2020/21 on Fridays
    (D(2020, 5, 1), D(2020, 5, 8), 4),        # 5 May 2020 off
    (D(2021, 4, 30), D(2021, 5, 7), 5),       # 5 May 2021 a working day
    (D(2021, 5, 10), D(2021, 5, 25), 9),      # Ascension and Whit Monday
    (D(2021, 5, 7), D(2021, 5, 7), 0),
    (D(2021, 5, 8), D(2021, 5, 9), 0),        # a weekend
    (D(2021, 4, 28), D(2021, 4, 26), -1),
])
def test_working_days_between(start: date, end: date, expected: int) -> None:
    assert working_days_between(start, end) == expected


@pytest.mark.parametrize(("start", "day", "unit", "expected"), [
    (D(2021, 3, 1), D(2021, 3, 3), "days", 3),
    (D(2021, 3, 1), D(2021, 3, 1), "days", 1),
    (D(2021, 3, 26), D(2021, 3, 28), "days", 3),          # calendar days go over the weekend
    (D(2021, 3, 26), D(2021, 3, 29), "working_days", 2),  # Friday = dag 1, Monday = dag 2
    (D(2021, 3, 26), D(2021, 3, 27), "working_days", 1),  # a Saturday keeps Friday's number
    (D(2021, 3, 27), D(2021, 3, 29), "working_days", 1),  # start on Saturday: dag 1 on Monday
    (D(2021, 3, 27), D(2021, 3, 28), "working_days", 0),  # … the Sunday is before dag 1
    (D(2021, 4, 26), D(2021, 4, 28), "working_days", 2),  # Koningsdag skipped
    (D(2021, 4, 1), D(2021, 4, 9), "working_days", 5),    # Easter
])
def test_day_number(start: date, day: date, unit: str, expected: int) -> None:
    assert day_number(start, day, unit=unit) == expected


def test_day_number_rejects_an_unknown_unit() -> None:
    with pytest.raises(ValueError, match="weeks"):
        day_number(D(2021, 1, 1), D(2021, 1, 2), unit="weeks")


#: (UTC timestamp, local date): the DST changes of 2021 near midnight.
DST = [
    (datetime(2021, 3, 27, 22, 59, tzinfo=UTC), D(2021, 3, 27)),  # 23:59 CET, Saturday
    (datetime(2021, 3, 27, 23, 30, tzinfo=UTC), D(2021, 3, 28)),  # 00:30 CET, Sunday 28 March
    (datetime(2021, 3, 28, 21, 59, tzinfo=UTC), D(2021, 3, 28)),  # 23:59 CEST
    (datetime(2021, 3, 28, 22, 0, tzinfo=UTC), D(2021, 3, 29)),   # 00:00 CEST, Monday
    (datetime(2021, 10, 30, 21, 59, tzinfo=UTC), D(2021, 10, 30)),  # 23:59 CEST
    (datetime(2021, 10, 30, 22, 30, tzinfo=UTC), D(2021, 10, 31)),  # 00:30 CEST, Sunday
    (datetime(2021, 10, 31, 22, 59, tzinfo=UTC), D(2021, 10, 31)),  # 23:59 CET
    (datetime(2021, 10, 31, 23, 0, tzinfo=UTC), D(2021, 11, 1)),    # 00:00 CET, Monday
]


@pytest.mark.parametrize(("ts", "expected"), DST)
def test_a_utc_timestamp_becomes_a_local_date(ts: datetime, expected: date) -> None:
    assert local_date(ts) == expected


def test_sunday_28_march_2021_is_not_a_working_day_though_utc_says_saturday() -> None:
    ts = datetime(2021, 3, 27, 23, 30, tzinfo=UTC)
    assert not is_working_day(local_date(ts))
    # an application at 00:30 local on Sunday: dag 3 is Tuesday 30 March in calendar days
    assert day_number(local_date(ts), D(2021, 3, 30)) == 3


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        local_date(datetime(2021, 3, 27, 23, 30))


def test_atw_moves_a_term_end_off_weekends_and_feestdagen() -> None:
    assert atw_end(D(2021, 5, 5)) == D(2021, 5, 6)    # 5 May counts every year under the Atw
    assert is_working_day(D(2021, 5, 5)) and not is_atw_day(D(2021, 5, 5))
    assert atw_end(D(2021, 4, 2)) == D(2021, 4, 6)    # Goede Vrijdag, weekend, Easter Monday
    assert atw_end(D(2021, 12, 25)) == D(2021, 12, 27)
    assert atw_end(D(2021, 5, 7)) == D(2021, 5, 7)


@pytest.fixture(scope="module")
def calendar() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")  # the local date must not depend on it
    create_calendar(con, D(2019, 1, 1), D(2026, 12, 31))
    return con


def test_calendar_table_agrees_with_python_every_day(calendar: duckdb.DuckDBPyConnection) -> None:
    rows = calendar.execute("SELECT day, is_working_day, working_day_index, holiday, is_atw_day, "
                            "atw_end FROM nl_calendar ORDER BY day").fetchall()
    assert len(rows) == (D(2026, 12, 31) - D(2019, 1, 1)).days + 1
    previous = rows[0][2] - int(rows[0][1])
    for day, working, index, name, atw, end in rows:
        assert working is is_working_day(day), day
        assert name == holiday_name(day), day
        assert atw is is_atw_day(day), day
        assert end == atw_end(day), day
        assert index - previous == int(working), day  # the index counts working days
        previous = index
    assert rows[-1][2] - rows[0][2] == working_days_between(rows[0][0], rows[-1][0])


@pytest.mark.parametrize("n", [1, 2, 5, 8, 20])
def test_calendar_join_adds_working_days_like_python(calendar: duckdb.DuckDBPyConnection,
                                                     n: int) -> None:
    rows = calendar.execute(f"""
        SELECT c.day, w.day FROM nl_calendar c
        JOIN nl_calendar_workday w ON w.working_day_index = c.working_day_index + {n}
        WHERE c.day < DATE '2026-11-01' ORDER BY c.day""").fetchall()
    assert len(rows) > 2500
    for day, later in rows:
        assert later == add_working_days(day, n), (day, n)


@pytest.mark.parametrize(("ts", "expected"), DST)
def test_local_date_in_sql(calendar: duckdb.DuckDBPyConnection, ts: datetime,
                           expected: date) -> None:
    sql = f"SELECT {local_date_sql('t')}, is_working_day FROM (SELECT ?::TIMESTAMPTZ AS t) " \
          f"JOIN nl_calendar ON day = {local_date_sql('t')}"
    row = calendar.execute(sql, [ts]).fetchall()[0]
    assert row == (expected, is_working_day(expected))


def test_calendar_refuses_an_end_before_its_start() -> None:
    with pytest.raises(ValueError, match="before its start"):
        create_calendar(duckdb.connect(), D(2021, 1, 2), D(2021, 1, 1))


def test_a_long_range_has_every_year_s_holidays(calendar: duckdb.DuckDBPyConnection) -> None:
    counts = dict(calendar.execute(
        "SELECT year(day), count(*) FILTER (WHERE holiday IS NOT NULL AND isodow(day) <= 5) "
        "FROM nl_calendar GROUP BY 1").fetchall())
    # weekday holidays: 2020 has Bevrijdingsdag (Tuesday) and Christmas on Friday; in 2021
    # Christmas falls on the weekend and 5 May is a working day
    assert counts[2020] == 8 and counts[2021] == 6
