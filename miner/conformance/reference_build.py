"""Build the chain's reference swimlane model (BPMN 2.0 with lanes and diagram interchange) from data.

Inputs, all shipped in ``miner/data``: ``reference/vreemdelingenketen.toml`` (lanes, gateways and
sequence flows, each block citing the seed), ``scenarios/chain.toml`` (exact label and lanes of
every activity) and ``phases.toml`` (the phase of every activity). The output is
``reference/vreemdelingenketen.bpmn``: one pool, one horizontal lane per organisation, tasks placed
left to right in journey order (longest path from the start, loops drawn back underneath), every
flow node a ``BPMNShape`` and every sequence flow a ``BPMNEdge``. The build is deterministic: the
same inputs give the same bytes.

A task performed by several organisations is referenced by the first lane its catalogue entry
lists and drawn there; all its lanes are named in the extension attribute ``miner:lanes``.

Regenerate with ``python -m miner.conformance.reference_build`` (or ``--out FILE``).
"""

from __future__ import annotations

import argparse
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from miner.conformance.swimlane import BPMN_NS, MINER_NS, reference_path
from miner.errors import ModelError

DATA_FILE = "vreemdelingenketen.toml"
COLUMN = 150                   # horizontal distance between journey steps
SLOT = 100                     # vertical room for one node within a lane
LANE_X, CONTENT_X = 30, 110    # lanes start after the pool's label strip; nodes after the lane's
SIZES = {"task": (100, 80), "gateway": (50, 50), "event": (36, 36)}
_ARROW = re.compile(r"\s*>(?:\[([^\]]*)\])?\s*")


@dataclass
class _Node:
    key: str                   # the name used in the data file
    kind: str                  # task | gateway | event
    tag: str                   # BPMN element name
    bpmn_id: str
    name: str
    lane: str = ""
    lanes: tuple[str, ...] = ()
    activity: str = ""
    phase: str = ""
    column: int = 0
    slot: int = 0


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "", text.replace("&", ""))


def _load() -> tuple[dict[str, Any], dict[str, Any]]:
    from miner.analysis.handoffs import journey_phases
    from miner.catalogue import chain_catalogue

    text = (resources.files("miner") / "data" / "reference" / DATA_FILE).read_text("utf-8")
    _, phases = journey_phases()
    return tomllib.loads(text), {"catalogue": chain_catalogue(), "phases": phases}


def _parse(data: dict[str, Any], facts: dict[str, Any]) -> tuple[dict[str, _Node], list[tuple[str, str, str]]]:
    catalogue, phases = facts["catalogue"], facts["phases"]
    nodes: dict[str, _Node] = {}
    flows: list[tuple[str, str, str]] = []

    def node(key: str) -> str:
        if key in nodes:
            return key
        if key == "start" or key.startswith("end_"):
            if key not in data["events"]:
                raise ModelError(f"{DATA_FILE}: event {key!r} has no name under [events].")
            tag = "startEvent" if key == "start" else "endEvent"
            nodes[key] = _Node(key, "event", tag, f"Event_{key}", data["events"][key])
        elif key.startswith(("xor_", "and_")):
            if key not in data["gateways"]:
                raise ModelError(f"{DATA_FILE}: gateway {key!r} is not listed under [gateways].")
            tag = "exclusiveGateway" if key.startswith("xor_") else "parallelGateway"
            nodes[key] = _Node(key, "gateway", tag, f"Gateway_{key}", data["gateways"][key])
        else:
            activity = key.split("_", 1)[0]
            if activity not in catalogue:
                raise ModelError(f"{DATA_FILE}: {key!r} is not a chain.toml activity id.")
            entry = catalogue[activity]
            lanes = tuple(part.strip() for part in entry.lane.split(","))
            unknown = [lane for lane in lanes if lane not in data["pool"]["lanes"]]
            if unknown:
                raise ModelError(f"{DATA_FILE}: activity {activity} has lanes {unknown} not in [pool].")
            nodes[key] = _Node(key, "task", "task", f"Task_{key}", entry.label, lanes[0], lanes,
                               activity, phases[activity])
        return key

    for path in data["flows"]["paths"]:
        parts = _ARROW.split(path)          # [node, name, node, name, node ...]
        keys, names = parts[0::2], parts[1::2]
        for i, name in enumerate(names):
            flows.append((node(keys[i].strip()), node(keys[i + 1].strip()), name or ""))
    pairs = [(s, t) for s, t, _ in flows]
    if len(set(pairs)) != len(pairs):
        raise ModelError(f"{DATA_FILE}: a sequence flow is listed twice.")
    return nodes, flows


