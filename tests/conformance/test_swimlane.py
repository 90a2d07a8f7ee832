"""The reference swimlane model (BPMN 2.0 with lanes), its reader and its Petri net."""

from __future__ import annotations

import random
import tomllib
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from miner.conformance import ModelError, read_swimlane_model, reference_model
from miner.conformance._bpmn_net import to_petri_net
from miner.conformance.reference_build import build_bpmn
from miner.conformance.swimlane import reference_path
from miner.simulation import SimulationResult
from tests.conftest import import_pm4py

ROOT = Path(__file__).resolve().parents[2]
CHAIN = tomllib.loads((ROOT / "miner/data/scenarios/chain.toml").read_text("utf-8"))["activity"]
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
LABEL = {a["id"]: a["label"] for a in CHAIN}

# A spoor-4 foreigner granted a permit in the AA: the order the simulator records (journey view)
GRANTED = [
    "A01", "A02", "A03", "A04", "A05", "A06", "A08", "A09", "A08", "A10", "A11", "A12", "A13",
    "A14", "A15", "X02", "R04", "R01", "R06", "R05", "R07", "R03", "R08", "P01", "P02", "P03",
    "P04", "P05", "P06", "P08", "P10", "U01", "U02",
]


def test_reference_model_has_every_catalogue_activity_with_its_exact_label_and_lanes() -> None:
    model = reference_model()
    assert model.name == "Vreemdelingenketen"
    assert sum(a["reference"] for a in CHAIN) == 56
    assert model.labels() == {a["label"] for a in CHAIN}
    for activity in CHAIN:
        lanes = {part.strip() for part in activity["lane"].split(",")}
        assert model.organisations_for(activity["label"]) == lanes, activity["id"]
    assert model.organisations_for("Behandeling regietafel") == {"Politie", "IND", "COA", "DT&V"}
    assert model.organisations_for("Geen activiteit") == frozenset()
    assert [lane.name for lane in model.lanes.values()] == [
        "Politie", "IND", "COA", "DT&V", "KMar", "GZA", "VluchtelingenWerk", "advocaat", "tolk",
        "gemeenten", "DJI", "rechtspraak",
    ]


def test_reference_model_tasks_carry_the_phase_of_phases_toml() -> None:
    model = reference_model()
    assert model.phase_of(LABEL["A13"]) == "aanmeldfase"
    assert model.phase_of(LABEL["R03"]) == "RVT"
    assert model.phase_of(LABEL["P08"]) == "AA"
    assert model.phase_of(LABEL["X16"]) == "VA"
    assert model.phase_of(LABEL["P09"]) == "beroep"
    assert model.phase_of(LABEL["P10"]) == "uitstroom"
    assert model.phase_of(LABEL["V14"]) == "vertrek"
    assert model.phase_of("Geen activiteit") is None


def test_reference_model_expected_handoffs_follow_the_flows() -> None:
    handoffs = reference_model().expected_handoffs()
    assert ("IND", "Politie") in handoffs            # A01 -> A02 (first application)
    assert ("Politie", "COA") in handoffs            # A08 -> A09
    assert ("IND", "tolk") in handoffs               # R08 … P01 -> P02 (joint with the tolk)
    assert ("DT&V", "KMar") in handoffs              # V13 -> V15 / V19
    assert ("GZA", "Politie") not in handoffs
    assert all(a != b for a, b in handoffs)


def test_shipped_bpmn_equals_a_fresh_build() -> None:
    assert reference_path().read_bytes() == build_bpmn().encode("utf-8")


