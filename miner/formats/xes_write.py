"""Writing one object type of a log as XES (``.xes``, ``.xes.gz``); the mapping is in :mod:`miner.formats.xes`."""

from __future__ import annotations

import gzip
import json
import math
import os
import re
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from miner.errors import UnknownNameError, WorkspaceError
from miner.formats.xes_read import CHILDREN_SUFFIX, XES_NAMESPACE
from miner.model.log import Log
from miner.model.schema import EPOCH
from miner.progress import Progress

_TYPE_TO_XES = {
    "string": "string",
    "id": "id",
    "integer": "int",
    "float": "float",
    "boolean": "boolean",
    "time": "date",
    "list": "list",
    "container": "container",
}
_SPECIAL = re.compile(r'[&<>"\n\r\t\x00-\x08\x0b\x0c\x0e-\x1f]')
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_EXTENSIONS = {
    "concept": ("Concept", "http://www.xes-standard.org/concept.xesext"),
    "time": ("Time", "http://www.xes-standard.org/time.xesext"),
    "lifecycle": ("Lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
    "org": ("Organizational", "http://www.xes-standard.org/org.xesext"),
    "identity": ("Identity", "http://www.xes-standard.org/identity.xesext"),
    "cost": ("Cost", "http://www.xes-standard.org/cost.xesext"),
}


def _esc(text: str) -> str:
    """``text`` escaped for a double-quoted XML attribute (newlines and tabs kept as references)."""
    if _SPECIAL.search(text) is None:
        return text
    if _FORBIDDEN.search(text):
        raise WorkspaceError(
            f"the value {text[:60]!r} holds a control character that XML 1.0 cannot represent; "
            "remove it from the log before writing XES."
        )
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )


def format_time(micros: int) -> str:
    """UTC microseconds as XES date text: milliseconds, or microseconds where those are non-zero."""
    stamp = EPOCH + timedelta(microseconds=micros)
    return stamp.isoformat(timespec="milliseconds" if micros % 1000 == 0 else "microseconds")


def _float_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    return repr(value)


def _value_text(row: tuple[Any, ...]) -> str | None:
    """XES text of a typed value ``(type, string, integer, float, boolean, time_us)``."""
    kind = row[0]
    if kind == "integer":
        return str(row[2])
    if kind == "float":
        return _float_text(row[3])
    if kind == "boolean":
        return "true" if row[4] else "false"
    if kind == "time":
        return format_time(row[5])
    return row[1]  # type: ignore[no-any-return]


def node_xml(node: dict[str, Any], indent: str) -> str:
    """One nested attribute (as stored in JSON by the reader) as XES text."""
    tag = node["type"]
    key = node.get("key")
    head = f"{indent}<{tag}" + (f' key="{_esc(key)}"' if key is not None else "")
    if node.get("value") is not None:
        head += f' value="{_esc(node["value"])}"'
    inner = "".join(node_xml(c, indent + "\t") for c in node.get("children", ()))
    if tag == "list":
        items = "".join(node_xml(c, indent + "\t\t") for c in node.get("values", ()))
        inner += f"{indent}\t<values>\n{items}{indent}\t</values>\n"
    if not inner:
        return head + "/>\n"
    return f"{head}>\n{inner}{indent}</{tag}>\n"


def attribute_xml(name: str, row: tuple[Any, ...], meta: list[Any] | None, indent: str) -> str:
    """One canonical attribute value (plus its nested meta-attributes) as an XES element."""
    kind = row[0]
    node: dict[str, Any] = {"type": _TYPE_TO_XES.get(kind, "string"), "key": name}
    if kind in ("list", "container"):
        items = json.loads(row[1]) if row[1] else []
        node["values" if kind == "list" else "children"] = items
    else:
        node["value"] = _value_text(row)
    if meta:
        node["children"] = node.get("children", []) + meta
    return node_xml(node, indent)


def attributes_xml(rows: Iterable[tuple[Any, ...]], indent: str) -> str:
    """``(name, type, string, integer, float, boolean, time_us)`` rows as XES, re-nesting the
    reader's ``<key>#children`` companions into the attribute they belong to."""
    pending: list[tuple[str, tuple[Any, ...], list[Any] | None]] = []
    for row in rows:
        name = row[0]
        if name.endswith(CHILDREN_SUFFIX) and row[1] == "container" and pending:
            last = pending[-1]
            if last[0] == name[: -len(CHILDREN_SUFFIX)] and last[2] is None:
                pending[-1] = (last[0], last[1], json.loads(row[2]))
                continue
        pending.append((name, row[1:], None))
    return "".join(attribute_xml(n, r, m, indent) for n, r, m in pending)


