"""miner's token replay (a port of pm4py's algorithm) against pm4py's own, trace by trace.

Every distinct variant of the shared real logs is replayed by both on the shipped receipt model
and on nets pm4py discovers (inductive with noise, heuristics: silent transitions, loops, and
tokens left behind), and the token counts, the fitness and the verdict must be equal; so must
ETConformance's prefix replay and the precision pm4py computes on the whole log.
"""

from __future__ import annotations

import math
import warnings
from functools import cache
from typing import Any

import pandas as pd
import pytest

import miner
from miner.conformance import _controlflow
from miner.conformance._controlflow import check_variants, load_model
from miner.conformance._tokenreplay import TokenReplay
from tests.conftest import SEPSIS_MAPPING, import_pm4py, reallog

Variant = tuple[str, ...]
KEYS = ("trace_is_fit", "trace_fitness", "missing_tokens", "consumed_tokens",
        "remaining_tokens", "produced_tokens")


@cache
def variants_of(name: str) -> dict[Variant, int]:
    path = reallog(name)
    log = miner.read(path, mapping=SEPSIS_MAPPING) if name == "sepsis.csv" else miner.read(path)
    return miner.variants(miner.flatten(log)).counts()


def frame_of(variants: dict[Variant, int]) -> pd.DataFrame:
    """One case per variant, in pm4py's column names."""
    rows = [
        {"case:concept:name": f"v{i:06d}", "concept:name": a,
         "time:timestamp": pd.Timestamp("2020-01-01", tz="UTC") + pd.Timedelta(seconds=j)}
        for i, variant in enumerate(variants) for j, a in enumerate(variant)
    ]
    return pd.DataFrame(rows)


@cache
def model(name: str, miner_name: str) -> tuple[Any, Any, Any]:
    pm4py = import_pm4py()
    if miner_name == "shipped":
        return load_model(reallog("receipt-imf.ptml"))
    frame = frame_of(variants_of(name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if miner_name == "inductive":
            net: tuple[Any, Any, Any] = pm4py.discover_petri_net_inductive(
                frame, noise_threshold=0.3)
        else:
            net = pm4py.discover_petri_net_heuristics(frame, dependency_threshold=0.9)
    return net


CASES = [
    ("receipt.xes", "shipped"),
    ("receipt.xes", "heuristics"),
    ("sepsis.csv", "inductive"),
    ("sepsis.csv", "heuristics"),
    ("roadtraffic100traces.xes", "inductive"),
    ("roadtraffic100traces.xes", "heuristics"),
    ("running-example.xes", "heuristics"),
]


def pm4py_replay(frame: pd.DataFrame, net: Any, im: Any, fm: Any) -> list[dict[str, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        result: list[dict[str, Any]] = import_pm4py().conformance_diagnostics_token_based_replay(
            frame, net, im, fm)
    return result


@pytest.mark.parametrize(("name", "miner_name"), CASES)
def test_every_variant_replays_to_pm4py_token_counts(name: str, miner_name: str) -> None:
    variants = variants_of(name)
    net, im, fm = model(name, miner_name)
    expected = pm4py_replay(frame_of(variants), net, im, fm)
    port = TokenReplay(net, im, fm)
    assert len(expected) == len(variants) > 5
    unfit = 0
    for variant, oracle in zip(variants, expected):
        got = port.replay(variant)
        assert {k: got[k] for k in KEYS} == {k: oracle[k] for k in KEYS}, variant
        unfit += not oracle["trace_is_fit"]
    assert unfit > 0  # the nets do not fit every variant: the missing/remaining paths ran


@pytest.mark.parametrize(("name", "miner_name"), CASES)
def test_precision_equals_pm4py_on_the_whole_log(name: str, miner_name: str) -> None:
    variants = variants_of(name)
    net, im, fm = model(name, miner_name)
    frame = frame_of(variants)
    counts = {f"v{i:06d}": n for i, n in enumerate(variants.values())}
    # the whole log: each variant's case repeated as often as the log has it
    whole = frame.loc[frame.index.repeat(frame["case:concept:name"].map(counts))].copy()
    whole["case:concept:name"] += "_" + whole.groupby(
        ["case:concept:name", "concept:name", "time:timestamp"]).cumcount().astype(str)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        expected = import_pm4py().precision_token_based_replay(whole, net, im, fm)
        fitness = import_pm4py().fitness_token_based_replay(whole, net, im, fm)
    result = check_variants(net, im, fm, variants, workers=1, alignments=False)
    assert result.precision is not None
    assert math.isclose(result.precision, expected, abs_tol=1e-12)
    assert math.isclose(result.log_replay_fitness, fitness["log_fitness"], abs_tol=1e-12)
    assert not any(c.status != "ok" for c in result.variants)


def test_prefix_replay_equals_pm4py_etconformance_replay() -> None:
    net, im, fm = model("sepsis.csv", "heuristics")
    prefixes = sorted({v[:k] for v in variants_of("sepsis.csv") for k in range(1, len(v) + 1)})
    ctx = _controlflow._make_context(net, im, fm, 10.0, False, False)
    assert ctx.replayer is not None
    oracle = _controlflow._replay_prefixes(prefixes, _controlflow.replace(ctx, replayer=None))
    assert _controlflow._replay_prefixes(prefixes, ctx) == oracle
    assert sum(not fits for fits, _ in oracle) > 0 and len(prefixes) > 1000


def test_pm4py_switch_gives_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    variants = variants_of("receipt.xes")
    net, im, fm = model("receipt.xes", "shipped")
    port = check_variants(net, im, fm, variants, workers=1, alignments=False).to_dict()
    monkeypatch.setattr(_controlflow, "TOKEN_REPLAY", "pm4py")
    own = check_variants(net, im, fm, variants, workers=1, alignments=False).to_dict()
    port.pop("seconds"), own.pop("seconds")
    assert port == own
