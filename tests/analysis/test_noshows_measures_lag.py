"""No-shows, measure effects and registration lag on the simulated year, against the simulator's
ground truth: the planted no-shows per site, the mid-year measure at Budel (its true effect lies in
the reported confidence interval), the late COA updates and the PSH-V/Smartflow double entry."""

from __future__ import annotations

import json
import shutil
import tomllib
from collections.abc import Iterator
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from miner.analysis.lag import RegistrationLag, registration_lag
from miner.analysis.measures import MeasureEffect, measure_definitions, measure_effect
from miner.analysis.noshows import NoShows, no_shows
from miner.analysis.period import Period
from miner.errors import UnknownNameError
from miner.ingest import ingest
from miner.ingest.mapping import parse_mapping
from miner.model.log import Log, connect
from tests.analysis.test_queues import table_digest
from tests.conftest import AS_OF, KEY, Ingested


@pytest.fixture(scope="module")
def year(ingested_year: Ingested) -> Iterator[Log]:
    log = connect(ingested_year.workspace, read_only=True)
    yield log
    log.close()


@pytest.fixture(scope="module")
def truth(ingested_year: Ingested) -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = ingested_year.run.out / "truth"
    return pd.read_parquet(folder / "foreigners.parquet"), pd.read_parquet(folder / "rows.parquet")


def _scenario() -> dict[str, Any]:
    text = (resources.files("miner") / "data" / "scenarios" / "default.toml").read_text("utf-8")
    return tomllib.loads(text)


# --- no-shows ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_no_shows_per_site_equal_the_truth(year: Log, ingested_year: Ingested,
                                           truth: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    people, rows = truth
    result = no_shows(year)
    planted = ingested_year.run.phenomena["no_shows_total"]
    # a misspelt NVS code stays unmapped (never guessed): those rows are not no-shows in the log
    x10 = rows[(rows["file"] == "ind/indigo_zaakhistorie.csv") & (rows["activity"] == "X10")]
    misspelt = x10[x10["fault"] == "misspelt_code"]
    assert result.no_shows == planted - len(misspelt) > 1000
    # the site of each planted no-show is the aanmeldcentrum on its export row (the truth's `site`
    # is where the person arrived, not the street that took them)
    export = pd.read_csv(ingested_year.run.out / "ind" / "indigo_zaakhistorie.csv", sep=";",
                         encoding="cp1252", dtype=str, keep_default_na=False)
    clean = x10[x10["fault"] == ""]
    centre = export["Aanmeldcentrum"].to_numpy()[clean["row"].to_numpy() - 1]
    for name, count in pd.Series(centre).value_counts().items():
        assert result.at(str(name)) == count
    # after the measure start at Budel: the truth's `no_shows_budel_measure`
    after = no_shows(year, period=Period.parse("2021-Q3")).at("Budel", "aanmeldgehoor") + \
        no_shows(year, period=Period.parse("2021-Q4")).at("Budel", "aanmeldgehoor")
    measured = ingested_year.run.phenomena["no_shows_budel_measure_total"]
    assert measured - len(misspelt) <= after <= measured
    assert int(people["no_shows_budel_measure"].sum()) == measured
    assert sum(k * n for k, n in result.replans) == result.no_shows
    assert result.foreigners == pytest.approx(int((people["no_shows"] > 0).sum()), abs=5)
    for place in result.places:
        # every no-show leaves its planned slot idle: the simulator never refills one
        assert place.idle_slots is not None
        assert 0.95 * place.no_shows <= place.idle_slots <= place.no_shows
        assert place.replanned + place.open == place.no_shows
        assert place.median_days_lost is not None and place.median_days_lost >= 1
    hearing = [p for p in result.places if p.hearing == "aanmeldgehoor"]
    assert {p.capacity_per_day for p in hearing} == set(
        _scenario()["aanmeld"]["hearing_capacity"].values())
    assert sum(w.no_shows for w in result.weeks) == result.no_shows
    assert sum(w.appointments for w in result.weeks) == result.appointments


@pytest.mark.slow
def test_no_shows_in_a_month_and_round_trip(year: Log) -> None:
    july = no_shows(year, period=Period.parse("2021-07"))
    assert july.period == "2021-07"
    assert {w.week for w in july.weeks} <= {f"2021-W{n}" for n in range(26, 31)}
    budel = next(p for p in july.places if p.hearing == "aanmeldgehoor" and p.location == "Budel")
    ter_apel = next(p for p in july.places
                if p.hearing == "aanmeldgehoor" and p.location == "Ter Apel")
    assert budel.share is not None and ter_apel.share is not None
    assert budel.share < ter_apel.share / 2  # the in-person invitation at Budel
    data = json.loads(json.dumps(july.to_dict()))
    assert data["kind"] == "no_shows" and NoShows.from_dict(data) == july


# --- measures ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_planted_budel_measure_lies_in_the_confidence_interval(year: Log) -> None:
    scenario = _scenario()
    measure = next(m for m in measure_definitions() if m["name"] == "uitnodiging_budel")
    assert measure["start"] == scenario["measure"]["start"]
    before = scenario["aanmeld"]["noshow"]
    planted = (scenario["measure"]["noshow_after"] - before["budel"]) - (
        before["ter_apel"] - before["ter_apel"])
    # 2021 only: the back-dated history of the initial stock has hearings but no no-shows
    result = measure_effect(year, kpi=measure["kpi"], place=measure["place"],
                            start=measure["start"], comparison=measure["comparison"],
                            period=Period.parse("2021"))
    assert result.ci_low is not None and result.ci_high is not None
    assert result.ci_low <= planted <= result.ci_high
    assert result.ci_high < 0 and result.ci_high - result.ci_low < 0.03
    assert result.before_place == pytest.approx(before["budel"], abs=0.01)
    assert result.after_place == pytest.approx(scenario["measure"]["noshow_after"], abs=0.01)
    assert [(c.side, c.window) for c in result.cells] == [
        ("place", "before"), ("place", "after"), ("comparison", "before"),
        ("comparison", "after")]
    # the mirror image: the same measure judged from Ter Apel has the opposite sign
    mirror = measure_effect(year, kpi=measure["kpi"], place="Ter Apel", start=measure["start"],
                            period=Period.parse("2021"))
    assert mirror.comparison == ("Budel",)
    assert mirror.effect == pytest.approx(-(result.effect or 0.0))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["kind"] == "measure_effect" and MeasureEffect.from_dict(data) == result


