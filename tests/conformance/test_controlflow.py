"""The control-flow conformance engine, with pm4py as the oracle.

Each variant is checked once; the case-weighted figures must equal what pm4py computes on the whole
log (and the values in ../shared/reallogs/README.md), per case as well as per log.
"""

from __future__ import annotations

import contextlib
import json
import math
import warnings
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import miner
from miner.conformance._controlflow import (
    ControlFlowResult,
    Move,
    check_variants,
    load_model,
)
from tests.conftest import import_pm4py, reallog

Variant = tuple[str, ...]


@contextlib.contextmanager
def oracle_warnings_ignored() -> Iterator[None]:
    """pm4py's own calls of numpy's np.matrix warn (PendingDeprecationWarning, from numpy, so the
    pyproject filters do not catch it); under "error" pm4py would take a sound net for unsound."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        yield


@cache
def receipt_variants() -> dict[Variant, int]:
    return miner.variants(miner.flatten(miner.read(reallog("receipt.xes")))).counts()


@cache
def receipt_frame() -> pd.DataFrame:
    frame: pd.DataFrame = import_pm4py().read_xes(str(reallog("receipt.xes")), variant="iterparse")
    return frame


@cache
def receipt_model() -> tuple[Any, Any, Any]:
    return load_model(reallog("receipt-imf.ptml"))


@cache
def receipt_result() -> ControlFlowResult:
    return check_variants(*receipt_model(), receipt_variants(), workers=2)


@cache
def oracle() -> dict[str, Any]:
    pm4py, frame, model = import_pm4py(), receipt_frame(), receipt_model()
    with oracle_warnings_ignored():
        return {
            "replay": pm4py.fitness_token_based_replay(frame, *model),
            "alignments": pm4py.fitness_alignments(frame, *model),
            "precision": pm4py.precision_token_based_replay(frame, *model),
        }


def without_seconds(result: ControlFlowResult) -> dict[str, Any]:
    body = result.to_dict()
    body.pop("seconds")
    return body


def test_variants_of_miner_equal_pm4py_variants_on_receipt() -> None:
    expected = import_pm4py().get_variants(receipt_frame())
    assert receipt_variants() == {tuple(k): int(v) for k, v in expected.items()}
    assert len(receipt_variants()) == 116 and sum(receipt_variants().values()) == 1434


def test_receipt_log_figures_equal_the_readme_values() -> None:
    result = receipt_result()
    assert round(result.log_replay_fitness, 6) == 0.964687
    assert result.log_alignment_fitness is not None and result.percentage_fitting is not None
    assert round(result.log_alignment_fitness, 6) == 0.845371
    assert round(result.percentage_fitting, 2) == 49.72
    assert result.unresolved == 0 and all(c.status == "ok" for c in result.variants)


def test_receipt_log_figures_equal_pm4py_computed_live() -> None:
    result, expected = receipt_result(), oracle()
    assert math.isclose(result.log_replay_fitness, expected["replay"]["log_fitness"], abs_tol=1e-12)
    assert math.isclose(
        result.log_alignment_fitness or -1, expected["alignments"]["log_fitness"], abs_tol=1e-12
    )
    assert math.isclose(
        result.percentage_fitting or -1,
        expected["alignments"]["percentage_of_fitting_traces"],
        abs_tol=1e-9,
    )
    assert math.isclose(result.precision or -1, expected["precision"], abs_tol=1e-12)
    assert round(expected["precision"], 6) == 0.301296


def test_each_case_gets_pm4py_per_trace_figures_through_its_variant() -> None:
    pm4py, frame = import_pm4py(), receipt_frame()
    by_variant = {c.variant: c for c in receipt_result().variants}
    # Token replay: every case.
    with oracle_warnings_ignored():
        replayed = pm4py.conformance_diagnostics_token_based_replay(frame, *receipt_model())
    traces = frame.groupby("case:concept:name", sort=False)["concept:name"].agg(tuple)
    assert len(replayed) == len(traces) == 1434
    for trace, expected in zip(traces, replayed):
        assert by_variant[trace].replay_fitness == expected["trace_fitness"]
        assert by_variant[trace].replay_fits == expected["trace_is_fit"]
    # Alignments: a sample of 48 cases spread over the log, one per 30.
    sample = frame[frame["case:concept:name"].isin(set(traces.index[::30]))]
    with oracle_warnings_ignored():
        aligned = pm4py.conformance_diagnostics_alignments(sample, *receipt_model())
    sample_traces = sample.groupby("case:concept:name", sort=False)["concept:name"].agg(tuple)
    assert len(aligned) == len(sample_traces) == 48
    for trace, expected in zip(sample_traces, aligned):
        assert by_variant[trace].alignment_fitness == expected["fitness"]
        assert by_variant[trace].alignment_cost == expected["cost"]


def test_moves_replay_the_variant_and_account_for_the_cost() -> None:
    for check in receipt_result().variants:
        assert tuple(m.log for m in check.moves if m.log is not None) == check.variant
        deviations = sum(1 for m in check.moves if m.log != m.model)
        assert check.alignment_cost is not None and deviations == check.alignment_cost // 10_000
        assert all(m.log == m.model for m in check.moves if None not in (m.log, m.model))


def test_alignment_of_a_small_net_has_the_one_optimal_moves() -> None:
    pm4py = import_pm4py()
    net, im, fm = pm4py.discover_petri_net_inductive(
        pm4py.format_dataframe(
            pd.DataFrame(
                {
                    "case": ["1", "1", "1"],
                    "activity": ["a", "b", "c"],
                    "time": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
                }
            ),
            case_id="case",
            activity_key="activity",
            timestamp_key="time",
        )
    )
    result = check_variants(net, im, fm, {("a", "c", "x"): 3, ("a", "b", "c"): 5}, workers=1)
    deviating, fitting = result.variants[1], result.variants[0]
    assert fitting.variant == ("a", "b", "c") and fitting.alignment_fitness == 1.0
    assert deviating.moves == (Move("a", "a"), Move(None, "b"), Move("c", "c"), Move("x", None))
    # worst alignment: 3 log moves + 3 model moves; cost 2 deviations
    assert deviating.alignment_fitness == pytest.approx(1 - 2 / 6)
    assert result.percentage_fitting == pytest.approx(100 * 5 / 8)


def test_variant_over_budget_is_unresolved_and_left_out_of_the_log_figures() -> None:
    variants = receipt_variants()
    hardest = max(variants, key=lambda v: (len(v), v))  # 50 events
    chosen = dict(sorted(variants.items(), key=lambda kv: (-kv[1], kv[0]))[:10])
    chosen[hardest] = variants[hardest]
    result = check_variants(*receipt_model(), chosen, budget_s=0.001, workers=1)
    unresolved = [c for c in result.variants if c.status == "unresolved"]
    assert hardest in [c.variant for c in unresolved] and result.unresolved == len(unresolved)
    for check in unresolved:
        assert check.alignment_fitness is None and check.alignment_cost is None
        assert check.moves == () and check.reason == "alignment exceeded the budget of 0.001 s"
    # The log figures are those of the resolved variants alone: nothing unresolved counts as fitting.
    resolved = {c.variant: c.cases for c in result.variants if c.status == "ok"}
    if resolved:
        rest = check_variants(*receipt_model(), resolved, workers=1)
        for name in (
            "log_replay_fitness",
            "log_alignment_fitness",
            "percentage_fitting",
            "precision",
        ):
            assert getattr(result, name) == getattr(rest, name), name
    else:
        assert (result.log_alignment_fitness, result.percentage_fitting) == (0.0, 0.0)
        assert result.log_replay_fitness == 0.0 and result.precision is None
    full = check_variants(*receipt_model(), chosen, workers=1)
    assert full.unresolved == 0 and full.percentage_fitting != result.percentage_fitting


def test_result_is_identical_run_twice_and_with_one_or_two_workers() -> None:
    first = without_seconds(receipt_result())
    assert without_seconds(check_variants(*receipt_model(), receipt_variants(), workers=1)) == first
    # a reloaded model has new random transition names (uuids); the moves must not change
    again = check_variants(*load_model(reallog("receipt-imf.ptml")), receipt_variants(), workers=2)
    assert without_seconds(again) == first


def test_result_round_trips_through_json() -> None:
    result = receipt_result()
    again = ControlFlowResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result and again.to_dict() == result.to_dict()


def test_token_replay_only_leaves_the_alignment_figures_empty() -> None:
    result = check_variants(*receipt_model(), receipt_variants(), alignments=False, precision=False)
    assert result.log_replay_fitness == receipt_result().log_replay_fitness
    assert result.log_alignment_fitness is None and result.percentage_fitting is None
    assert result.precision is None
    assert all(c.alignment_fitness is None and c.moves == () for c in result.variants)


def test_load_model_reads_pnml_and_bpmn_written_by_pm4py(tmp_path: Path) -> None:
    pm4py = import_pm4py()
    pnml = tmp_path / "receipt.pnml"
    pm4py.write_pnml(*receipt_model(), str(pnml))
    net, _, _ = load_model(pnml)
    labels = sorted(t.label for t in receipt_model()[0].transitions if t.label)
    assert sorted(t.label for t in net.transitions if t.label) == labels
    bpmn = tmp_path / "receipt.bpmn"
    pm4py.write_bpmn(
        pm4py.convert_to_bpmn(pm4py.read_ptml(str(reallog("receipt-imf.ptml")))),
        str(bpmn),
        auto_layout=False,
    )
    net, _, _ = load_model(bpmn)
    assert sorted({t.label for t in net.transitions if t.label}) == sorted(set(labels))


def test_load_model_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent.pnml"
    with pytest.raises(miner.InputError, match=r"absent\.pnml: no such file"):
        load_model(missing)
    broken = tmp_path / "broken.pnml"
    broken.write_text("<pnml><net id='n'><place id='p1'>", encoding="utf-8")
    with pytest.raises(miner.InputError, match=r"broken\.pnml: cannot be read as PNML"):
        load_model(broken)
    with pytest.raises(miner.UnknownNameError, match=r"'\.txt'"):
        load_model(tmp_path / "model.txt")


def test_reachability_graph_alignments_cost_what_pm4py_astar_costs_on_receipt() -> None:
    """The search on the reachability graph (miner.conformance._automaton) against pm4py's A*:
    the same optimal cost for every one of receipt's 116 variants, hence pm4py's log fitness."""
    graph = check_variants(*receipt_model(), receipt_variants(), workers=1, precision=False,
                           reachability=True)
    astar = receipt_result()
    assert [v.variant for v in graph.variants] == [v.variant for v in astar.variants]
    assert [v.alignment_cost for v in graph.variants] == [v.alignment_cost for v in astar.variants]
    assert graph.log_alignment_fitness == pytest.approx(0.845371, abs=5e-7)
    assert graph.percentage_fitting == pytest.approx(49.72, abs=5e-3)


def test_reduced_reference_net_keeps_the_alignment_costs() -> None:
    """Fusing silent transitions (reduce=True) keeps the language: every planted-style trace of a
    phase aligns with the same cost in visible moves on the full and on the reduced net."""
    from miner.conformance._automaton import align, reachability_automaton
    from miner.conformance._bpmn_net import to_petri_net
    from miner.conformance.swimlane import reference_model

    swim = reference_model()
    aa = {t.label for t in swim.tasks.values() if swim.phase_of(t.label) == "AA"}
    full = to_petri_net(swim, labels=aa)
    reduced = to_petri_net(swim, labels=aa, reduce=True)
    assert len(reduced[0].transitions) < len(full[0].transitions) // 2
    auto_full, auto_reduced = reachability_automaton(*full), reachability_automaton(*reduced)
    assert auto_full is not None and auto_reduced is not None
    labels = sorted(aa)
    for trace in ([], labels[:3], labels[::-1][:4], [labels[0]] * 3):
        a, b = align(auto_full, trace), align(auto_reduced, trace)
        assert a is not None and b is not None
        assert a[0] // 10_000 == b[0] // 10_000, trace
