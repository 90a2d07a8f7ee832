"""Norm adherence on the simulated year against the simulator's ground truth (dag 2 medical check,
dag 3 aanmeldgehoor, RVT, decision term), the working-day AA norm against a row-by-row computation
with the Python working-day functions, the strict loader, periods, JSON and read-only use."""

from __future__ import annotations

import calendar
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from miner.analysis.norms import Norms, load_norms, norms
from miner.analysis.period import Period
from miner.analysis.workdays import add_working_days, atw_end, day_number, local_date
from miner.errors import SchemaError
from miner.ingest import PseudonymKey
from miner.model.log import Log, connect
from tests.conftest import KEY, Ingested

OPEN = {"open_in_time", "at_risk", "overdue"}


@dataclass(frozen=True)
class Year:
    log: Log
    result: Norms
    people: pd.DataFrame   # truth/foreigners.parquet with ``ws`` = the workspace foreigner id
    usable: dict[str, set[str]]  # activity id -> workspace foreigners with an unfaulted row of it
    hidden: dict[str, set[str]]  # activity id -> foreigners with a row of it the workspace lacks
    first: pd.DataFrame  # the true local date of each foreigner's first readable A01 and P02 row


@pytest.fixture(scope="module")
def year(ingested_year: Ingested) -> Iterator[Year]:
    log = connect(ingested_year.workspace)
    yield make_year(log, ingested_year.run.out / "truth", KEY)
    log.close()


def make_year(log: Log, truth: Path, key: PseudonymKey) -> Year:
    """The norms of a simulated year with its ground truth, by workspace foreigner id."""
    people = pd.read_parquet(truth / "foreigners.parquet")
    people["ws"] = ["vreemdeling:" + key.pseudonym("v_nummer", v) for v in people["v_nummer"]]
    ids = dict(zip(people["foreigner"], people["ws"], strict=True))
    rows = pd.read_parquet(truth / "rows.parquet",
                           columns=["file", "row", "foreigner", "activity", "fault", "time_local"])
    rows = rows[rows["foreigner"] >= 0]
    # a misspelt code leaves the event unmapped (activity_id NULL), and ingest quarantines a local
    # time that does not exist or happened twice (DST): the norms cannot see those steps
    quarantined = {(Path(loc).parent.name + "/" + Path(loc).name, int(row)) for loc, row in
                   log.con.execute("SELECT location, row FROM ingest_quarantine "
                                   "WHERE rule <> 'duplicate_row'").fetchall()}
    lost = (rows["fault"] == "misspelt_code") | pd.Series(
        [(f, r) in quarantined for f, r in zip(rows["file"], rows["row"], strict=True)],
        index=rows.index)
    ok, bad = rows[~lost], rows[lost]
    usable = {a: {ids[f] for f in g["foreigner"]} for a, g in ok.groupby("activity")}
    hidden = {a: {ids[f] for f in g["foreigner"]} for a, g in bad.groupby("activity")}
    starts = ok[ok["activity"].isin(["A01", "P02"])]
    first = starts.groupby(["foreigner", "activity"])["time_local"].min().unstack()
    first = first.apply(lambda col: pd.to_datetime(col).dt.date)
    first.index = [ids[f] for f in first.index]
    return Year(log, norms(log, cases=True), people.set_index("ws"), usable, hidden, first)


def _statuses(year: Year, norm_id: str) -> dict[str, str]:
    return {c.foreigner: c.status for c in year.result.get(norm_id).cases}


