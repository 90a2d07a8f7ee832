"""The public API: ``miner.__all__`` is sorted, complete and importable (httpx's rule)."""

from __future__ import annotations

import inspect

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


def test_the_cli_commands_mirror_api_functions() -> None:
    from miner.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    mirrored = {
        "convert": miner.convert,
        "stats": miner.log_statistics,
        "dfg": miner.dfg,
        "variants": miner.variants,
        "simulate": miner.simulate,
    }
    assert set(mirrored) <= set(commands)
