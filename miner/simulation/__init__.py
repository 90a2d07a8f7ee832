"""The simulated Dutch asylum chain: partner exports with a known ground truth.

``simulate()`` runs a scenario (TOML data in ``miner/data/scenarios``) as a discrete-event
simulation with simpy and writes each partner's export the way its own system delivers it, plus
the ground truth the analyses are scored against. See docs/simulation.md.
"""

from __future__ import annotations

from miner.simulation.api import SimulationResult, simulate
from miner.simulation.postgres import load_postgres
from miner.simulation.scenario import Scenario, ScenarioError, load_scenario, scenario_names
from miner.simulation.summary import Figure, Summary, phenomena, summary

__all__ = [
    "Figure",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "Summary",
    "load_postgres",
    "load_scenario",
    "phenomena",
    "scenario_names",
    "simulate",
    "summary",
]
