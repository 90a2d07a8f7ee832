"""The public API: ``miner.__all__`` is sorted, complete and importable (httpx's rule)."""

from __future__ import annotations

import argparse
import inspect
import json
import math

import pytest

import miner


def test_all_is_sorted_and_names_only_existing_attributes() -> None:
    assert miner.__all__ == sorted(miner.__all__)
    assert [name for name in miner.__all__ if not hasattr(miner, name)] == []


def test_every_public_function_and_class_is_listed_and_documented() -> None:
    public = {
        name
        for name, value in vars(miner).items()
        if not name.startswith("_") and (inspect.isfunction(value) or inspect.isclass(value))
    }
    assert public == set(miner.__all__)
    undocumented = [name for name in miner.__all__ if not inspect.getdoc(getattr(miner, name))]
    assert undocumented == []


def test_every_cli_command_mirrors_a_documented_api_function() -> None:
    """Each command is the front of one Python function a user can call instead (its docstring
    says what it does); a new command without one fails here."""
    from miner.analysis.chain import analyze
    from miner.audit import write_audit
    from miner.cli import build_parser
    from miner.conformance.check import check_conformance
    from miner.conformance.discover import discover
    from miner.demo import run_demo
    from miner.explore import open_explorer
    from miner.ingest.pipeline import ingest
    from miner.report.render import write_report

    parser = build_parser()
    commands = next(a.choices for a in parser._actions
                    if isinstance(a, argparse._SubParsersAction))
    mirrored = {
        "convert": miner.convert, "stats": miner.log_statistics, "dfg": miner.dfg,
        "variants": miner.variants, "simulate": miner.simulate, "ingest": ingest,
        "analyze": analyze, "conformance": check_conformance, "discover": discover,
        "report": write_report, "audit": write_audit, "demo": run_demo, "explore": open_explorer,
    }
    assert set(mirrored) == set(commands)
    assert [name for name, fn in mirrored.items() if not inspect.getdoc(fn)] == []


def test_stats_dfg_and_variants_print_what_the_api_returns(
        capsys: pytest.CaptureFixture[str]) -> None:
    from miner.cli import main
    from tests.conftest import reallog

    path = reallog("receipt.xes")
    log = miner.flatten(miner.read(path))
    found = miner.variants(log)
    assert main(["variants", str(path), "--top", "1000", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(found.to_dict()["variants"]))
    assert sum(v["cases"] for v in printed) == 1434 == sum(found.counts().values())
    assert main(["dfg", str(path), "--json"]) == 0
    edges = json.loads(capsys.readouterr().out)
    expected = miner.dfg(log).to_dict()["edges"]
    assert len(edges) == len(expected) > 50
    for got, want in zip(edges, expected, strict=True):  # the means may differ in the last bit
        assert {k: v for k, v in got.items() if k != "mean_s"} == {
            k: v for k, v in want.items() if k != "mean_s"}
        assert math.isclose(got["mean_s"], want["mean_s"], rel_tol=1e-12)