@pytest.mark.slow
def test_politie_at_regietafel_and_a_placebo_date(year: Log) -> None:
    scenario = _scenario()
    politie = measure_effect(year, kpi="politie_regietafel2", place="Ter Apel",
                             start=scenario["aanmeld"]["politie_full_strength"])
    planted = scenario["aanmeld"]["p_politie_regietafel2"]  # 0 before in Ter Apel, as Budel after
    assert politie.ci_low is not None and politie.ci_high is not None
    assert politie.ci_low <= planted <= politie.ci_high
    assert politie.before_place == 0.0
    # no measure before July: a placebo date in the first tertaal finds nothing
    placebo = measure_effect(year, kpi="noshow_aanmeldgehoor", place="budel",
                             start=date(2021, 3, 1), period=Period.parse("2021-T1"))
    assert placebo.ci_low is not None and placebo.ci_high is not None
    assert placebo.ci_low <= 0.0 <= placebo.ci_high
    with pytest.raises(UnknownNameError, match="noshow_aanmeldgehoor"):
        measure_effect(year, kpi="noshow_aanmeldgehor", place="Budel", start="2021-07-01")


# --- registration lag ----------------------------------------------------------------------------
@pytest.mark.slow
def test_late_coa_updates_and_double_entry_match_the_truth(
        year: Log, ingested_year: Ingested, truth: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, rows = truth
    result = registration_lag(year)
    coa = result.pair("coa_mutatie")
    planted = ingested_year.run.phenomena["fault_coa_late_update"]
    late_rows = set(rows.loc[rows["fault"] == "coa_late_update", "row"])
    quarantined = {r[0] for r in year.con.execute(
        "SELECT row FROM ingest_quarantine WHERE source = 'coa'").fetchall()}
    assert coa.late == planted - len(late_rows & quarantined) > 5000
    # the shipped COA mapping carries mutatiedatum as an attribute: every stay's lag is known
    flagged = year.con.execute("SELECT count(*) FROM ingest_issues "
                               "WHERE rule = 'late_registration'").fetchall()[0][0]
    assert coa.basis == "attribute" and coa.complete
    assert coa.late == flagged  # the same stays the ingest check flags
    assert coa.followed == coa.facts
    assert coa.median_days is not None and 0 <= coa.median_days < coa.late_days
    assert sum(p.late for p in coa.places) == coa.late
    double = result.pair("smartflow_dubbele_invoer")
    phenomena = ingested_year.run.phenomena
    assert double.facts == pytest.approx(phenomena["double_registration"], rel=0.01)
    assert double.followed == pytest.approx(phenomena["smartflow_entry"], rel=0.01)
    assert double.share_followed is not None and 0.95 < double.share_followed < 0.99
    assert double.median_days is not None and 0 < double.median_days < 1
    assert {p.location for p in double.places} == {"Budel", "Ter Apel"}
    data = json.loads(json.dumps(result.to_dict()))
    assert data["kind"] == "registration_lag" and RegistrationLag.from_dict(data) == result


@pytest.mark.slow
def test_coa_lag_from_the_ingest_check_when_the_mapping_drops_the_attribute(
        ingested_year: Ingested, tmp_path: Path) -> None:
    """Without ``mutatiedatum`` as an attribute only the late stays (the ingest check) are known."""
    text = (resources.files("miner") / "data" / "mappings" / "coa.toml").read_text("utf-8")
    line = 'mutatiedatum = "mutatiedatum"'
    assert line in text
    text = "\n".join(x for x in text.splitlines() if not x.startswith(line)) + "\n"
    mapping = parse_mapping(tomllib.loads(text), "coa-zonder-mutatiedatum.toml")
    log = connect(tmp_path / "coa.duckdb")
    try:
        ingest(log, [ingested_year.run.out / "coa" / "bewonersregistratie.csv"], key=KEY,
               mappings=[mapping], as_of=AS_OF)
        coa = registration_lag(log).pair("coa_mutatie")
        flagged = log.con.execute("SELECT count(*) FROM ingest_issues "
                                  "WHERE rule = 'late_registration'").fetchall()[0][0]
    finally:
        log.close()
    assert coa.basis == "ingest_issues" and not coa.complete and coa.followed is None
    assert coa.late == flagged > 5000
    assert coa.median_days is not None and coa.median_days > coa.late_days


# --- inputs are not changed ----------------------------------------------------------------------
@pytest.mark.slow
def test_the_analyses_leave_the_workspace_unchanged(ingested_year: Ingested,
                                                    tmp_path: Path) -> None:
    copy = tmp_path / "year.duckdb"
    shutil.copyfile(ingested_year.workspace, copy)
    log = connect(copy)
    try:
        before = table_digest(log)
        no_shows(log, period=Period.parse("2021-Q3"))
        measure_effect(log, kpi="noshow_aanmeldgehoor", place="Budel", start="2021-07-01")
        registration_lag(log, period=Period.parse("2021"))
        assert table_digest(log) == before
    finally:
        log.close()