def test_every_flow_node_has_a_shape_inside_its_lane_and_every_flow_an_edge() -> None:
    root = ET.parse(reference_path()).getroot()
    process = root.find("bpmn:process", NS)
    assert process is not None
    nodes = {el.get("id") for el in process if el.get("id") and not el.tag.endswith(("laneSet", "sequenceFlow"))}
    flows = {el.get("id") for el in process.findall("bpmn:sequenceFlow", NS)}
    shapes = {s.get("bpmnElement"): s.find("dc:Bounds", NS) for s in root.iter(f"{{{NS['bpmndi']}}}BPMNShape")}
    edges = {e.get("bpmnElement"): e for e in root.iter(f"{{{NS['bpmndi']}}}BPMNEdge")}
    assert nodes and nodes <= set(shapes)
    assert flows == set(edges)
    assert all(len(e.findall("di:waypoint", NS)) >= 2 for e in edges.values())

    def box(el: Any) -> tuple[float, float, float, float]:
        return tuple(float(el.get(k)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]

    for lane in process.iter(f"{{{NS['bpmn']}}}lane"):
        lx, ly, lw, lh = box(shapes[lane.get("id")])
        refs = [r.text for r in lane.findall("bpmn:flowNodeRef", NS)]
        for ref in refs:
            x, y, w, h = box(shapes[ref])
            assert lx <= x and x + w <= lx + lw and ly <= y and y + h <= ly + lh, ref


def test_pm4py_reads_the_bpmn_and_the_net_is_a_workflow_net() -> None:
    pm4py = import_pm4py()
    bpmn = pm4py.read_bpmn(str(reference_path()))
    model = reference_model()
    assert len(bpmn.get_flows()) == len(model.flows)
    assert {n.get_id() for n in bpmn.get_nodes()} >= set(model.tasks) | set(model.nodes)
    net, _, _ = to_petri_net(model)
    assert pm4py.check_is_workflow_net(net)
    assert {t.label for t in net.transitions if t.label} == model.labels()
    projected, _, _ = to_petri_net(model, labels={LABEL["A01"], LABEL["A13"]})
    assert {t.label for t in projected.transitions if t.label} == {LABEL["A01"], LABEL["A13"]}


@pytest.mark.slow
def test_reference_net_is_sound() -> None:
    pm4py = import_pm4py()
    net, im, fm = to_petri_net(reference_model())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pm4py marks it for removal in 3.0
        warnings.simplefilter("ignore", PendingDeprecationWarning)  # numpy.matrix inside pm4py
        assert pm4py.check_soundness(net, im, fm)[0]


def _fitness(traces: list[list[str]], labels: set[str] | None = None) -> list[float]:
    pm4py = import_pm4py()
    from pm4py.algo.conformance.alignments.petri_net import algorithm as alignments
    from pm4py.objects.log.obj import Event, Trace

    net, im, fm = to_petri_net(reference_model(), labels=labels)
    del pm4py
    with warnings.catch_warnings():
        # pm4py's alignments call numpy's np.matrix, which warns (not ours to fix)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return [
            alignments.apply_trace(Trace([Event({"concept:name": a}) for a in t]), net, im, fm)[
                "fitness"
            ]
            for t in traces
        ]


def _labels(ids: list[str]) -> list[str]:
    return [LABEL[i] for i in ids]


def test_normal_journeys_fit_and_each_planted_deviation_does_not() -> None:
    refused_appeal_departure = [
        *GRANTED[:29], "P07", "U01", "P08", "P09", "X17", "V01", "V02", "V03", "V04", "V05",
        "V06", "V07", "V07", "V09", "V10", "V11", "V12", "V13", "X19", "V21",
    ]
    hasa_to_aa = ["A01", "A09", "A10", "A11", "A12", "A13", "A14", "A15", "X02", "X15", "R04",
                  "R01", "R07", "R05", "R06", "R03", "R08", "P01", "P02", "P03", "X10", "P04",
                  "P05", "P06", "P10", "U01", "X16", "U02"]
    kmar_dossier = ["V01", "V01", "V02", "V03", "V04", "V05", "V06", "V07", "V09", "V10", "V11",
                    "V12", "V13", "X21", "V14", "V15", "V16", "V17", "V18", "V19", "X20", "V20",
                    "V21"]
    normal = [GRANTED, refused_appeal_departure, hasa_to_aa, kmar_dossier]
    assert _fitness([_labels(t) for t in normal]) == [1.0] * 4

    i12, i13, i14 = GRANTED.index("A12"), GRANTED.index("A13"), GRANTED.index("A14")
    skipped_medical = GRANTED[:i12] + GRANTED[i12 + 1:]
    late_medical = GRANTED[:i12] + GRANTED[i12 + 1:i14 + 1] + ["A12"] + GRANTED[i14 + 1:]
    repeated_photo = GRANTED[:3] + ["A03"] + GRANTED[3:]
    spoor_after_hearing = GRANTED[:i13] + ["A14", "A13"] + GRANTED[i14 + 1:]
    fitness = _fitness([_labels(t) for t in (skipped_medical, late_medical, repeated_photo,
                                              spoor_after_hearing)])
    assert all(f < 1.0 for f in fitness), fitness
    # documents examined by the Politie: a lane deviation, not a control-flow one
    assert "Politie" not in reference_model().organisations_for(LABEL["R02"])
    assert reference_model().organisations_for(LABEL["R02"]) == {"KMar"}


