"""``miner discover``: a process model discovered from a log, written for other tools.

:func:`discover` flattens the log on its case notion, hands the cases' activity sequences to
pm4py's miners (behind the conformance wall, :mod:`miner.conformance._controlflow`) and writes:

* ``.bpmn``: BPMN 2.0 (opens in bpmn.io and Camunda Modeler), with a ``laneSet`` when the log
  names who performs its events: one lane per organisation, holding the tasks of the activities
  that organisation performs most often (ties by name);
* ``.pnml``: the Petri net (ProM, pm4py); ``.ptml``: the process tree (inductive miner only).

Terms: the **inductive** miner (infrequent variant, ``noise`` = the threshold 0..1 below which
directly-follows paths are treated as noise) gives a sound, block-structured model; the
**heuristics** miner (``noise`` = 1 - the dependency threshold) a net that follows the frequent
paths closely. **Fitness** is pm4py's token-based replay fitness of the log on the net, **precision**
its ETConformance precision, both 0..1 (docs/conformance/check.md).
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from miner.errors import InputError, UnknownNameError
from miner.model.flatten import EventLog

Algorithm = Literal["inductive", "heuristics"]
ALGORITHMS = ("inductive", "heuristics")
OUTPUTS = (".bpmn", ".pnml", ".ptml")
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


@dataclass(frozen=True)
class Discovered:
    """What :func:`discover` wrote: the file, the algorithm, the cases it saw and the model's fit."""

    path: Path
    algorithm: str
    noise: float
    cases: int
    variants: int
    fitness: float
    precision: float
    lanes: dict[str, str]


def _frame(view: EventLog) -> Any:
    """The view's steps as the dataframe pm4py reads (case, activity, time)."""
    sql = view.steps_sql()
    return view.log.con.sql(
        f'SELECT case_id AS "case:concept:name", activity AS "concept:name", '
        f'timestamp AS "time:timestamp" FROM ({sql}) ORDER BY case_id, pos').df()


def activity_lanes(view: EventLog, attribute: str = "organisation") -> dict[str, str]:
    """Activity → the organisation (``attribute``) that performs it most often; empty when the
    events carry none."""
    rows = view.log.con.execute("""
        SELECT event_type, value FROM (
            SELECT e.event_type, a.value_string AS value, count(*) AS n,
                   row_number() OVER (PARTITION BY e.event_type ORDER BY count(*) DESC,
                                      a.value_string) AS k
            FROM events e JOIN event_attributes a ON a.event_id = e.event_id AND a.name = ?
            WHERE a.value_string IS NOT NULL GROUP BY 1, 2) WHERE k = 1""", [attribute]).fetchall()
    return {str(a): str(o) for a, o in rows}


def discover(view: EventLog, out: str | Path, *, algorithm: str = "inductive",
             noise: float = 0.2, lanes: dict[str, str] | None = None) -> Discovered:
    """Discover a model of ``view`` with ``algorithm`` and write it to ``out`` (by extension)."""
    from miner.conformance._controlflow import _pm4py, _quiet, check_variants

    out = Path(out)
    if algorithm not in ALGORITHMS:
        raise UnknownNameError("discovery algorithm", algorithm, ALGORITHMS)
    if out.suffix not in OUTPUTS:
        raise UnknownNameError(f"model format (the extension of {out})", out.suffix, OUTPUTS)
    if not 0.0 <= noise <= 1.0:
        raise InputError(f"--noise {noise}: give a share between 0 and 1")
    if out.suffix == ".ptml" and algorithm != "inductive":
        raise InputError(f"{out}: a process tree comes from the inductive miner; use "
                         "--algorithm inductive, or write .pnml or .bpmn")
    pm4py = _pm4py()
    frame = _frame(view)
    cases = int(frame["case:concept:name"].nunique())
    if not cases:
        raise InputError("the log has no cases to discover a model from")
    with _quiet(), contextlib.redirect_stderr(io.StringIO()):  # pm4py's progress bars
        if algorithm == "inductive":
            tree = pm4py.discover_process_tree_inductive(frame, noise_threshold=noise)
            net, im, fm = pm4py.convert_to_petri_net(tree)
        else:
            tree = None
            net, im, fm = pm4py.discover_petri_net_heuristics(
                frame, dependency_threshold=1.0 - noise)
        # pm4py's token-based fitness and precision, by miner's port of its replay, once per
        # variant (minutes faster on a large log; the same figures, docs/conformance/controlflow.md)
        traces = frame.groupby("case:concept:name", sort=False)["concept:name"].agg(tuple)
        checked = check_variants(net, im, fm, traces.value_counts().to_dict(), alignments=False,
                                 workers=1)
        fitness = float(checked.log_replay_fitness)
        precision = float(checked.precision if checked.precision is not None else 0.0)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix == ".pnml":
            pm4py.write_pnml(net, im, fm, str(out))
        elif out.suffix == ".ptml":
            pm4py.write_ptml(tree, str(out))
        else:
            bpmn = (pm4py.convert_to_bpmn(tree) if tree is not None
                    else pm4py.convert_to_bpmn(net, im, fm))
            pm4py.write_bpmn(bpmn, str(out), auto_layout=False)
    used = dict(lanes or {})
    if out.suffix == ".bpmn":
        if used:
            _add_lanes(out, used)
        _lay_out(out)
    variants = int(traces.nunique())
    return Discovered(out, algorithm, noise, cases, variants, fitness, precision, used)