def _layout(nodes: dict[str, _Node], flows: list[tuple[str, str, str]]) -> set[tuple[str, str]]:
    """Columns by longest path from the start over the flows without loops; returns the loop edges."""
    out: dict[str, list[str]] = {}
    for s, t, _ in flows:
        out.setdefault(s, []).append(t)
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}
    order: list[str] = []
    stack: list[tuple[str, int]] = [("start", 0)]
    state["start"] = 1
    while stack:                                  # iterative DFS: back edges and a post-order
        key, i = stack.pop()
        succ = out.get(key, [])
        if i < len(succ):
            stack.append((key, i + 1))
            nxt = succ[i]
            if state.get(nxt) == 1:
                back.add((key, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, 0))
        else:
            state[key] = 2
            order.append(key)
    missing = sorted(set(nodes) - set(state))
    if missing:
        raise ModelError(f"{DATA_FILE}: not reachable from the start: {', '.join(missing)}.")
    for key in reversed(order):                   # topological order of the acyclic part
        for nxt in out.get(key, []):
            if (key, nxt) not in back:
                nodes[nxt].column = max(nodes[nxt].column, nodes[key].column + 1)
    # a gateway or event is drawn in the lane of the node it follows (the start: the one it leads to)
    incoming: dict[str, list[str]] = {}
    for s, t, _ in flows:
        incoming.setdefault(t, []).append(s)
    for key in reversed(order):
        n = nodes[key]
        if n.kind != "task":
            n.lane = next((nodes[p].lane for p in incoming.get(key, []) if nodes[p].lane), "")
    for key in order:
        n = nodes[key]
        if not n.lane:
            n.lane = next(nodes[t].lane for t in out[key] if nodes[t].lane)
    used: dict[tuple[str, int], int] = {}
    for n in nodes.values():
        n.slot = used.get((n.lane, n.column), 0)
        used[(n.lane, n.column)] = n.slot + 1
    return back


