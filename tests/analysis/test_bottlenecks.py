"""Bottlenecks (waiting before each step, ranking, weekly flows, Little's law) and the daily stock, on
the simulated default year against the simulator's ground truth.

The simulator plants four capacities (docs/simulation.md, miner/data/scenarios/default.toml): the
Politie I&R street quota (its queue: the wait before A02), the IND aanmeldgehoor capacity (the wait
before A13/A14), the IND AA planning capacity with the pol places (the wait before R03, and pre-pol
before R04) and the gemeenten housing rate (the wait before U02). Ranked by the waiting days they add
to the lead time in 2021, the AA planning (R03) and the housing (U02) queues are the top two, far
ahead of the rest; third is the court's beroep (X17), a planted duration, not a capacity; the
aanmeldfase capacities cost hours per foreigner and rank low (figures in docs/analyses/bottlenecks.md).
The capacities show plainly in the weekly completions, which these tests check against the scenario.
"""

from __future__ import annotations

import calendar
import json
import shutil
import statistics
import time
import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from miner.analysis.bottlenecks import Bottlenecks, bottlenecks
from miner.analysis.journey import create_journey
from miner.analysis.period import Period
from miner.analysis.stock import Stock, drop_intervals, stock
from miner.errors import MinerError
from miner.model.log import Log, connect
from miner.model.schema import CANONICAL_TABLES
from tests.conftest import Ingested

YEAR = Period.parse("2021")


@pytest.fixture(scope="module")
def year_log(ingested_year: Ingested) -> Iterator[Log]:
    log = connect(ingested_year.workspace, read_only=True)
    yield log
    log.close()


@pytest.fixture(scope="module")
def result(year_log: Log) -> Bottlenecks:
    return bottlenecks(year_log, period=YEAR)


@pytest.fixture(scope="module")
def scenario() -> dict[str, Any]:
    text = (resources.files("miner") / "data" / "scenarios" / "default.toml").read_text("utf-8")
    return tomllib.loads(text)


def _truth_waits(log: Log, truth: Path) -> pd.DataFrame:
    """Waiting time before each step from the ground truth: every export row's true time and true
    person (truth/rows.parquet), less the rows the ingest could not use (duplicates, missing,
    impossible or DST-ambiguous times: ingest_quarantine); a row with a misspelt code is an event
    but no step. Per step: waits ending in 2021, and their waiting days inside 2021."""
    quarantined = log.con.execute(
        "SELECT location, row FROM ingest_quarantine").df()
    con = duckdb.connect()
    try:
        con.register("quarantined", quarantined)
        con.execute(f"""
            CREATE TABLE r AS
            SELECT foreigner, activity, fault,
                   timezone('Europe/Amsterdam', strptime(time_local, '%Y-%m-%dT%H:%M')) AS ts
            FROM read_parquet('{truth / "rows.parquet"}') t
            WHERE foreigner >= 0 AND NOT EXISTS (
                SELECT 1 FROM quarantined q WHERE q.row = t.row AND q.location LIKE '%' || t.file)
        """)
        lo, hi = (f"'{t.isoformat()}'::TIMESTAMPTZ" for t in (YEAR.start_utc, YEAR.end_utc))
        return con.execute(f"""
            WITH w AS (
                SELECT activity, fault, ts, max(ts) OVER (
                    PARTITION BY foreigner ORDER BY ts
                    RANGE BETWEEN UNBOUNDED PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING) AS prev
                FROM r)
            SELECT activity, count(*) FILTER (WHERE ts >= {lo} AND ts < {hi}) AS waits,
                   sum(greatest(0, epoch(least(ts, {hi})) - epoch(greatest(prev, {lo})))) / 86400
                       AS wait_days,
                   median(epoch(ts) - epoch(prev)) FILTER (WHERE ts >= {lo} AND ts < {hi}) / 86400
                       AS median_days
            FROM w WHERE prev IS NOT NULL AND fault <> 'misspelt_code' GROUP BY activity
        """).df().set_index("activity")
    finally:
        con.close()