def _sim_traces(run: SimulationResult) -> tuple[pd.Series, pd.DataFrame]:
    rows = pd.read_parquet(run.out / "truth" / "rows.parquet")
    people = pd.read_parquet(run.out / "truth" / "foreigners.parquet").set_index("foreigner")
    rows = rows[(rows.foreigner >= 0) & (rows.fault == "")]
    rows = rows.sort_values(["foreigner", "time_local", "file", "row"], kind="stable")
    return rows.groupby("foreigner").label.agg(tuple), people


@pytest.mark.slow
def test_simulated_journeys_without_planted_deviations_replay_with_fitness_one(
    default_run: SimulationResult,
) -> None:
    traces, people = _sim_traces(default_run)
    dev = [c for c in people.columns if c.startswith("dev_")]
    faults = [c for c in people.columns if c.startswith("f_")]
    clean = people[~people[dev].fillna(False).astype(bool).any(axis=1)
                   & ~people[faults].fillna(0).astype(bool).any(axis=1)
                   & ~people.origin.str.startswith("beginstand")]
    ok = traces[traces.index.isin(clean.index)]
    housed = clean.housed.reindex(ok.index).fillna(False).astype(bool)
    done = ok[ok.map(lambda t: t[-1] == LABEL["V21"]) | housed]
    variants = sorted(set(done))
    assert len(variants) > 200
    sample = random.Random(1).sample(variants, 200)
    recorded = {label for t in ok for label in t}
    fitness = _fitness([list(v) for v in sample], labels=recorded)
    assert fitness == [1.0] * len(sample)

    for column in ("dev_skipped_medical", "dev_repeat_photo", "dev_spoor_after_hearing"):
        flagged = traces[traces.index.isin(people.index[people[column].fillna(False).astype(bool)])]
        chosen = sorted(set(flagged))[:20]
        assert chosen, column
        assert all(f < 1.0 for f in _fitness([list(v) for v in chosen], labels=recorded)), column


MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="p" name="Eigen model">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="L1" name="Team Identificatie"><bpmn:flowNodeRef>{lane_ref}</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="L2" name="IND"><bpmn:flowNodeRef>t2</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    {start}
    <bpmn:task id="t1" name="{name}" />
    <bpmn:task id="t2" name="Bepalen van spoor" />
    {end}
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t1" />
    <bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="{target}" />
    <bpmn:sequenceFlow id="f3" sourceRef="t2" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>
"""


def _write(tmp_path: Path, **kw: str) -> Path:
    values = {"lane_ref": "t1", "start": '<bpmn:startEvent id="s" />', "name": "Online onderzoek",
              "end": '<bpmn:endEvent id="e" />', "target": "t2"} | kw
    path = tmp_path / "model.bpmn"
    path.write_text(MINIMAL.format(**values), encoding="utf-8")
    return path


def test_own_model_maps_lane_names_to_organisations(tmp_path: Path) -> None:
    model = read_swimlane_model(_write(tmp_path), lane_organisations={"Team Identificatie": "Politie"})
    assert model.name == "Eigen model"
    assert model.organisations_for("Online onderzoek") == {"Politie"}
    assert model.organisations_for("Bepalen van spoor") == {"IND"}
    assert model.expected_handoffs() == {("Politie", "IND")}
    assert model.phase_of("Bepalen van spoor") == "aanmeldfase"   # from the catalogue
    unmapped = read_swimlane_model(_write(tmp_path))
    assert unmapped.organisations_for("Online onderzoek") == {"Team Identificatie"}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"target": "nergens"}, r"model\.bpmn: sequence flow 'f2' has targetRef='nergens'"),
        ({"lane_ref": "t9"}, r"model\.bpmn: lane 'L1' .* flowNodeRef 't9'"),
        ({"start": '<bpmn:intermediateThrowEvent id="s" />'}, r"model\.bpmn: process 'p' has no startEvent"),
        ({"end": '<bpmn:intermediateThrowEvent id="e" />'}, r"model\.bpmn: process 'p' has no endEvent"),
        ({"name": ""}, r"model\.bpmn: task 't1' has no name"),
    ],
)
def test_malformed_model_raises_model_error_naming_the_element(
    tmp_path: Path, change: dict[str, str], match: str
) -> None:
    path = _write(tmp_path, **change)
    with pytest.raises(ModelError, match=match):
        read_swimlane_model(path)


def test_model_that_is_not_xml_raises_model_error_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.bpmn"
    path.write_text('<?xml version="1.0"?>\n<bpmn:definitions>\n  <a>\n</bpmn:definitions>\n', "utf-8")
    with pytest.raises(ModelError, match=r"broken\.bpmn: line \d+, column \d+: not well-formed XML"):
        read_swimlane_model(path)
