"""Comparing results across engines: equal, with floating point allowed a relative error.

Two engines compute the same aggregate in a different order, so a mean or an interpolated
percentile may differ in its last bits (about 1e-16 relative). :func:`differences` walks two
results (dicts, lists, tuples, scalars, as ``to_dict()`` gives them) and lists where they differ
beyond ``rel`` for floats, or at all for anything else.
"""

from __future__ import annotations

import math
from typing import Any


def differences(a: Any, b: Any, *, rel: float = 1e-9, path: str = "$") -> list[str]:
    """Where ``a`` and ``b`` differ (JSON-path-like locations with both values); [] if equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(a.keys() ^ b.keys())} in one only"]
        return [d for k in a for d in differences(a[k], b[k], rel=rel, path=f"{path}.{k}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items against {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in differences(x, y, rel=rel, path=f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float | int) and not isinstance(b, bool):
        if math.isnan(a) and math.isnan(float(b)):
            return []
        if math.isclose(a, float(b), rel_tol=rel, abs_tol=0.0) or a == b:
            return []
        return [f"{path}: {a!r} against {b!r}"]
    if isinstance(b, float) and isinstance(a, int) and not isinstance(a, bool):
        return differences(b, a, rel=rel, path=path)
    return [] if a == b and type(a) is type(b) else [f"{path}: {a!r} against {b!r}"]