@pytest.mark.slow
def test_aa_planning_and_housing_capacities_top_the_ranking(result: Bottlenecks) -> None:
    top = [s.activity_id for s in result.steps[:3]]
    # U02: waiting for a home from a gemeente; R03: waiting to be planned for the AA
    assert top[:2] == ["U02", "R03"]
    assert result.steps[1].wait_days > 2 * result.steps[2].wait_days
    assert result.steps[0].share_of_lead_time + result.steps[1].share_of_lead_time > 0.3
    assert [s.rank for s in result.steps] == list(range(1, len(result.steps) + 1))
    assert all(a.wait_days >= b.wait_days for a, b in zip(result.steps, result.steps[1:]))
    assert result.ranking == tuple(s.activity for s in result.steps)
    # shares are of the foreigners' summed lead time; the waits add up to about that (two steps at
    # one moment share one wait, the end of a stay ends no wait)
    assert 0.95 < sum(s.wait_days for s in result.steps) / result.lead_time_days < 1.01
    assert abs(sum(s.share_of_lead_time for s in result.steps)
               - sum(s.wait_days for s in result.steps) / result.lead_time_days) < 1e-9


@pytest.mark.slow
def test_waiting_times_equal_the_ground_truth(
    result: Bottlenecks, year_log: Log, ingested_year: Ingested
) -> None:
    truth = _truth_waits(year_log, ingested_year.run.out / "truth")
    # steps no stay end precedes (the truth rows hold a COA stay's start, not its end): exact
    for step_id in ("R03", "X17", "X16", "P01", "A02", "A13", "A14", "P02", "R04", "X02", "X13"):
        step, expected = result.step(step_id), truth.loc[step_id]
        assert abs(step.waits - expected.waits) <= max(3, 0.001 * expected.waits), step_id
        assert step.wait_days == pytest.approx(expected.wait_days, rel=0.002), step_id
        assert step.wait_median_days == pytest.approx(expected.median_days, abs=0.01), step_id
    # all steps: within 5 % (the DT&V steps after a reception stay ends start their wait later)
    for step in result.steps:
        if step.activity_id in truth.index and step.wait_days > 1000:
            assert step.wait_days == pytest.approx(truth.loc[step.activity_id].wait_days,
                                                   rel=0.05), step.activity_id


@pytest.mark.slow
def test_housing_wait_equals_the_truths_permit_wait(
    result: Bottlenecks, ingested_year: Ingested
) -> None:
    people = pd.read_parquet(ingested_year.run.out / "truth" / "foreigners.parquet")
    housed = people[people["housed"].fillna(False).astype(bool)]
    # a stay whose end the COA did not record has no outflow event (U02) in the log
    recorded = housed[housed["f_coa_missing_end"].fillna(0) == 0]
    step = result.step("U02")
    assert abs(step.waits - len(recorded)) <= 5
    # the truth counts the initial permit holders' wait from the start of the year, as the period does
    assert step.wait_days == pytest.approx(recorded["permit_wait_days"].sum(), rel=0.002)


@pytest.mark.slow
def test_capacities_show_in_weekly_completions(
    result: Bottlenecks, scenario: dict[str, Any]
) -> None:
    def completions(step_id: str) -> list[int]:
        label = result.step(step_id).activity
        return [w.completions for w in result.weekly if w.activity == label]

    housing = float(scenario["gemeenten"]["housing_per_week"])
    aa_starts = 5 * float(scenario["aa"]["starts_per_workday"])
    ir_week = 7 * sum(scenario["aanmeld"]["ir_quota"].values())
    # the gemeenten offer homes at a fixed rate (3 % of the outflows lack their COA end date)
    assert 0.93 * housing <= statistics.median(completions("U02")) <= housing
    # the IND plans its AA starts per week; the queue never runs dry
    assert statistics.median(completions("R03")) == pytest.approx(aa_starts, rel=0.02)
    assert max(completions("R03")) <= aa_starts
    # the I&R streets take at most their daily quota
    assert max(completions("A02")) <= ir_week
    assert statistics.median(completions("A02")) >= 0.9 * ir_week
    # AA day 1 follows the planning: the same capacity
    assert max(completions("P02")) <= aa_starts
    weeks = {w.week for w in result.weekly}
    assert "2021-W01" in weeks and "2021-W52" in weeks and "2020-W53" in weeks
    for w in result.weekly:
        assert w.net == w.arrivals - w.completions


