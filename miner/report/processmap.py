"""The process map's layout, by the layout library the explorer draws with (dagre, shipped in
``miner/explore/static/dagre.min.js``), run when the report is built in an embedded JavaScript
engine (quickjs), so the report stays static SVG. Pure geometry (numbers and path strings); the
markup is in the template. Deterministic: the same nodes and edges give the same positions,
rounded to 0.1 px.

Layout: activities left to right along their directly-follows edges (dagre's layered layout,
which orders the nodes of each layer to keep crossings few and keeps edge labels clear of the
boxes), the activities of one lane (organisation) grouped in one band; an edge is a line through
dagre's bend points, its label (the first ``labelled`` edges) at the point dagre reserved for it.
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

from miner.report.activities import lane_order

NODE_W, NODE_H = 156.0, 50.0
LABEL_W, LABEL_H = 74.0, 14.0
#: dagre's graph options: left to right, spacing between nodes, layers and edges (px)
GRAPH = {"rankdir": "LR", "nodesep": 16, "ranksep": 46, "edgesep": 8, "marginx": 12,
         "marginy": 12}


@cache
def _engine() -> Any:
    """A quickjs context with dagre and the layout function loaded (once per process)."""
    import quickjs  # type: ignore[import-untyped]

    context = quickjs.Context()
    # dagre 3 uses two functions this engine lacks; both have exact small equivalents
    context.eval("if (!Object.hasOwn) Object.hasOwn = function (o, k) { "
                 "return Object.prototype.hasOwnProperty.call(o, k); };"
                 "if (typeof structuredClone === 'undefined') globalThis.structuredClone = "
                 "function (v) { return JSON.parse(JSON.stringify(v)); };")
    context.eval((resources.files("miner.explore") / "static" / "dagre.min.js").read_text("utf-8"))
    context.eval((resources.files("miner.report") / "static" / "dagre_layout.js").read_text("utf-8"))
    return context


def dagre_layout(spec: Mapping[str, Any]) -> dict[str, Any]:
    """dagre's layout of ``spec`` (see ``miner/report/static/dagre_layout.js``)."""
    result: dict[str, Any] = json.loads(_engine().get("miner_layout")(json.dumps(spec)))
    return result


def _wrap(label: str) -> list[str]:
    lines = textwrap.wrap(label, 26)
    if len(lines) > 3:
        lines = lines[:3]
        lines[2] = lines[2][:23] + "…"
    return lines


def layout(nodes: Sequence[Mapping[str, Any]], edges: Sequence[Mapping[str, Any]], *,
           max_edges: int, min_frequency: int, labelled: int) -> dict[str, Any]:
    """Positions of ``nodes`` and paths of the ``max_edges`` most frequent ``edges`` (those with at
    least ``min_frequency``); the first ``labelled`` of them carry a printed label."""
    names = {n["activity"] for n in nodes}
    chosen = [e for e in edges if e["frequency"] >= min_frequency
              and e["source"] in names and e["target"] in names][:max_edges]
    order = {lane: i for i, lane in enumerate(lane_order())}
    spec = {"graph": GRAPH,
            "nodes": [{"id": n["activity"], "width": NODE_W, "height": NODE_H,
                       "lane": n["lane"]} for n in nodes],
            "edges": [{"source": e["source"], "target": e["target"],
                       "width": LABEL_W if i < labelled else 0,
                       "height": LABEL_H if i < labelled else 0}
                      for i, e in enumerate(chosen) if e["source"] != e["target"]]}
    found = dagre_layout(spec)
    placed = {n["activity"]: {**n, "x": round(found["nodes"][n["activity"]]["x"] - NODE_W / 2, 1),
                              "y": round(found["nodes"][n["activity"]]["y"] - NODE_H / 2, 1),
                              "lines": _wrap(n["activity"])} for n in nodes}
    routes = {(r["source"], r["target"]): r for r in found["edges"]}
    top = max((e["frequency"] for e in chosen), default=1)
    drawn = []
    for index, e in enumerate(chosen):
        width = round(1 + 7 * math.log1p(e["frequency"]) / math.log1p(top), 1)
        route = routes.get((e["source"], e["target"]))
        if route is None:  # a self-loop: a small arc above the box
            a = placed[e["source"]]
            sx, sy = a["x"] + NODE_W * 0.35, a["y"]
            tx = a["x"] + NODE_W * 0.65
            d = f"M{sx:.1f},{sy:.1f} C{sx:.1f},{sy - 26:.1f} {tx:.1f},{sy - 26:.1f} {tx:.1f},{sy:.1f}"
            lx, ly = (sx + tx) / 2, sy - 22
        else:
            points = route["points"]
            d = "M" + " L".join(f"{p['x']:.1f},{p['y']:.1f}" for p in points)
            lx, ly = route.get("x", points[len(points) // 2]["x"]), route.get(
                "y", points[len(points) // 2]["y"])
        drawn.append({**e, "d": d, "width": width, "label": index < labelled,
                      "lx": round(lx, 1), "ly": round(ly + 4, 1)})
    lanes = sorted(({"lane": b["lane"], "x": round(b["x"] - b["width"] / 2, 1),
                     "y": round(b["y"] - b["height"] / 2, 1), "width": round(b["width"], 1),
                     "height": round(b["height"], 1)} for b in found["lanes"]),
                   key=lambda b: (order.get(b["lane"], len(order)), b["lane"]))
    size = found["graph"]
    return {"width": round(size.get("width") or 0, 1), "height": round(size.get("height") or 0, 1),
            "node_w": NODE_W, "node_h": NODE_H, "phases": [], "lanes": lanes,
            "nodes": [placed[n["activity"]] for n in nodes], "edges": drawn,
            "edges_shown": len(drawn)}
