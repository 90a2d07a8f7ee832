"""``miner discover``: the model written is pm4py's, its fitness and precision are pm4py's, and the
BPMN carries a lane per organisation and a diagram laid out without overlaps."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from lxml import etree

from miner.cli import main
from miner.conformance.discover import BPMN_NS, DC_NS, DI_NS
from tests.conftest import import_pm4py, reallog


def _printed(capsys: pytest.CaptureFixture[str]) -> tuple[float, float]:
    out = capsys.readouterr().out
    fitness = float(out.split("fitness ")[1].split(",")[0])
    precision = float(out.split("precision ")[1].split()[0])
    return fitness, precision


@pytest.mark.parametrize("algorithm", ["inductive", "heuristics"])
def test_the_pnml_and_its_figures_are_pm4pys(algorithm: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "receipt.pnml"
    assert main(["discover", str(reallog("receipt.xes")), "--algorithm", algorithm,
                 "--noise", "0.2", "--out", str(out)]) == 0
    fitness, precision = _printed(capsys)
    pm4py = import_pm4py()
    log = pm4py.read_xes(str(reallog("receipt.xes")))
    if algorithm == "inductive":
        net, im, fm = pm4py.convert_to_petri_net(
            pm4py.discover_process_tree_inductive(log, noise_threshold=0.2))
    else:
        net, im, fm = pm4py.discover_petri_net_heuristics(log, dependency_threshold=0.8)
    read_net, read_im, read_fm = pm4py.read_pnml(str(out))
    assert len(read_net.transitions) == len(net.transitions)
    assert len(read_net.places) == len(net.places)
    expected = pm4py.fitness_token_based_replay(log, net, im, fm)["log_fitness"]
    assert math.isclose(fitness, expected, abs_tol=5e-5)
    assert math.isclose(precision, pm4py.precision_token_based_replay(log, net, im, fm),
                        abs_tol=5e-5)
    assert math.isclose(pm4py.fitness_token_based_replay(log, read_net, read_im, read_fm)
                        ["log_fitness"], expected, abs_tol=1e-9)


def test_the_bpmn_has_a_lane_per_organisation_and_a_laid_out_diagram(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "receipt.bpmn"
    assert main(["discover", str(reallog("receipt.xes")), "--out", str(out)]) == 0
    fitness, _ = _printed(capsys)
    root = etree.parse(str(out)).getroot()
    ns = {"b": BPMN_NS, "di": DI_NS, "dc": DC_NS}
    tasks = {t.get("id"): t.get("name") for t in root.iterfind(".//b:process/b:task", ns)}
    lanes = root.findall(".//b:laneSet/b:lane", ns)
    members = [r.text for lane in lanes for r in lane.findall("b:flowNodeRef", ns)]
    flow_nodes = [n.get("id") for n in root.find(".//b:process", ns)
                  if isinstance(n.tag, str) and etree.QName(n).localname
                  not in ("sequenceFlow", "laneSet")]
    assert sorted(members) == sorted(flow_nodes)  # every flow node in exactly one lane
    pm4py = import_pm4py()
    frame = pm4py.read_xes(str(reallog("receipt.xes")))
    groups = frame.groupby("concept:name")["org:group"].agg(
        lambda s: min(s.value_counts().items(), key=lambda x: (-x[1], x[0]))[0])
    for lane in lanes:
        for ref in lane.findall("b:flowNodeRef", ns):
            if ref.text in tasks:
                assert groups[tasks[ref.text]] == lane.get("name")
    shapes = root.findall(".//di:BPMNShape", ns)
    assert len(shapes) == len(flow_nodes)
    boxes = [tuple(float(s.find("dc:Bounds", ns).get(k)) for k in ("x", "y", "width", "height"))
             for s in shapes]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3]
                        and b[1] < a[1] + a[3])
    assert all(len(e.findall("{http://www.omg.org/spec/DD/20100524/DI}waypoint")) >= 2
               for e in root.findall(".//di:BPMNEdge", ns))
    # the lanes and the diagram change nothing of the model: read back by pm4py, the BPMN
    # replays as pm4py's own BPMN of the same tree does
    tree = pm4py.discover_process_tree_inductive(frame, noise_threshold=0.2)
    ours = pm4py.convert_to_petri_net(pm4py.read_bpmn(str(out)))
    theirs = pm4py.convert_to_petri_net(pm4py.convert_to_bpmn(tree))
    assert math.isclose(pm4py.fitness_token_based_replay(frame, *ours)["log_fitness"],
                        pm4py.fitness_token_based_replay(frame, *theirs)["log_fitness"],
                        abs_tol=1e-9)
    assert 0.9 < fitness <= 1.0
