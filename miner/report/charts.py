"""Geometry of the report's small line charts (stock over time): SVG polyline points from a daily
series. Pure numbers; the markup is in the template.

Privacy (ARCHITECTURE.md §7): a day whose count is under :data:`SUPPRESS_BELOW` is drawn at the
middle of a shaded band from 0 to that threshold, so the chart shows "under 10", not the count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SUPPRESS_BELOW = 10
WIDTH, HEIGHT, PAD = 280.0, 96.0, 4.0


def line_chart(series: Sequence[int]) -> dict[str, Any]:
    """Points, maximum, mean and the suppression band of one daily series."""
    top = max(max(series, default=0), SUPPRESS_BELOW * 2)
    n = max(len(series) - 1, 1)

    def y(v: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * v / top

    points = " ".join(
        f"{PAD + (WIDTH - 2 * PAD) * i / n:.1f},"
        f"{y(v if v >= SUPPRESS_BELOW else SUPPRESS_BELOW / 2):.1f}"
        for i, v in enumerate(series))
    return {"width": WIDTH, "height": HEIGHT, "points": points,
            "max": max(series, default=0),
            "mean": sum(series) / len(series) if series else 0.0,
            "last": series[-1] if series else 0,
            "band_y": round(y(SUPPRESS_BELOW), 1),
            "band_h": round(y(0) - y(SUPPRESS_BELOW), 1)}
