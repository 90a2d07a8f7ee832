"""The report's process map, laid out by dagre at build time: boxes and edge labels never overlap,
lanes hold their activities, the same input gives the same picture."""

from __future__ import annotations

import random
from typing import Any

from miner.report.processmap import LABEL_H, LABEL_W, NODE_H, NODE_W, layout


def _graph(seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    lanes = ["IND", "COA", "Politie", "DT&V", "KMar"]
    nodes = [{"activity": f"Activiteit {i:02d} met een lange naam", "lane": lanes[i % 5],
              "phase": None, "frequency": 1000 - i} for i in range(64)]
    edges = []
    for i in range(63):
        edges.append({"source": nodes[i]["activity"], "target": nodes[i + 1]["activity"],
                      "frequency": 500 - i, "median_days": 1.0})
    for _ in range(90):
        a, b = rng.sample(range(64), 2)
        edges.append({"source": nodes[a]["activity"], "target": nodes[b]["activity"],
                      "frequency": rng.randint(10, 400), "median_days": 2.0})
    unique = {(e["source"], e["target"]): e for e in edges}
    return nodes, sorted(unique.values(), key=lambda e: -e["frequency"])


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def test_boxes_and_labels_do_not_overlap_and_lanes_hold_their_activities() -> None:
    nodes, edges = _graph(1)
    graph = layout(nodes, edges, max_edges=140, min_frequency=10, labelled=40)
    boxes = [(n["x"], n["y"], NODE_W, NODE_H) for n in graph["nodes"]]
    assert len(boxes) == 64 and graph["edges_shown"] == 140
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not _overlap(a, b)
    labels = [(e["lx"] - LABEL_W / 2 + 4, e["ly"] - LABEL_H + 2, LABEL_W - 8, LABEL_H - 4)
              for e in graph["edges"] if e["label"]]
    assert len(labels) == 40
    for label in labels:
        assert not any(_overlap(label, box) for box in boxes)
    lanes = {lane["lane"]: lane for lane in graph["lanes"]}
    assert set(lanes) == {"IND", "COA", "Politie", "DT&V", "KMar"}
    for n in graph["nodes"]:
        lane = lanes[n["lane"]]
        assert lane["x"] <= n["x"] and n["x"] + NODE_W <= lane["x"] + lane["width"] + 0.2
        assert lane["y"] <= n["y"] and n["y"] + NODE_H <= lane["y"] + lane["height"] + 0.2
    assert 0 < graph["width"] and 0 < graph["height"]


def test_the_same_input_gives_the_same_layout() -> None:
    nodes, edges = _graph(2)
    assert layout(nodes, edges, max_edges=100, min_frequency=0, labelled=20) == layout(
        nodes, edges, max_edges=100, min_frequency=0, labelled=20)