def _header(log: Log, meta: dict[str, Any] | None, object_type: str) -> str:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    if meta is not None:
        attrs = "".join(f' {k}="{_esc(v)}"' for k, v in meta.get("log", {}).items())
        namespace = meta.get("namespace")
        parts.append(f"<log{attrs}" + (f' xmlns="{_esc(namespace)}"' if namespace else "") + ">\n")
        for item in meta.get("header", []):
            kind = item["kind"]
            if kind == "attribute":
                parts.append(node_xml(item["node"], "\t"))
                continue
            attrs = "".join(f' {k}="{_esc(v)}"' for k, v in item.get("attrs", {}).items())
            inner = "".join(node_xml(n, "\t\t") for n in item.get("attributes", ()))
            parts.append(
                f"\t<{kind}{attrs}>\n{inner}\t</{kind}>\n" if inner else f"\t<{kind}{attrs}/>\n"
            )
        return "".join(parts)
    prefixes = {
        r[0]
        for r in log.con.execute(
            "SELECT DISTINCT split_part(name, ':', 1) FROM event_attributes WHERE name LIKE '%:%' "
            "UNION SELECT DISTINCT split_part(name, ':', 1) FROM object_attributes "
            "WHERE name LIKE '%:%'"
        ).fetchall()
    }
    parts.append(
        f'<log xes.version="1849-2016" xes.features="nested-attributes" xmlns="{XES_NAMESPACE}">\n'
    )
    for prefix, (name, uri) in _EXTENSIONS.items():
        if prefix in ("concept", "time") or prefix in prefixes:
            parts.append(f'\t<extension name="{name}" prefix="{prefix}" uri="{uri}"/>\n')
    keys = "concept:name lifecycle:transition" if "lifecycle" in prefixes else "concept:name"
    parts.append(f'\t<classifier name="Activity classifier" keys="{keys}"/>\n')
    parts.append(f'\t<string key="concept:name" value="{_esc(object_type)}"/>\n')
    return "".join(parts)


_EVENTS_SQL = """
WITH tr AS (SELECT object_id, min(seq) AS oseq FROM objects WHERE object_type = $1 GROUP BY object_id),
links AS (SELECT DISTINCT eo.event_id, eo.object_id FROM event_objects eo JOIN tr USING (object_id)),
attrs AS (
    SELECT event_id, list((name, type, value_string, value_integer, value_float, value_boolean,
                           epoch_us(value_time)) ORDER BY seq) AS attrs
    FROM event_attributes WHERE event_id IN (SELECT event_id FROM links) GROUP BY event_id)
SELECT l.object_id, e.event_id, e.event_type, epoch_us(e.timestamp), a.attrs
FROM links l JOIN tr USING (object_id) JOIN events e USING (event_id) LEFT JOIN attrs a USING (event_id)
ORDER BY tr.oseq, e.timestamp, e.seq
"""

# Per trace attribute, the rows with its latest time (all of them, in read order: XES allows a
# key to repeat).
_TRACE_ATTRS_SQL = """
WITH tr AS (SELECT DISTINCT object_id FROM objects WHERE object_type = $1),
latest AS (SELECT object_id, name, max(time) AS time FROM object_attributes
           WHERE object_id IN (SELECT object_id FROM tr) GROUP BY ALL)
SELECT a.object_id, a.name, a.type, a.value_string, a.value_integer, a.value_float,
       a.value_boolean, epoch_us(a.value_time)
FROM object_attributes a JOIN latest USING (object_id, name, time) ORDER BY a.seq
"""


def _open_text(path: Path, compress: bool) -> IO[str]:
    if compress:
        return gzip.open(path, "wt", encoding="utf-8", compresslevel=6, newline="\n")
    return open(path, "w", encoding="utf-8", newline="\n")


def write_xes(log: Log, path: Path, *, object_type: str, progress: Progress | None = None) -> None:
    """Write the objects of ``object_type`` that have events as the traces of an XES log.

    Each trace is one object (``concept:name`` = object id) with its attributes' latest values and
    its events ordered by (timestamp, read order); ``.xes.gz`` is compressed. The file is written
    to a temporary name and renamed at the end, so a failure leaves no half-written log.

    Raises:
        UnknownNameError: ``object_type`` is not a type of the log.
        WorkspaceError: a value cannot be represented in XML.
    """
    path = Path(path)
    con = log.con
    if object_type not in log.object_types():
        raise UnknownNameError("object type", object_type, log.object_types())
    row = con.execute("SELECT value FROM log_meta WHERE key = 'xes'").fetchone()
    meta = json.loads(row[0]) if row else None
    trace_attrs: dict[str, list[tuple[Any, ...]]] = {}
    for r in con.execute(_TRACE_ATTRS_SQL, [object_type]).fetchall():
        trace_attrs.setdefault(r[0], []).append(r[1:])
    temporary = path.with_name(path.name + ".part")
    written = 0
    try:
        with _open_text(temporary, path.name.endswith(".gz")) as out:
            out.write(_header(log, meta, object_type))
            result = con.execute(_EVENTS_SQL, [object_type])
            current: str | None = None
            parts: list[str] = []
            while batch := result.fetchmany(20_000):
                for object_id, event_id, event_type, micros, attrs in batch:
                    if object_id != current:
                        if current is not None:
                            parts.append("\t</trace>\n")
                        current = object_id
                        parts.append(
                            f'\t<trace>\n\t\t<string key="concept:name" value="{_esc(object_id)}"/>\n'
                        )
                        parts.append(attributes_xml(trace_attrs.get(object_id, ()), "\t\t"))
                    written += 1
                    parts.append(
                        f'\t\t<event>\n\t\t\t<string key="concept:name" value="{_esc(event_type)}"/>\n'
                        f'\t\t\t<date key="time:timestamp" value="{format_time(micros)}"/>\n'
                    )
                    rows = attrs or []
                    if event_id != f"e{written}" and not any(a[0] == "identity:id" for a in rows):
                        parts.append(f'\t\t\t<id key="identity:id" value="{_esc(event_id)}"/>\n')
                    parts.append(attributes_xml(rows, "\t\t\t"))
                    parts.append("\t\t</event>\n")
                out.write("".join(parts))
                parts = []
                if progress is not None:
                    progress(written)
            if current is not None:
                out.write("\t</trace>\n")
            out.write("</log>\n")
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
