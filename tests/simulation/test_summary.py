"""The default scenario reproduces the seed figures it names within 15 %."""

from __future__ import annotations

import json

import pytest

from miner.simulation import SimulationResult

SEEDED = (
    "median_days_in_col",
    "weeks_to_decision",
    "permit_holders_in_azc",
    "dtv_inflow_per_year",
    "dtv_inflow_ind_share",
)


@pytest.mark.parametrize("name", SEEDED)
def test_default_scenario_figure_is_within_15_percent_of_the_seed(
    default_run: SimulationResult, name: str
) -> None:
    assert default_run.summary is not None
    figure = default_run.summary.figure(name)
    assert figure.seed is not None
    assert abs(figure.value - figure.seed) <= 0.15 * figure.seed, figure


def test_figures_without_a_seed_value_are_reported_without_a_verdict(
    default_run: SimulationResult,
) -> None:
    assert default_run.summary is not None
    for name in ("share_aanmeldgehoor_on_dag_3", "nachtopvang_share"):
        figure = default_run.summary.figure(name)
        assert figure.seed is None and figure.deviation is None and 0.0 < figure.value < 1.0


def test_summary_json_holds_the_same_figures(default_run: SimulationResult) -> None:
    assert default_run.summary is not None
    written = json.loads((default_run.out / "summary.json").read_text(encoding="utf-8"))
    assert written == default_run.summary.to_dict()
    assert [f["name"] for f in written["figures"]] == [
        "median_days_in_col",
        "share_aanmeldgehoor_on_dag_3",
        "nachtopvang_share",
        "weeks_to_decision",
        "permit_holders_in_azc",
        "dtv_inflow_per_year",
        "dtv_inflow_ind_share",
    ]
    assert all(f["within_15_percent"] for f in written["figures"] if f["seed"] is not None)


def test_phenomena_json_is_what_the_truth_per_foreigner_adds_up_to(
        default_run: SimulationResult) -> None:
    """Every figure of phenomena.json recounted from truth/foreigners.parquet (one row per
    foreigner, a column per phenomenon): a count column summed (``appeals_total`` from
    ``appeals``, ``fault_x`` from ``f_x``), a flag counted, and four figures read off a value."""
    import pandas as pd

    written = json.loads((default_run.out / "truth" / "phenomena.json").read_text(encoding="utf-8"))
    assert written == default_run.phenomena
    truth = pd.read_parquet(default_run.out / "truth" / "foreigners.parquet")
    derived = {
        "foreigners": len(truth),
        "aanmeldgehoor_not_on_dag_3": int((truth["hearing_day"].notna()
                                           & (truth["hearing_day"] != 3)).sum()),
        "nachtopvang_after_hours": int((truth["nachtopvang_cause"]
                                        == "buiten_openingstijd_balie").sum()),
        "nachtopvang_ir_capacity": int((truth["nachtopvang_cause"] == "ir_capaciteit").sum()),
    }
    for key in written:
        if key in derived:
            continue
        column = ("f_" + key.removeprefix("fault_") if key.startswith("fault_")
                  else key.removesuffix("_total"))
        assert column in truth, f"phenomenon {key}: no column {column} in foreigners.parquet"
        derived[key] = int(truth[column].astype("int64").sum())
    assert derived == written
    assert written["foreigners"] == default_run.foreigners > 50_000
