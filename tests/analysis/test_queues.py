"""Queue discipline (miner.analysis.queues) against brute force, scipy and the simulator's ground
truth: the planted AA priority groups overtake, the overtaking count is the truth's `aa_overtook`,
the gemeenten housing queue is first-in-first-out."""

from __future__ import annotations

import json
import shutil
import tomllib
from collections.abc import Iterator
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from miner.analysis.period import Period
from miner.analysis.queues import (
    QueueDiscipline,
    kendall_tau_b,
    later_and_lower,
    queue_discipline,
    spearman_rho,
)
from miner.model.log import Log, connect
from miner.model.schema import CANONICAL_TABLES
from tests.conftest import Ingested


# --- the numeric core ----------------------------------------------------------------------------
def _brute(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.array([int(((x > x[i]) & (y < y[i])).sum()) for i in range(len(x))])


@pytest.mark.parametrize("seed", range(6))
def test_later_and_lower_equals_brute_force_with_ties_and_infinity(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    x = rng.integers(0, 40, n).astype(float)
    y = rng.integers(0, 40, n).astype(float)
    y[rng.random(n) < 0.2] = np.inf  # still waiting
    assert (later_and_lower(x, y) == _brute(x, y)).all()


def test_later_and_lower_edge_cases() -> None:
    assert later_and_lower(np.array([]), np.array([])).tolist() == []
    assert later_and_lower(np.array([1.0]), np.array([1.0])).tolist() == [0]
    # fully reversed: each is overtaken by all who came later
    x = np.arange(5.0)
    assert later_and_lower(x, -x).tolist() == [4, 3, 2, 1, 0]
    assert later_and_lower(x, x).tolist() == [0, 0, 0, 0, 0]


@pytest.mark.parametrize("seed", range(4))
def test_kendall_and_spearman_equal_scipy(seed: int) -> None:
    stats = pytest.importorskip("scipy.stats")  # pm4py's dependency, the oracle
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 50, 500).astype(float)
    y = x + rng.normal(0, 15, 500).round()
    assert kendall_tau_b(x, y) == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)
    assert spearman_rho(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert kendall_tau_b(x, np.ones(500)) is None
    assert spearman_rho(x[:1], y[:1]) is None


# --- the simulated year --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def year(ingested_year: Ingested) -> Iterator[Log]:
    log = connect(ingested_year.workspace, read_only=True)
    yield log
    log.close()


@pytest.fixture(scope="module")
def discipline(year: Log) -> QueueDiscipline:
    return queue_discipline(year)


@pytest.fixture(scope="module")
def truth(ingested_year: Ingested) -> pd.DataFrame:
    people = pd.read_parquet(ingested_year.run.out / "truth" / "foreigners.parquet")
    return people[people["aa_entry"] != ""].copy()


def _priority_nationalities() -> set[str]:
    text = (resources.files("miner") / "data" / "scenarios" / "default.toml").read_text("utf-8")
    return {n["iso3"] for n in tomllib.loads(text)["nationality"] if n["priority"]}


def _truth_minutes(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    entry = pd.to_datetime(frame["aa_entry"]).astype("int64").to_numpy() / 1e9
    start = pd.to_datetime(frame["aa_start"].replace("", None)).astype("int64").to_numpy() / 1e9
    start = np.where(frame["aa_start"] == "", np.inf, start)
    return entry.astype(float), start.astype(float)


@pytest.mark.slow
def test_priority_nationalities_overtake_the_others(discipline: QueueDiscipline,
                                                    truth: pd.DataFrame) -> None:
    aa = discipline.queue("aa")
    priority = _priority_nationalities()
    groups = {g.group: g for g in aa.groups if g.by == "nationality"}
    assert priority <= set(groups) and len(groups) >= 10
    for iso, g in groups.items():
        if iso in priority:
            assert g.share_overtaking is not None and g.share_overtaking > 0.9, g
            assert g.share_overtaken is not None and g.share_overtaken < 0.1, g
        else:
            assert g.share_overtaking is not None and g.share_overtaking < 0.05, g
            assert g.share_overtaken is not None and g.share_overtaken > 0.8, g
        # the share overtaking per nationality is the truth's, within 3 points
        people = truth[truth["nationality"] == iso]
        started = people[people["aa_start"] != ""]
        assert g.share_overtaking == pytest.approx(started["aa_overtook"].mean(), abs=0.03)
    # both aanmeldcentra feed one national queue: no location overtakes the other
    places = [g for g in aa.groups if g.by == "location"]
    assert {g.group for g in places} == {"Budel", "Ter Apel"}
    shares = [g.share_overtaking or 0.0 for g in places]
    assert abs(shares[0] - shares[1]) < 0.05


@pytest.mark.slow
def test_overtaking_and_overtaken_counts_match_the_truth(
        discipline: QueueDiscipline, truth: pd.DataFrame, ingested_year: Ingested) -> None:
    aa = discipline.queue("aa")
    planted = ingested_year.run.phenomena["aa_overtook"]
    assert planted == int(truth["aa_overtook"].sum()) > 0
    # a few R01/P02 rows are lost to planted faults (misspelt codes, quarantine): within 2 %
    assert aa.overtaking == pytest.approx(planted, rel=0.02)
    entry, start = _truth_minutes(truth)
    overtaken_truth = int((later_and_lower(entry, start) > 0).sum())
    assert aa.overtaken == pytest.approx(overtaken_truth, rel=0.02)
    assert aa.served == pytest.approx(int((truth["aa_start"] != "").sum()), rel=0.01)
    assert aa.foreigners + aa.left_out == pytest.approx(len(truth), rel=0.01)
    served = np.isfinite(start)
    tau = kendall_tau_b(entry[served], start[served])
    assert tau is not None and aa.kendall_tau == pytest.approx(tau, abs=0.01)
    assert aa.kendall_tau < 0.8  # far from first-in-first-out
    assert aa.mean_positions_lost is not None and aa.mean_positions_lost > 100
    assert aa.max_positions_lost >= (aa.mean_positions_lost_overtaken or 0)


@pytest.mark.slow
def test_fifo_queues_show_as_fifo(discipline: QueueDiscipline) -> None:
    # municipalities house permit holders first-come first-served (the simulator's gemeenten)
    housing = discipline.queue("huisvesting")
    assert housing.served > 5000 and housing.waiting > 5000
    assert housing.overtaking == 0 and housing.overtaken == 0
    assert housing.kendall_tau is not None and housing.kendall_tau > 0.99
    # hearings are booked on the first free day in order: nearly FIFO, few positions lost
    hearing = discipline.queue("aanmeldgehoor")
    assert hearing.kendall_tau is not None and hearing.kendall_tau > 0.98
    assert hearing.median_positions_lost == 0


@pytest.mark.slow
def test_a_period_counts_the_services_inside_it(year: Log, truth: pd.DataFrame) -> None:
    month = Period.parse("2021-06")
    aa = queue_discipline(year, period=month, queues=["aa"]).queue("aa")
    starts = pd.to_datetime(truth["aa_start"].replace("", None))
    in_month = int(((starts >= "2021-06-01") & (starts < "2021-07-01")).sum())
    # planted faults (misspelt codes, quarantined rows) cost about 1 % of R01 and P02 rows
    assert aa.served == pytest.approx(in_month, rel=0.02)
    entries = pd.to_datetime(truth["aa_entry"])
    queued = int(((entries < "2021-07-01") & (starts.isna() | (starts >= "2021-06-01"))).sum())
    assert aa.foreigners + aa.left_out == pytest.approx(queued, rel=0.02)


def table_digest(log: Log) -> dict[str, tuple[int, int]]:
    """Rows and a content hash of every canonical and ingest table."""
    tables = [*CANONICAL_TABLES, "ingest_issues", "ingest_quarantine", "identity_links"]
    return {t: tuple(log.con.execute(f"SELECT count(*), coalesce(sum(hash(x)), 0) FROM {t} x")
                     .fetchall()[0]) for t in tables}


@pytest.mark.slow
def test_json_round_trip_and_workspace_unchanged(
        ingested_year: Ingested, discipline: QueueDiscipline,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    copy = tmp_path_factory.mktemp("queues") / "year.duckdb"
    shutil.copyfile(ingested_year.workspace, copy)
    log = connect(copy)  # writable: the analysis could change it, and must not
    try:
        before = table_digest(log)
        again = queue_discipline(log, period=Period.parse("2021-T2"))
        full = queue_discipline(log)
        assert table_digest(log) == before
    finally:
        log.close()
    assert full == discipline  # the cached selection gives the same result as a fresh one
    for result in (discipline, again):
        data = json.loads(json.dumps(result.to_dict()))
        assert data["kind"] == "queue_discipline" and data["schema_version"] == 1
        assert QueueDiscipline.from_dict(data) == result