def build_bpmn() -> str:
    """The reference model as BPMN 2.0 XML text (deterministic)."""
    data, facts = _load()
    nodes, flows = _parse(data, facts)
    back = _layout(nodes, flows)
    lane_names: list[str] = data["pool"]["lanes"]
    slots = {lane: 1 for lane in lane_names}
    for n in nodes.values():
        slots[n.lane] = max(slots[n.lane], n.slot + 1)
    lane_y: dict[str, int] = {}
    y = 0
    for lane in lane_names:
        lane_y[lane] = y
        y += slots[lane] * SLOT + 20
    height = y
    width = CONTENT_X + (max(n.column for n in nodes.values()) + 1) * COLUMN
    bounds: dict[str, tuple[int, int, int, int]] = {}
    for n in nodes.values():
        w, h = SIZES[n.kind]
        cx = CONTENT_X + n.column * COLUMN + 50
        cy = lane_y[n.lane] + 10 + n.slot * SLOT + 50
        bounds[n.key] = (cx - w // 2, cy - h // 2, w, h)
    flow_ids = [f"Flow_{i:03d}" for i in range(1, len(flows) + 1)]
    pool = data["pool"]
    pid = _safe(pool["id"])

    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        (f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}" '
         'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
         'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
         'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" '
         f'xmlns:miner="{MINER_NS}" id="Definitions_{pid}" targetNamespace="{MINER_NS}" '
         'exporter="miner.conformance.reference_build" exporterVersion="1">'),
        ("  <!-- Generated by `python -m miner.conformance.reference_build` from "
         f"miner/data/reference/{DATA_FILE}; do not edit by hand. -->"),
        f'  <bpmn:collaboration id="Collaboration_{pid}">',
        (f'    <bpmn:participant id="Participant_{pid}" name={quoteattr(pool["name"])} '
         f'processRef="Process_{pid}" />'),
        "  </bpmn:collaboration>",
        f'  <bpmn:process id="Process_{pid}" name={quoteattr(pool["process"])} isExecutable="false">',
        f'    <bpmn:laneSet id="LaneSet_{pid}">',
    ]
    for lane in lane_names:
        lines.append(f'      <bpmn:lane id="Lane_{_safe(lane)}" name={quoteattr(lane)}>')
        lines += [f"        <bpmn:flowNodeRef>{n.bpmn_id}</bpmn:flowNodeRef>"
                  for n in nodes.values() if n.lane == lane]
        lines.append("      </bpmn:lane>")
    lines.append("    </bpmn:laneSet>")
    for n in nodes.values():
        attrs = f'id="{n.bpmn_id}" name={quoteattr(n.name)}'
        if n.kind == "task":
            attrs += (f' miner:activity="{n.activity}" miner:phase={quoteattr(n.phase)}'
                      f' miner:lanes={quoteattr(",".join(n.lanes))}')
        lines.append(f"    <bpmn:{n.tag} {attrs}>")
        for fid, (s, t, _) in zip(flow_ids, flows, strict=True):
            if t == n.key:
                lines.append(f"      <bpmn:incoming>{fid}</bpmn:incoming>")
        for fid, (s, t, _) in zip(flow_ids, flows, strict=True):
            if s == n.key:
                lines.append(f"      <bpmn:outgoing>{fid}</bpmn:outgoing>")
        lines.append(f"    </bpmn:{n.tag}>")
    for fid, (s, t, name) in zip(flow_ids, flows, strict=True):
        label = f" name={quoteattr(name)}" if name else ""
        lines.append(f'    <bpmn:sequenceFlow id="{fid}"{label} sourceRef="{nodes[s].bpmn_id}" '
                     f'targetRef="{nodes[t].bpmn_id}" />')
    lines += [
        "  </bpmn:process>",
        f'  <bpmndi:BPMNDiagram id="Diagram_{pid}">',
        f'    <bpmndi:BPMNPlane id="Plane_{pid}" bpmnElement="Collaboration_{pid}">',
        (f'      <bpmndi:BPMNShape id="Participant_{pid}_di" bpmnElement="Participant_{pid}" '
         'isHorizontal="true">'),
        f'        <dc:Bounds x="0" y="0" width="{width}" height="{height}" />',
        "      </bpmndi:BPMNShape>",
    ]
    lane_bottom = {lane: lane_y[lane] + slots[lane] * SLOT + 20 for lane in lane_names}
    for lane in lane_names:
        lines += [
            (f'      <bpmndi:BPMNShape id="Lane_{_safe(lane)}_di" bpmnElement="Lane_{_safe(lane)}" '
             'isHorizontal="true">'),
            (f'        <dc:Bounds x="{LANE_X}" y="{lane_y[lane]}" width="{width - LANE_X}" '
             f'height="{lane_bottom[lane] - lane_y[lane]}" />'),
            "      </bpmndi:BPMNShape>",
        ]
    for n in nodes.values():
        x, y0, w, h = bounds[n.key]
        marker = ' isMarkerVisible="true"' if n.tag == "exclusiveGateway" else ""
        lines += [
            f'      <bpmndi:BPMNShape id="{n.bpmn_id}_di" bpmnElement="{n.bpmn_id}"{marker}>',
            f'        <dc:Bounds x="{x}" y="{y0}" width="{w}" height="{h}" />',
            "      </bpmndi:BPMNShape>",
        ]
    for fid, (s, t, _) in zip(flow_ids, flows, strict=True):
        lines.append(f'      <bpmndi:BPMNEdge id="{fid}_di" bpmnElement="{fid}">')
        lines += [f'        <di:waypoint x="{px}" y="{py}" />'
                  for px, py in _waypoints(bounds[s], bounds[t], (s, t) in back)]
        lines.append("      </bpmndi:BPMNEdge>")
    lines += ["    </bpmndi:BPMNPlane>", "  </bpmndi:BPMNDiagram>", "</bpmn:definitions>", ""]
    return "\n".join(lines)


def _waypoints(
    src: tuple[int, int, int, int], dst: tuple[int, int, int, int], loop: bool
) -> list[tuple[int, int]]:
    sx, sy, sw, sh = src
    tx, ty, tw, th = dst
    scy, tcy = sy + sh // 2, ty + th // 2
    if loop or tx <= sx:                     # a loop back: down, left underneath, up
        below = max(sy + sh, ty + th) + 8
        return [(sx + sw // 2, sy + sh), (sx + sw // 2, below), (tx + tw // 2, below),
                (tx + tw // 2, ty + th)]
    if scy == tcy:
        return [(sx + sw, scy), (tx, tcy)]
    mid = tx - 20
    return [(sx + sw, scy), (mid, scy), (mid, tcy), (tx, tcy)]


def main(argv: list[str] | None = None) -> int:
    """Write the reference model to ``--out`` (default: the shipped file)."""
    parser = argparse.ArgumentParser(prog="python -m miner.conformance.reference_build",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=reference_path())
    args = parser.parse_args(argv)
    text = build_bpmn()
    args.out.write_bytes(text.encode("utf-8"))
    print(f"wrote {args.out} ({len(text.encode('utf-8'))} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