@pytest.mark.slow
def test_littles_law_on_steady_steps(result: Bottlenecks, year_log: Log) -> None:
    little = {(c.activity, c.interval): c for c in result.little}
    steady = [("X01", "stay"), ("A02", "wait"), ("A13", "wait"), ("A14", "wait"), ("A10", "wait"),
              ("P02", "wait"), ("P04", "wait"), ("R05", "wait"), ("V03", "wait"), ("V09", "wait"),
              ("X12", "wait")]
    for step_id, kind in steady:
        check = little[(result.step(step_id).activity, kind)]
        assert check.ratio == pytest.approx(1.0, abs=0.05), (step_id, check)
        assert check.throughput_x_mean == pytest.approx(
            check.throughput_per_day * (check.mean_days or 0.0))
    # queues that began before the period: their mean wait counts months outside it
    for step_id in ("U02", "R03"):
        check = little[(result.step(step_id).activity, "wait")]
        assert check.ratio is not None and check.ratio < 0.7
    # L is the mean number in the step: the daily stock of the stock analysis averages to it
    daily = stock(year_log, period=YEAR, by="activity")
    for step_id, kind in (("R04", "stay"), ("U02", "wait"), ("R03", "wait")):
        label = result.step(step_id).activity
        mean = sum(daily.series(label).values()) / 365
        assert mean == pytest.approx(little[(label, kind)].stock, rel=0.01), step_id


def _month_ends() -> list[str]:
    return [f"2021-{m:02d}-{calendar.monthrange(2021, m)[1]:02d}" for m in range(1, 13)]


def _kmi(log: Log, indicator: str) -> dict[tuple[str, str], float]:
    rows = log.con.execute(
        "SELECT period, category, value FROM chain_figures WHERE indicator = ?", [indicator])
    return {(p, c): v for p, c, v in rows.fetchall()}


@pytest.mark.slow
def test_permit_holders_in_azc_equal_kmi(year_log: Log, ingested_year: Ingested) -> None:
    result = stock(year_log, period=YEAR, by="permit_holders")
    (key,) = {r.key for r in result.rows}
    series = result.series(key)
    kmi = _kmi(year_log, "Vergunninghouders in azc")
    # the KMI+ stock is the simulator's own count of permit holders waiting in azc (the truth)
    raw = pd.read_csv(ingested_year.run.out / "kmi" / "kmi_maandcijfers.csv", sep=";")
    raw = raw[raw["Indicator"] == "Vergunninghouders in azc"]
    assert dict(zip(raw["Periode"], raw["Waarde"])) == {p: v for (p, _), v in kmi.items()}
    for day in _month_ends():
        expected = kmi[(day[:7], "totaal")]
        # stays with an end reason but no end date are left out (3 % of the housed in January)
        assert series[day] == pytest.approx(expected, rel=0.04), day
        assert series[day] <= expected
    assert series["2021-12-31"] == pytest.approx(kmi[("2021-12", "totaal")], rel=0.01)


@pytest.mark.slow
def test_coa_stock_per_modality_equals_kmi(year_log: Log) -> None:
    result = stock(year_log, period=YEAR, by="modality")
    kmi = _kmi(year_log, "Bezetting COA")
    modalities = {c for _, c in kmi}
    assert modalities <= {r.key for r in result.rows}
    for day in _month_ends():
        for modality in modalities:
            expected = kmi[(day[:7], modality)]
            found = result.series(modality).get(day, 0)
            assert abs(found - expected) <= max(10, 0.04 * expected), (day, modality)
    assert result.unknown_end > 0


