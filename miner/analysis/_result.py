"""Shared plumbing of analysis results: JSON-safe conversion of their tables."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pandas as pd

SCHEMA_VERSION = 1


def json_safe(value: Any) -> Any:
    """A JSON-serialisable copy: NaN → None, timestamps → ISO 8601, numpy scalars → Python."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``table`` as JSON-safe dicts."""
    return [json_safe(r) for r in table.to_dict("records")]
