"""Scenario files: the shipped ones load; broken ones name the key and the allowed values."""

from __future__ import annotations

from pathlib import Path

import pytest

from miner.errors import MinerError
from miner.simulation import ScenarioError, load_scenario, scenario_names, simulate


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "broken.toml"
    path.write_text('base = "default"\n' + text, encoding="utf-8")
    return path


def test_shipped_scenarios_load_with_their_inflow() -> None:
    assert scenario_names() == ["2023-maximum", "2023-medio", "2023-minimum", "default"]
    inflow = {name: load_scenario(name).num("inflow", "per_year") for name in scenario_names()}
    assert inflow == {
        "2023-maximum": 77000.0,
        "2023-medio": 67000.0,
        "2023-minimum": 49000.0,
        "default": 25000.0,
    }
    medio = load_scenario("2023-medio")
    assert medio.start.isoformat() == "2023-01-01"
    assert medio.table("aanmeld", "ir_quota") == {"ter_apel": 30.0, "budel": 30.0}


def test_scenario_error_is_a_miner_error_and_a_value_error() -> None:
    assert issubclass(ScenarioError, MinerError) and issubclass(ScenarioError, ValueError)


def test_unknown_key_names_key_allowed_keys_and_closest(tmp_path: Path) -> None:
    path = _write(tmp_path, "[aanmeld]\nir_qouta = { ter_apel = 30, budel = 30 }\n")
    with pytest.raises(
        ScenarioError,
        match=r"key 'aanmeld.ir_qouta' is unknown\. Allowed: .*"
        r"'aanmeld.ir_quota'.*Did you mean 'aanmeld.ir_quota'\?",
    ):
        load_scenario(path)


def test_unknown_section_suggests_the_closest(tmp_path: Path) -> None:
    path = _write(tmp_path, "[inflw]\nper_year = 3\n")
    with pytest.raises(
        ScenarioError,
        match=r"key 'inflw' is unknown\. Allowed: .*'inflow'.*"
        r"Did you mean 'inflow'\?",
    ):
        load_scenario(path)


def test_negative_capacity_names_key_and_allowed_range(tmp_path: Path) -> None:
    path = _write(tmp_path, "[aanmeld]\nir_quota = { ter_apel = -5, budel = 30 }\n")
    with pytest.raises(
        ScenarioError, match=r"key 'aanmeld.ir_quota.ter_apel' is -5\. Allowed: a number >= 0\."
    ):
        load_scenario(path)


def test_negative_pol_capacity_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "[rvt]\npol_capacity = -1\n")
    with pytest.raises(
        ScenarioError, match=r"key 'rvt.pol_capacity' is -1\. Allowed: a number >= 0\."
    ):
        load_scenario(path)


def test_shares_not_summing_to_one_name_key_sum_and_allowed(tmp_path: Path) -> None:
    path = _write(tmp_path, "[inflow]\nspoor = { spoor1 = 0.5, spoor2 = 0.3, spoor4 = 0.3 }\n")
    with pytest.raises(
        ScenarioError,
        match=r"shares of key 'inflow.spoor' sum to 1\.1, not 1\. "
        r"Allowed: shares >= 0 over 'spoor1', 'spoor2', 'spoor4' "
        r"summing to 1\.",
    ):
        load_scenario(path)


def test_unknown_share_key_suggests_the_closest(tmp_path: Path) -> None:
    path = _write(tmp_path, "[inflow]\nspoor = { spoor1 = 0.5, spoor2 = 0.3, spor4 = 0.2 }\n")
    with pytest.raises(
        ScenarioError,
        match=r"key 'inflow.spoor.spor4' is unknown\. Allowed: "
        r"'inflow.spoor.spoor1', 'inflow.spoor.spoor2', "
        r"'inflow.spoor.spoor4'\. Did you mean 'inflow.spoor.spoor4'\?",
    ):
        load_scenario(path)


def test_unknown_distribution_lists_the_known_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, '[col]\ntransfer_wait_days = { dist = "gamma", mean = 3.0 }\n')
    with pytest.raises(
        ScenarioError,
        match=r"key 'col.transfer_wait_days.dist' has value 'gamma'\. "
        r"Allowed: 'exponential', 'fixed', 'lognormal', "
        r"'triangular', 'uniform'\.",
    ):
        load_scenario(path)


def test_probability_above_one_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "[faults]\nduplicate_row = 1.5\n")
    with pytest.raises(
        ScenarioError, match=r"key 'faults.duplicate_row' is 1\.5\. Allowed: \[0, 1\]\."
    ):
        load_scenario(path)


def test_unknown_scenario_name_suggests_the_closest() -> None:
    with pytest.raises(
        ScenarioError,
        match=r"key 'defualt' is not a shipped scenario\. Allowed: "
        r"'2023-maximum', '2023-medio', '2023-minimum', 'default'\. "
        r"Did you mean 'default'\?",
    ):
        load_scenario("defualt")


def test_simulate_refuses_a_broken_scenario_before_writing(tmp_path: Path) -> None:
    path = _write(tmp_path, "[rvt]\npol_capacity = -1\n")
    with pytest.raises(ScenarioError, match="rvt.pol_capacity"):
        simulate(path, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