@pytest.mark.slow
def test_pre_pol_daily_stock_equals_a_direct_count(year_log: Log, ingested_year: Ingested) -> None:
    """The COA export row by row with the true person and start (truth/rows.parquet); an end the
    COA did not record is the start of the person's next stay; rows the ingest quarantined (DST)
    are left out, and so are last stays that ended at an unknown time."""
    out = ingested_year.run.out
    export = pd.read_csv(out / "coa" / "bewonersregistratie.csv", dtype=str, keep_default_na=False)
    export["row"] = range(1, len(export) + 1)
    rows = pd.read_parquet(out / "truth" / "rows.parquet")
    rows = rows[rows["file"] == "coa/bewonersregistratie.csv"]
    quarantined = {r for (r,) in year_log.con.execute(
        "SELECT row FROM ingest_quarantine WHERE source = 'coa'").fetchall()}
    stays = rows.merge(export, on="row")
    stays = stays[~stays["row"].isin(quarantined)].copy()
    stays["start"] = pd.to_datetime(stays["time_local"])
    stays["end"] = pd.to_datetime(stays["einddatum"].replace("", None))
    stays = stays.sort_values(["foreigner", "start"])
    stays["end"] = stays["end"].fillna(stays.groupby("foreigner")["start"].shift(-1))
    stays = stays[~(stays["end"].isna() & (stays["reden_einde"] != ""))]
    pre_pol = stays[stays["modaliteit"] == "pre-pol"]
    first, last = pre_pol["start"].dt.normalize(), pre_pol["end"].dt.normalize()
    expected = {}
    for day in pd.date_range("2021-01-01", "2021-12-31"):
        count = int(((first <= day) & (last.isna() | (last > day))).sum())
        if count:
            expected[day.date().isoformat()] = count
    assert sum(expected.values()) > 30_000
    assert stock(year_log, period=YEAR, by="modality").series("pre-pol") == expected
    assert stock(year_log, period=YEAR, by="activity").series("Verblijf in pre-pol") == expected


@pytest.mark.slow
def test_stock_by_location_and_modality_count_the_same_stays(year_log: Log) -> None:
    def totals(result: Stock) -> dict[str, int]:
        found: dict[str, int] = {}
        for r in result.rows:
            found[r.day] = found.get(r.day, 0) + r.count
        return found

    month = Period.parse("2021-06")
    by_location = stock(year_log, period=month, by="location")
    by_modality = stock(year_log, period=month, by="modality")
    assert totals(by_location) == totals(by_modality)
    assert len(totals(by_location)) == 30
    assert any(r.key.startswith("pre-pol ") for r in by_location.rows)
    assert (by_location.first_day, by_location.last_day) == ("2021-06-01", "2021-06-30")


@pytest.mark.slow
def test_json_round_trip(result: Bottlenecks, year_log: Log) -> None:
    data = json.loads(json.dumps(result.to_dict()))
    assert data["kind"] == "bottlenecks" and data["schema_version"] == 1
    assert Bottlenecks.from_dict(data) == result
    for by in ("activity", "location", "modality", "permit_holders"):
        daily = stock(year_log, period=Period.parse("2021-03"), by=by)
        data = json.loads(json.dumps(daily.to_dict()))
        assert data["kind"] == "stock" and data["schema_version"] == 1
        assert Stock.from_dict(data) == daily


