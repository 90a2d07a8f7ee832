"""The process map's layout: activities placed left → right by journey phase and top → bottom by
lane, edges as SVG cubic paths. Pure geometry (numbers and path strings); the markup is in the
template. Deterministic: positions depend only on the nodes and edges given, rounded to 0.1 px.

Layout: one block of columns per phase (journey order); in a block, the activities of one lane
fill up to :data:`MAX_COLUMNS` columns in catalogue order, wrapping to extra rows of that lane; a
lane is as tall as its fullest phase block needs. An edge runs from the right side of its source
to the left side of its target; an edge that goes back (target not right of source) curves below.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from miner.report.activities import lane_order, phase_order

MAX_COLUMNS = 3
NODE_W, NODE_H = 156.0, 50.0
GAP_X, GAP_Y, PHASE_GAP = 34.0, 14.0, 40.0
LANE_LABEL_W, HEADER_H = 110.0, 34.0


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
    phases = [p for p in phase_order() if any(n["phase"] == p for n in nodes)]
    if any(n["phase"] not in phases for n in nodes):
        phases.append("")
    lanes = [lane for lane in lane_order() if any(n["lane"] == lane for n in nodes)]
    cells: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for n in nodes:
        cells.setdefault((n["phase"] or "", n["lane"]), []).append(n)
    columns = {p: max(1, min(MAX_COLUMNS, max((len(v) for (ph, _), v in cells.items()
                                                if ph == p), default=1))) for p in phases}
    rows = {lane: max(1, max((math.ceil(len(v) / columns[ph]) for (ph, la), v in cells.items()
                              if la == lane), default=1)) for lane in lanes}
    x0: dict[str, float] = {}
    x = LANE_LABEL_W + 10
    phase_boxes = []
    for p in phases:
        x0[p] = x
        width = columns[p] * (NODE_W + GAP_X) - GAP_X
        phase_boxes.append({"phase": p, "x": round(x, 1), "width": round(width, 1)})
        x += width + PHASE_GAP
    y0: dict[str, float] = {}
    y = HEADER_H
    lane_boxes = []
    for lane in lanes:
        y0[lane] = y
        height = rows[lane] * (NODE_H + GAP_Y) + GAP_Y
        lane_boxes.append({"lane": lane, "y": round(y, 1), "height": round(height, 1)})
        y += height
    placed: dict[str, dict[str, Any]] = {}
    for (p, lane), members in sorted(cells.items()):
        for i, n in enumerate(members):
            col, row = i % columns[p], i // columns[p]
            nx = x0[p] + col * (NODE_W + GAP_X)
            ny = y0[lane] + GAP_Y + row * (NODE_H + GAP_Y)
            placed[n["activity"]] = {**n, "x": round(nx, 1), "y": round(ny, 1),
                                     "lines": _wrap(n["activity"])}
    chosen = [e for e in edges if e["frequency"] >= min_frequency
              and e["source"] in placed and e["target"] in placed][:max_edges]
    top = max((e["frequency"] for e in chosen), default=1)
    drawn = []
    for index, e in enumerate(chosen):
        a, b = placed[e["source"]], placed[e["target"]]
        width = round(1 + 7 * math.log1p(e["frequency"]) / math.log1p(top), 1)
        if b["x"] > a["x"] + 1:
            sx, sy = a["x"] + NODE_W, a["y"] + NODE_H / 2
            tx, ty = b["x"], b["y"] + NODE_H / 2
            bend = max(30.0, (tx - sx) / 2)
            d = f"M{sx:.1f},{sy:.1f} C{sx + bend:.1f},{sy:.1f} {tx - bend:.1f},{ty:.1f} " \
                f"{tx:.1f},{ty:.1f}"
            lx, ly = (sx + tx) / 2, (sy + ty) / 2
        else:
            sx, sy = a["x"] + NODE_W / 2, a["y"] + NODE_H
            tx, ty = b["x"] + NODE_W / 2, b["y"] + NODE_H
            dip = max(sy, ty) + 24 + abs(sx - tx) / 12
            d = f"M{sx:.1f},{sy:.1f} C{sx:.1f},{dip:.1f} {tx:.1f},{dip:.1f} {tx:.1f},{ty:.1f}"
            lx, ly = (sx + tx) / 2, dip - 6
        drawn.append({**e, "d": d, "width": width, "label": index < labelled,
                      "lx": round(lx, 1), "ly": round(ly, 1)})
    return {"width": round(x - PHASE_GAP + 10, 1), "height": round(y + 10, 1),
            "node_w": NODE_W, "node_h": NODE_H, "phases": phase_boxes, "lanes": lane_boxes,
            "nodes": [placed[n["activity"]] for n in nodes], "edges": drawn,
            "edges_shown": len(drawn)}
