"""The swimlane model: a BPMN 2.0 process with lanes, read into a small typed value.

A *swimlane model* says, for every task (activity), which organisations may perform it (the lanes
that hold it) and in which order tasks may follow each other (sequence flows through gateways and
events). :func:`read_swimlane_model` reads one from a BPMN file with the standard library's
ElementTree; :func:`reference_model` is the chain's own reference model shipped with miner
(``miner/data/reference/vreemdelingenketen.bpmn``, see ``docs/conformance/reference-model.md``).

A task belongs to the lanes whose ``flowNodeRef`` names it, plus the lanes listed by name in the
extension attribute ``miner:lanes`` (a joint activity such as "Behandeling regietafel" is drawn in
one lane but performed by four organisations). A lane's organisation is its name unless
``lane_organisations`` maps the name to another one.

Control flow is checked on one event per activity occurrence: the ``start`` event of a COA stay
(``Instroom in de col``, ``Verblijf in nachtopvang`` …, which carry ``start`` and ``complete``) and
the ``complete`` event of every other activity (:data:`CONTROL_FLOW_LIFECYCLE`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from miner.errors import ModelError

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
MINER_NS = "https://miner.example.org/bpmn"
_B = f"{{{BPMN_NS}}}"

#: The lifecycle of the one event per activity occurrence that control-flow checks use: the start
#: of a stay (an activity with both ``start`` and ``complete`` events), the completion otherwise.
CONTROL_FLOW_LIFECYCLE = {"stay": "start", "other": "complete"}

TASK_TAGS = frozenset({
    "task", "userTask", "serviceTask", "manualTask", "sendTask", "receiveTask", "scriptTask",
    "businessRuleTask", "callActivity", "subProcess",
})
EVENT_TAGS = frozenset({
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
})
GATEWAY_TAGS = frozenset({
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
    "complexGateway",
})


@dataclass(frozen=True)
class Lane:
    """One lane: its BPMN ``id``, its ``name`` and the organisations it stands for."""

    id: str
    name: str
    organisations: frozenset[str]


@dataclass(frozen=True)
class Task:
    """One task: BPMN ``id``, exact activity ``label``, the ids of the ``lanes`` that hold it (the
    lane it is drawn in first) and its journey ``phase`` key (``miner/data/phases.toml``)."""

    id: str
    label: str
    lanes: tuple[str, ...]
    phase: str | None


@dataclass(frozen=True)
class Flow:
    """One sequence flow between two flow nodes (tasks, gateways or events), by id."""

    id: str
    source: str
    target: str


@dataclass(frozen=True)
class SwimlaneModel:
    """A process model with lanes: lanes and tasks by id, and the sequence flows.

    ``nodes`` gives the BPMN element name (``exclusiveGateway``, ``startEvent`` …) of every flow
    node that is not a task; together with ``flows`` it is the control flow
    (:func:`miner.conformance._bpmn_net.to_petri_net` turns it into a Petri net).
    """

    name: str
    path: str | None
    lanes: Mapping[str, Lane]
    tasks: Mapping[str, Task]
    flows: tuple[Flow, ...]
    nodes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def labels(self) -> frozenset[str]:
        """The activity labels of the tasks."""
        return frozenset(t.label for t in self.tasks.values())

    def organisations_for(self, label: str) -> frozenset[str]:
        """The organisations allowed to perform ``label``: those of every lane of every task with
        that label; empty when the model has no such task."""
        return frozenset(
            org
            for task in self.tasks.values() if task.label == label
            for lane in task.lanes
            for org in self.lanes[lane].organisations
        )

    def phase_of(self, label: str) -> str | None:
        """The phase key of the first task with ``label``, or None."""
        return next((t.phase for t in self.tasks.values() if t.label == label), None)

    def expected_handoffs(self) -> frozenset[tuple[str, str]]:
        """The hand-offs the model draws: (organisation A, organisation B), A != B, when a flow path
        that passes only gateways and events leads from a task of A's lane to a task of B's lane."""
        successors: dict[str, list[str]] = {}
        for flow in self.flows:
            successors.setdefault(flow.source, []).append(flow.target)
        pairs: set[tuple[str, str]] = set()
        for task in self.tasks.values():
            source_orgs = self._organisations_of(task)
            seen: set[str] = set()
            todo = list(successors.get(task.id, ()))
            while todo:
                node = todo.pop()
                if node in seen:
                    continue
                seen.add(node)
                if node in self.tasks:
                    for a in source_orgs:
                        for b in self._organisations_of(self.tasks[node]):
                            if a != b:
                                pairs.add((a, b))
                else:
                    todo.extend(successors.get(node, ()))
        return frozenset(pairs)

    def _organisations_of(self, task: Task) -> frozenset[str]:
        return frozenset(org for lane in task.lanes for org in self.lanes[lane].organisations)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_swimlane_model(
    path: str | Path, *, lane_organisations: Mapping[str, str] | None = None
) -> SwimlaneModel:
    """Read a BPMN 2.0 file with lanes into a :class:`SwimlaneModel`.

    Args:
        path: the ``.bpmn`` file (one or more processes; lanes from their ``laneSet``).
        lane_organisations: lane name -> organisation, for models whose lanes are teams or roles
            ("Team Identificatie" -> "Politie"); an unmapped lane name is its own organisation.

    Returns:
        The model; a task's phase is its ``miner:phase`` attribute, else the phase of the catalogue
        activity with the same label, else None.

    Raises:
        ModelError: the file is not well-formed XML (file and line), or a flow names a node that
            does not exist, a lane names an unknown node, a task has no name, the process has no
            start or no end event (the message names the element id and the file).
        InputError: the file cannot be read; UnsafeInputError when it declares XML entities.

    Example:
        >>> from miner.conformance import reference_model
        >>> sorted(reference_model().organisations_for("Behandeling regietafel"))
        ['COA', 'DT&V', 'IND', 'Politie']
    """
    from miner.formats._input import check_file, check_xml_prolog

    path = Path(path)
    check_file(path)
    data = path.read_bytes()
    check_xml_prolog(path, data[: 1 << 16])
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        raise ModelError(
            f"{path}: line {line}, column {column}: not well-formed XML ({exc}). A BPMN model "
            "must be an XML file; open it in a BPMN editor and save it again."
        ) from exc
    mapping = dict(lane_organisations or {})
    processes = [el for el in root.iter() if el.tag == f"{_B}process"]
    if not processes:
        raise ModelError(f"{path}: no <bpmn:process> element; is this a BPMN 2.0 file?")
    participant = next((el for el in root.iter() if el.tag == f"{_B}participant"), None)
    name = (participant.get("name") if participant is not None else None) or \
        processes[0].get("name") or path.stem

    elements: dict[str, ET.Element] = {}
    kinds: dict[str, str] = {}
    flows: list[Flow] = []
    lane_elements: list[ET.Element] = []
    for process in processes:
        for el in process.iter():
            kind = _local(el.tag)
            if kind == "lane":
                lane_elements.append(el)
            if not el.tag.startswith(_B):
                continue
            if kind in TASK_TAGS or kind in EVENT_TAGS or kind in GATEWAY_TAGS:
                node_id = _id(el, path)
                if node_id in elements:
                    raise ModelError(f"{path}: the id {node_id!r} is used by two flow nodes.")
                elements[node_id], kinds[node_id] = el, kind
            elif kind == "sequenceFlow":
                flows.append(Flow(_id(el, path), el.get("sourceRef", ""), el.get("targetRef", "")))

    for flow in flows:
        for end, ref in (("sourceRef", flow.source), ("targetRef", flow.target)):
            if ref not in elements:
                raise ModelError(
                    f"{path}: sequence flow {flow.id!r} has {end}={ref!r}, which is not a task, "
                    "gateway or event of the process (a dangling flow). Connect it in the editor."
                )

    lanes: dict[str, Lane] = {}
    lanes_of: dict[str, list[str]] = {}
    for el in lane_elements:
        lane_id = _id(el, path)
        lane_name = el.get("name") or lane_id
        lanes[lane_id] = Lane(lane_id, lane_name, frozenset({mapping.get(lane_name, lane_name)}))
        for ref_el in el.findall(f"{_B}flowNodeRef"):
            ref = (ref_el.text or "").strip()
            if ref not in elements:
                raise ModelError(
                    f"{path}: lane {lane_id!r} ({lane_name}) has flowNodeRef {ref!r}, which is not "
                    "a flow node of the process. Remove the reference or add the node."
                )
            lanes_of.setdefault(ref, []).append(lane_id)
    by_name = {lane.name: lane.id for lane in lanes.values()}

    tasks: dict[str, Task] = {}
    nodes: dict[str, str] = {}
    for node_id, el in elements.items():
        kind = kinds[node_id]
        if kind not in TASK_TAGS:
            nodes[node_id] = kind
            continue
        label = (el.get("name") or "").strip()
        if not label:
            raise ModelError(
                f"{path}: task {node_id!r} has no name. The name is the activity label the event "
                "log records; give the task one."
            )
        own = list(lanes_of.get(node_id, ()))
        for lane_name in _split(el.get(f"{{{MINER_NS}}}lanes")):
            if lane_name not in by_name:
                raise ModelError(
                    f"{path}: task {node_id!r} names lane {lane_name!r} in miner:lanes, which is "
                    f"not a lane of the model (lanes: {', '.join(sorted(by_name))})."
                )
            if by_name[lane_name] not in own:
                own.append(by_name[lane_name])
        tasks[node_id] = Task(node_id, label, tuple(own),
                              el.get(f"{{{MINER_NS}}}phase") or _catalogue_phase(label))

    for needed in ("startEvent", "endEvent"):
        if needed not in nodes.values():
            raise ModelError(
                f"{path}: process {processes[0].get('id', '')!r} has no {needed}; a model needs "
                "at least one start and one end event."
            )
    return SwimlaneModel(
        name=name,
        path=str(path),
        lanes=MappingProxyType(lanes),
        tasks=MappingProxyType(tasks),
        flows=tuple(flows),
        nodes=MappingProxyType(nodes),
    )


def _id(el: ET.Element, path: Path) -> str:
    node_id = el.get("id")
    if not node_id:
        raise ModelError(f"{path}: a <{_local(el.tag)}> element (name {el.get('name')!r}) has no id.")
    return node_id


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _catalogue_phase(label: str) -> str | None:
    from miner.analysis.handoffs import journey_phases
    from miner.catalogue import chain_catalogue

    _, phases = journey_phases()
    for activity in chain_catalogue().values():
        if activity.label == label:
            return phases[activity.id]
    return None


def reference_path() -> Path:
    """The shipped reference model file."""
    return Path(str(resources.files("miner") / "data" / "reference" / "vreemdelingenketen.bpmn"))


@cache
def reference_model() -> SwimlaneModel:
    """The chain's reference swimlane model shipped with miner (read once, then cached).

    Example:
        >>> reference_model().phase_of("Bepalen van spoor")
        'aanmeldfase'
    """
    return read_swimlane_model(reference_path())