def _add_lanes(path: Path, lanes: dict[str, str]) -> None:
    """Give the BPMN process a laneSet: one lane per organisation with its tasks; the other flow
    nodes (gateways, events) go to the lane of the task they lead to, else the first lane."""
    from lxml import etree

    tree = etree.parse(str(path))
    ns = {"b": BPMN_NS}
    process = tree.find(".//b:process", ns)
    if process is None:
        return
    nodes = [n for n in process if isinstance(n.tag, str) and n.get("id")
             and etree.QName(n).localname not in ("sequenceFlow", "laneSet")]
    task_lane = {n.get("id"): lanes.get(n.get("name") or "") for n in nodes
                 if etree.QName(n).localname == "task"}
    targets: dict[str, list[str]] = {}
    for flow in process.findall("b:sequenceFlow", ns):
        targets.setdefault(flow.get("sourceRef") or "", []).append(flow.get("targetRef") or "")
    names = sorted({lane for lane in task_lane.values() if lane})
    if not names:
        return

    def lane_of(node_id: str, seen: set[str]) -> str:
        if task_lane.get(node_id):
            return str(task_lane[node_id])
        for target in targets.get(node_id, []):
            if target not in seen:
                found = lane_of(target, seen | {target})
                if found:
                    return found
        return names[0]

    members: dict[str, list[str]] = {name: [] for name in names}
    for node in nodes:
        node_id = str(node.get("id"))
        members[lane_of(node_id, {node_id})].append(node_id)
    lane_set = etree.Element(f"{{{BPMN_NS}}}laneSet", id="laneSet_miner")
    for i, name in enumerate(names):
        lane = etree.SubElement(lane_set, f"{{{BPMN_NS}}}lane", id=f"lane_{i}", name=name)
        for node_id in members[name]:
            etree.SubElement(lane, f"{{{BPMN_NS}}}flowNodeRef").text = node_id
    process.insert(0, lane_set)
    tree.write(str(path), xml_declaration=True, encoding="utf-8")


#: the size of each kind of flow node in the diagram (px)
_SIZES = {"task": (120.0, 60.0), "exclusiveGateway": (40.0, 40.0), "parallelGateway": (40.0, 40.0),
          "inclusiveGateway": (40.0, 40.0), "startEvent": (36.0, 36.0), "endEvent": (36.0, 36.0)}
DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
OMGDI_NS = "http://www.omg.org/spec/DD/20100524/DI"


def _lay_out(path: Path) -> None:
    """Replace the diagram of ``path`` with dagre's layout (the report's and explorer's layout
    library): one shape per flow node, one edge with its bend points per sequence flow."""
    from lxml import etree

    from miner.report.processmap import dagre_layout

    tree = etree.parse(str(path))
    root = tree.getroot()
    process = root.find(f"{{{BPMN_NS}}}process")
    if process is None:
        return
    nodes = [n for n in process if isinstance(n.tag, str)
             and etree.QName(n).localname not in ("sequenceFlow", "laneSet")]
    flows = process.findall(f"{{{BPMN_NS}}}sequenceFlow")
    size = {str(n.get("id")): _SIZES.get(etree.QName(n).localname, (40.0, 40.0)) for n in nodes}
    found = dagre_layout({
        "graph": {"rankdir": "LR", "nodesep": 30, "ranksep": 50, "marginx": 20, "marginy": 20},
        "nodes": [{"id": i, "width": w, "height": h, "lane": None} for i, (w, h) in size.items()],
        "edges": [{"source": f.get("sourceRef"), "target": f.get("targetRef"), "width": 0,
                   "height": 0} for f in flows]})
    for old in root.findall(f"{{{DI_NS}}}BPMNDiagram"):
        root.remove(old)
    diagram = etree.SubElement(root, f"{{{DI_NS}}}BPMNDiagram", id="diagram_miner")
    plane = etree.SubElement(diagram, f"{{{DI_NS}}}BPMNPlane", id="plane_miner",
                             bpmnElement=str(process.get("id")))
    for node_id, (w, h) in size.items():
        centre = found["nodes"][node_id]
        shape = etree.SubElement(plane, f"{{{DI_NS}}}BPMNShape", id=f"shape_{node_id}",
                                 bpmnElement=node_id)
        etree.SubElement(shape, f"{{{DC_NS}}}Bounds", x=f"{centre['x'] - w / 2:.1f}",
                         y=f"{centre['y'] - h / 2:.1f}", width=f"{w:.1f}", height=f"{h:.1f}")
    routes = {(r["source"], r["target"]): r["points"] for r in found["edges"]}
    for flow in flows:
        edge = etree.SubElement(plane, f"{{{DI_NS}}}BPMNEdge", id=f"edge_{flow.get('id')}",
                                bpmnElement=str(flow.get("id")))
        for point in routes.get((flow.get("sourceRef"), flow.get("targetRef")), []):
            etree.SubElement(edge, f"{{{OMGDI_NS}}}waypoint", x=f"{point['x']:.1f}",
                             y=f"{point['y']:.1f}")
    tree.write(str(path), xml_declaration=True, encoding="utf-8")