@pytest.mark.slow
def test_inputs_not_mutated_and_fast(ingested_year: Ingested, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    shutil.copy(ingested_year.workspace, copy)
    log = connect(copy)  # writable: the analysis could change it, and must not
    try:
        def counts() -> dict[str, int]:
            return {t: log.count(t) for t in CANONICAL_TABLES}

        before = counts()
        create_journey(log)  # shared by all chain analyses of a connection: not timed here
        started = time.process_time()
        first = bottlenecks(log, period=YEAR)
        cold = time.process_time() - started
        started = time.process_time()
        daily = stock(log, period=YEAR)
        warm = time.process_time() - started
        assert counts() == before
        # CPU seconds (all threads): wall time on a shared machine says little. Measured 2.0 s
        # cold, 0.5 s warm (docs/analyses/bottlenecks.md); the bound leaves slack for load.
        assert cold < 4.0 and warm < 1.5, (cold, warm)
        # the cached intervals give what a fresh build gives ...
        drop_intervals(log)
        assert bottlenecks(log, period=YEAR) == first
        assert stock(log, period=YEAR) == daily
        # ... and are rebuilt when the workspace changes
        outflow = first.step("U02").activity
        log.con.execute("DELETE FROM events WHERE event_type = ?", [outflow])
        assert outflow not in bottlenecks(log, period=YEAR).ranking
    finally:
        log.close()


def test_unknown_grouping_is_refused() -> None:
    log = connect()
    try:
        with pytest.raises(MinerError, match="choose one of activity, location, modality"):
            stock(log, by="nationality")  # type: ignore[arg-type]
    finally:
        log.close()


@pytest.mark.slow
def test_planted_capacities_are_capacity_bound_at_their_ceiling(
    result: Bottlenecks, scenario: dict[str, Any]
) -> None:
    """The capacity view (docs/analyses/bottlenecks.md): each planted capacity is flagged, with a
    ceiling within 5 % of the scenario's figure in the unit the capacity works in."""
    aanmeld = scenario["aanmeld"]
    housing = scenario["gemeenten"]["housing_per_week"]
    planted = {
        # gemeenten: 170 offers a week, 34 each working day (the U02 follows the offer)
        "U02": ("ceiling_per_week", housing),
        # IND AA planning: 54 starts a working day, planned in one weekly run (R03)
        "R03": ("ceiling_per_week", 5 * scenario["aa"]["starts_per_workday"]),
        # Politie I&R: 30 + 30 a day, every day
        "A02": ("ceiling_per_day", sum(aanmeld["ir_quota"].values())),
        # IND aanmeldgehoor: 60 + 60 a working day (A13 is recorded just before the hearing)
        "A14": ("ceiling_per_day", sum(aanmeld["hearing_capacity"].values())),
        "A13": ("ceiling_per_day", sum(aanmeld["hearing_capacity"].values())),
    }
    for step_id, (unit, capacity) in planted.items():
        c = result.capacity_of(step_id)
        assert c.bound, c
        assert getattr(c, unit) == pytest.approx(capacity, rel=0.05), c
        assert getattr(c, unit) <= capacity, c
    assert result.capacity_of("U02").ceiling_per_day == housing / 5
    assert result.capacity_of("R03").active_days == 52  # one planning run a week
    # the AA days are paced by the same planning capacity: 54 a working day
    assert result.capacity_of("P02").ceiling_per_day == scenario["aa"]["starts_per_workday"]


@pytest.mark.slow
def test_steps_without_a_capacity_are_not_capacity_bound(result: Bottlenecks) -> None:
    # X17: the court's planted duration, not a capacity; A01: registration follows arrivals
    for step_id in ("X17", "A01"):
        c = result.capacity_of(step_id)
        assert not c.bound, c
        assert c.median_per_day < 0.7 * c.ceiling_per_day
        assert c.days_with_queue_share > 0.9  # work waits in front of them, but not for capacity
    # A03 runs at the I&R quota's pace, but nobody waits for it
    a03 = result.capacity_of("A03")
    assert not a03.bound and a03.days_with_queue_share < 0.1
    bound = {c.activity_id for c in result.capacity if c.bound}
    assert bound <= {"U02", "R03", "R08", "A02", "A13", "A14", "P01", "P02", "P03", "P04", "P05",
                     "P06"}
    ranks = [c.rank for c in result.capacity]
    assert ranks == sorted(ranks) and result.capacity[0].activity_id == "U02"


@pytest.mark.slow
def test_capacity_view_equals_a_direct_count(result: Bottlenecks, year_log: Log) -> None:
    """The completions per day from the journey itself, and the queue from the daily stock."""
    daily = year_log.con.execute("""
        SELECT activity_id, CAST(timezone('Europe/Amsterdam', ts) AS DATE) AS day, count(*) AS n
        FROM journey
        WHERE activity_id IN ('A02', 'A14', 'U02', 'X17') AND ts >= ? AND ts < ?
        GROUP BY ALL""", [YEAR.start_utc, YEAR.end_utc]).df()
    queue = stock(year_log, period=YEAR, by="activity")
    for step_id, days in daily.groupby("activity_id"):
        c = result.capacity_of(str(step_id))
        counts = days["n"].astype(float)
        assert c.active_days == len(days)
        assert c.ceiling_per_day == pytest.approx(counts.quantile(0.95))
        assert c.median_per_day == counts.median()
        series = queue.series(c.activity)
        waiting = sum(1 for d in days["day"] if series.get(f"{d:%Y-%m-%d}", 0) > 0)
        assert c.days_with_queue_share == pytest.approx(waiting / len(days))