def _by_status(statuses: dict[str, str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for foreigner, status in statuses.items():
        out.setdefault(status, set()).add(foreigner)
    return out


@pytest.mark.slow
def test_aanmeldgehoor_on_dag_3_equals_the_truth(year: Year) -> None:
    got = _statuses(year, "aanmeldgehoor_dag_3")
    cases = year.usable["A01"]
    assert set(got) == cases
    heard = year.people.loc[sorted(cases & year.usable["A14"]), "hearing_day"]
    assert heard.notna().all()
    groups = _by_status(got)
    assert groups["met"] == set(heard.index[heard == 3])
    assert groups["late"] == set(heard.index[heard > 3])
    assert "early" not in groups and "ended_without" not in groups
    assert groups["at_risk"] | groups["overdue"] == cases - set(heard.index)
    # the phenomenon count: INDiGO AG date - AANM-REG date + 1 != 3, less the unreadable rows
    result = year.result.get("aanmeldgehoor_dag_3")
    assert result.counts.late == int((heard != 3).sum())
    assert result.counts.met_share == pytest.approx(float((heard == 3).mean()))
    lateness = Counter(c.lateness for c in result.cases if c.status == "late")
    assert lateness == Counter((heard[heard > 3] - 3).astype(int).tolist())


@pytest.mark.slow
def test_medical_check_on_dag_2_equals_the_truth(year: Year) -> None:
    groups = _by_status(_statuses(year, "medische_check_dag_2"))
    cases = year.usable["A01"]
    p = year.people.loc[sorted(cases)]
    checked = p.index.isin(sorted(year.usable["A12"]))
    assert groups["met"] == set(p.index[checked & ~p["dev_late_medical"]])
    assert groups["late"] == set(p.index[checked & p["dev_late_medical"]])
    # regietafel 2 without a (readable) check: the planted skips plus the unreadable MED-COL rows
    skipped = set(p.index[p["dev_skipped_medical"]]) & year.usable["A15"]
    assert skipped <= groups["ended_without"]
    assert groups["ended_without"] - skipped == (year.usable["A15"] & cases) - year.usable[
        "A12"] - skipped
    assert len(skipped) > 400 and len(groups["late"]) > 10_000


@pytest.mark.slow
def test_rvt_of_six_days_equals_the_truth(year: Year) -> None:
    groups = _by_status(_statuses(year, "rvt_minimaal_6_dagen"))
    p = year.people.loc[sorted(year.usable["A01"])]
    spoor4 = set(p.index[p["spoor"] == "spoor4"])
    started = spoor4 & year.usable["P02"]
    assert groups["met"] == started and "early" not in groups
    assert groups["open_in_time"] == spoor4 - started
    # a stricter variant (at least 60 days) splits the same cases by the true local dates
    rvt = next(n for n in load_norms() if n.id == "rvt_minimaal_6_dagen")
    strict = norms(year.log, definitions=(replace(rvt, limit=60),), cases=True)
    got = _by_status({c.foreigner: c.status for c in strict.norms[0].cases})
    first = year.first.loc[sorted(started)]
    days = pd.Series([(b - a).days for a, b in zip(first["A01"], first["P02"], strict=True)],
                     index=first.index)
    assert got["early"] == set(days.index[days < 60])
    assert got["met"] == set(days.index[days >= 60])
    assert len(got["early"]) > 100 and len(got["met"]) > 100
    assert Counter(c.earliness for c in strict.norms[0].cases if c.status == "early") == Counter(
        (60 - days[days < 60]).tolist())


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@pytest.mark.slow
def test_decision_term_equals_the_truth(year: Year) -> None:
    cases = {c.foreigner: c for c in year.result.get("beslistermijn_6_maanden").cases}
    deciders = ("P08", "X13", "X14", "X15", "X16")
    p = year.people.loc[sorted(year.usable["A01"])]
    # leave out people whose decision row the workspace lacks (the norm waits for a later one)
    hidden = set().union(*(year.hidden.get(a, set()) for a in deciders))
    readable = [f for f in p.index if f not in hidden]
    checked: Counter[str] = Counter()
    decisions = p["decision_time"].to_dict()
    applied = year.first["A01"].to_dict()
    for f in readable:
        case = cases[f]
        start = date.fromisoformat(case.start)
        assert start == applied[f]
        deadline = atw_end(_add_months(start, 6))
        assert case.deadline == deadline.isoformat()
        if decisions[f]:
            decided = date.fromisoformat(decisions[f][:10])
            expected = "met" if decided <= deadline else "late"
            assert (case.status, case.lateness) == (
                expected, (decided - deadline).days if expected == "late" else None), f
        else:
            assert case.status in OPEN, f
        checked[case.status] += 1
    assert checked["met"] > 5000 and checked["late"] > 5000 and len(readable) > 0.98 * len(p)


@pytest.mark.slow
def test_aa_in_8_working_days_equals_a_row_by_row_count(year: Year) -> None:
    """The set-wise working-day arithmetic in SQL against the Python functions, case by case."""
    result = year.result.get("aa_binnen_8_werkdagen")
    as_of = datetime.fromisoformat(year.result.as_of)
    rows = year.log.con.execute("""
        SELECT j.foreigner, j.ts, j.activity_id, r.value_string FROM journey j
        LEFT JOIN event_attributes r ON r.event_id = j.event_id AND r.name = 'resultaat'
        WHERE j.activity_id IN ('P02', 'P06', 'P08', 'U01', 'X16') AND j.ts <= ?
        ORDER BY j.ts, j.seq""", [as_of]).fetchall()
    start: dict[str, datetime] = {}
    for f, ts, act, _ in rows:
        if act == "P02":
            start.setdefault(f, ts)
    stop: dict[str, datetime] = {}
    ended: set[str] = set()
    for f, ts, act, res in rows:
        if f in start and ts >= start[f]:
            if act == "P08" or (act == "P06" and res == "va"):
                stop.setdefault(f, ts)
            elif act in ("U01", "X16"):
                ended.add(f)
    expected = {}
    today = local_date(as_of)
    for f, ts in start.items():
        first = local_date(ts)
        if f in stop:
            dag = day_number(first, local_date(stop[f]), unit="working_days")
            expected[f] = ("met", None) if dag <= 8 else ("late", dag - 8)
        elif f in ended:
            expected[f] = ("ended_without", None)
        else:
            dag9 = add_working_days(first, 9 - (day_number(first, first, unit="working_days")))
            last = dag9 - timedelta(days=1)
            status = ("overdue" if last < today else "at_risk"
                      if last <= today + timedelta(days=2) else "open_in_time")
            expected[f] = (status, None)
    got = {c.foreigner: (c.status, c.lateness) for c in result.cases}
    assert got == expected
    assert result.counts.late > 20 and result.counts.met > 10_000
    assert result.lateness.count == result.counts.late


@pytest.mark.slow
def test_va_term_extensions_follow_the_cases(year: Year) -> None:
    result = year.result.get("va_maximaal_6_maanden")
    within = 0
    for c in result.cases:
        if c.status == "late":
            assert c.deadline is not None and c.lateness is not None
            decided = date.fromisoformat(c.deadline) + timedelta(days=c.lateness)
            start = date.fromisoformat(c.start)
            assert date.fromisoformat(c.deadline) == atw_end(_add_months(start, 6))
            within += decided <= atw_end(_add_months(start, 18))
    assert [(e.limit, e.late_within) for e in result.extensions] == [(18, within)]
    assert result.counts.late > 100 and result.counts.in_scope > 1000


@pytest.mark.slow
def test_months_and_periods_partition_the_cases(year: Year) -> None:
    march = norms(year.log, period=Period.parse("2021-03"))
    assert march.period == "2021-03"
    for n in year.result.norms:
        total = n.counts
        for field in ("in_scope", "met", "late", "early", "ended_without", "open_in_time",
                      "at_risk", "overdue"):
            assert sum(getattr(m.counts, field) for m in n.by_month) == getattr(total, field)
        assert total.in_scope == len(n.cases)
        month = {m.month: m.counts for m in n.by_month}
        assert march.get(n.id).counts == month["2021-03"], n.id
        assert [m.month for m in march.get(n.id).by_month] == ["2021-03"]
    assert year.result.get("aanmeldgehoor_dag_3").counts.in_scope > 30_000


@pytest.mark.slow
def test_at_risk_and_overdue_at_an_earlier_reference_time(year: Year) -> None:
    as_of = datetime(2021, 6, 15, 10, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))  # a Tuesday
    earlier = norms(year.log, as_of=as_of, cases=True)
    assert earlier.as_of == "2021-06-15T08:00:00+00:00"
    result = earlier.get("aanmeldgehoor_dag_3")
    rows = year.log.con.execute("""
        SELECT foreigner, min(ts) FILTER (WHERE activity_id = 'A01'),
               min(ts) FILTER (WHERE activity_id = 'A14')
        FROM journey WHERE activity_id IN ('A01', 'A14') AND ts <= ? GROUP BY 1""",
                                [as_of]).fetchall()
    today = local_date(as_of)
    expected = {}
    for f, applied, heard in rows:
        if applied is None:
            continue
        if heard is not None and heard >= applied:
            expected[f] = "met" if day_number(local_date(applied), local_date(heard)) == 3 else "late"
            continue
        last = local_date(applied) + timedelta(days=2)   # dag 3
        expected[f] = ("overdue" if last < today else
                       "at_risk" if last <= today + timedelta(days=1) else "open_in_time")
    got = {c.foreigner: c.status for c in result.cases}
    assert got == expected
    counts = Counter(got.values())
    assert counts["at_risk"] > 50 and counts["overdue"] > 50 and counts["open_in_time"] > 10
    assert result.counts.at_risk == counts["at_risk"]


@pytest.mark.slow
def test_json_round_trip_and_the_workspace_is_unchanged(year: Year) -> None:
    tables = [t for (t,) in year.log.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()]
    before = {t: year.log.con.execute(f'SELECT count(*) FROM "{t}"').fetchall() for t in tables}
    again = norms(year.log, cases=True)
    after = {t: year.log.con.execute(f'SELECT count(*) FROM "{t}"').fetchall() for t in tables}
    assert before == after and len(tables) > 5
    assert again == year.result
    data = json.loads(json.dumps(again.to_dict()))
    assert data["schema_version"] == 1 and data["kind"] == "norms"
    assert Norms.from_dict(data) == again
    light = norms(year.log, period=Period.parse("2021-T2"))
    assert Norms.from_dict(json.loads(json.dumps(light.to_dict()))) == light
    assert all(n.cases == () for n in light.norms)
    assert norms(year.log, definitions=()).norms == ()


# ------------------------------------------------------------------------------------- the loader

VALID = """
schema_version = 1
[[norm]]
id = "x"
label = "X"
description = "d"
from = ["A01"]
to = [{ activity = "A14", where = { resultaat = ["aanmeldgehoor"] } }]
limit = 3
unit = "days"
comparison = "on_day"
at_risk_days = 1
seed = "000:1"
"""


def test_the_shipped_norms_load() -> None:
    shipped = {n.id: n for n in load_norms()}
    assert set(shipped) == {"medische_check_dag_2", "aanmeldgehoor_dag_3", "rvt_minimaal_6_dagen",
                            "aa_binnen_8_werkdagen", "beslistermijn_6_maanden",
                            "va_maximaal_6_maanden"}
    assert shipped["rvt_minimaal_6_dagen"].scope == (("spoor", ("Spoor 4",)),)
    assert shipped["beslistermijn_6_maanden"].dated_limits[0].limit == 15
    assert shipped["aa_binnen_8_werkdagen"].unit == "working_days"
    assert all(n.seed for n in shipped.values())


def test_a_valid_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "n.toml"
    path.write_text(VALID, encoding="utf-8")
    (norm,) = load_norms(path)
    assert norm.stop[0].where == (("resultaat", ("aanmeldgehoor",)),)


@pytest.mark.parametrize(("old", "new", "message"), [
    ('unit = "days"', 'unit = "weeks"', "key 'norm[0].unit' is 'weeks'. Allowed: 'days'"),
    ('limit = 3', 'limt = 3', "key 'norm[0].limt' is unknown.*Did you mean 'norm[0].limit'"),
    ('limit = 3', 'limit = "3"', "key 'norm[0].limit' is '3'.*whole numbe"),
    ('limit = 3', 'limit = 0', "key 'norm[0].limit' is 0"),
    ('from = ["A01"]', 'from = ["A1"]', "key 'norm[0].from[0]' names activity 'A1'"),
    ('from = ["A01"]', 'from = []', "key 'norm[0].from' is []"),
    ('activity = "A14"', 'activty = "A14"', "key 'norm[0].to[0].activty' is unknown"),
    ('resultaat = ["aanmeldgehoor"]', 'resultaat = [1]', "norm[0].to[0].where.resultaat"),
    ('unit = "days"', 'unit = "months"', "key 'norm[0].comparison' is 'on_day' with unit"),
    ('seed = "000:1"', 'seed = ""', "key 'norm[0].seed' is ''"),
    ('seed = "000:1"', '', "key 'norm[0].seed' is missing"),
    ('at_risk_days = 1', 'at_risk_days = 1\nextensions = [2]', "norm[0].extensions[0]' is 2"),
    ('at_risk_days = 1', 'at_risk_days = 1\natw = "yes"', "key 'norm[0].atw' is 'yes'"),
    ('at_risk_days = 1', 'at_risk_days = 1\nscope = ["Spoor 4"]', "key 'norm[0].scope'"),
    ('at_risk_days = 1',
     'at_risk_days = 1\ndated_limits = [{ from = 2022-01-01, until = 2021-01-01, limit = 9 }]',
     "norm[0].dated_limits[0].until"),
    ('at_risk_days = 1',
     'at_risk_days = 1\ndated_limits = [{ from = "2022", until = 2023-01-01, limit = 9 }]',
     "norm[0].dated_limits[0].from' is '2022'"),
    ('schema_version = 1', 'schema_version = 2', "key 'schema_version' is 2"),
    ('schema_version = 1', 'schema_version = 1\nnorms = 1', "key 'norms' is unknown"),
    ('id = "x"', 'id = "x y"', "key 'norm[0].id' is 'x y'"),
])
def test_a_broken_file_names_the_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in VALID
    path = tmp_path / "broken.toml"
    path.write_text(VALID.replace(old, new, 1), encoding="utf-8")
    pattern = ".*".join(re.escape(part) for part in message.split(".*"))
    with pytest.raises(SchemaError, match=pattern) as info:
        load_norms(path)
    assert str(path) in str(info.value)


def test_repeated_ids_and_bad_toml(tmp_path: Path) -> None:
    path = tmp_path / "twice.toml"
    path.write_text(VALID + VALID.split("\n", 2)[2], encoding="utf-8")
    with pytest.raises(SchemaError, match=r"key 'norm\[1\].id' repeats 'x'"):
        load_norms(path)
    path.write_text("schema_version = ", encoding="utf-8")
    with pytest.raises(SchemaError, match="not valid TOML"):
        load_norms(path)
