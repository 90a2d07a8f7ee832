"""Reading XES (``.xes``, ``.xes.gz``) into the canonical tables; the mapping is in :mod:`miner.formats.xes`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
from lxml import etree

from miner.errors import InputError
from miner.formats._input import iterparse, open_binary
from miner.model.loading import TableSink
from miner.model.schema import EPOCH
from miner.progress import Progress

XES_NAMESPACE = "http://www.xes-standard.org/"
#: XES attribute element → canonical value type.
XES_TO_TYPE = {
    "string": "string",
    "int": "integer",
    "float": "float",
    "boolean": "boolean",
    "date": "time",
    "id": "id",
    "list": "list",
    "container": "container",
}
#: Suffix of the companion attribute that carries an attribute's own nested (meta) attributes.
CHILDREN_SUFFIX = "#children"
_BATCH = 20_000
_UTC = UTC
_TS = pa.timestamp("us", tz="UTC")
_MICROSECOND = timedelta(microseconds=1)

# Full tag (namespaced or not) → local name, for the tags an XES file may hold.
_LOCAL: dict[str, str] = {}
for _name in (*XES_TO_TYPE, "values", "event", "trace", "log", "extension", "global", "classifier"):
    _LOCAL[_name] = _name
    _LOCAL["{" + XES_NAMESPACE + "}" + _name] = _name


def parse_date(text: str) -> datetime:
    """An XES ``date`` value as an aware datetime; no offset means UTC. Raises ValueError."""
    dt = datetime.fromisoformat(text.strip())
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=_UTC)


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _local(el: Any) -> str:
    tag = el.tag
    if not isinstance(tag, str):  # a processing instruction
        return ""
    return _LOCAL.get(tag) or etree.QName(tag).localname


def node(el: Any, where: str) -> dict[str, Any]:
    """One XES attribute element as a JSON-ready dict (raw value text, nested children kept).

    ``{"type": "float", "key": "k", "value": "1.5", "children": [...], "values": [...]}``: ``children``
    are the element's own nested attributes, ``values`` a list's items; both only when present.
    """
    tag = _local(el)
    if tag not in XES_TO_TYPE:
        raise InputError(f"{where}: line {el.sourceline}: unknown XES attribute element <{tag}>.")
    out: dict[str, Any] = {"type": tag, "key": el.get("key")}
    if tag not in ("list", "container"):
        out["value"] = el.get("value")
    children: list[dict[str, Any]] = []
    values: list[dict[str, Any]] = []
    for child in el:
        ctag = _local(child)
        if not ctag:
            continue
        if ctag == "values" and tag == "list":
            values.extend(node(v, where) for v in child if _local(v))
        else:
            children.append(node(child, where))
    if tag == "list" and not values and children:
        values, children = children, []  # items written without a <values> wrapper
    if children:
        out["children"] = children
    if values:
        out["values"] = values
    return out


class _Reader:
    """Streams one XES file into a sink: one object per trace, one event per event."""

    def __init__(self, path: Path, sink: TableSink) -> None:
        self.path = path
        self.name = path.name
        self.sink = sink
        self.trace_index = 0
        self.event_index = 0
        self.trace_names: dict[str, tuple[int, int]] = {}
        self.event_ids: set[str] = set()
        self.event_types: dict[str, set[tuple[str, str]]] = {}
        self.case_attributes: set[tuple[str, str]] = set()
        self.meta: dict[str, Any] = {"namespace": None, "log": {}, "header": []}
        self.events: list[tuple[Any, ...]] = []
        self.attributes: list[tuple[Any, ...]] = []
        self.links: list[tuple[Any, ...]] = []

    # -- values -------------------------------------------------------------------------------

    def typed(self, el: Any, tag: str, key: str, value: str | None, where: str) -> tuple[Any, ...]:
        """``(type, value_string, value_integer, value_float, value_boolean, value_time)``."""
        if tag == "string":
            return ("string", value, None, None, None, None)
        if value is None and tag not in ("list", "container"):
            raise InputError(
                f"{self.path}: line {el.sourceline}, {where}: <{tag} key={key!r}> has no value "
                'attribute. Add value="..." to the element.'
            )
        try:
            if tag == "date":
                return ("time", None, None, None, None, parse_date(value))  # type: ignore[arg-type]
            if tag == "int":
                return ("integer", None, int(value), None, None, None)  # type: ignore[arg-type]
            if tag == "float":
                return ("float", None, None, float(value), None, None)  # type: ignore[arg-type]
            if tag == "boolean":
                return ("boolean", None, None, None, _boolean(value), None)  # type: ignore[arg-type]
        except ValueError:
            hint = {
                "date": "an ISO 8601 date-time such as 2011-10-01T00:38:44.546+02:00",
                "int": "an integer",
                "float": "a decimal number",
                "boolean": "true or false",
            }[tag]
            raise InputError(
                f"{self.path}: line {el.sourceline}, {where}: <{tag} key={key!r}> has value "
                f"{value!r}, which is not {hint}. Fix the value or change the element type."
            ) from None
        if tag == "id":
            return ("id", value, None, None, None, None)
        if tag not in ("list", "container"):
            raise InputError(
                f"{self.path}: line {el.sourceline}, {where}: unknown XES attribute element "
                f"<{tag}>; XES knows string, date, int, float, boolean, id, list and container."
            )
        items = node(el, str(self.path)).get("values" if tag == "list" else "children", [])
        return (tag, json.dumps(items, ensure_ascii=False), None, None, None, None)

    def attribute_rows(self, el: Any, tag: str, key: str, where: str) -> Iterator[tuple[Any, ...]]:
        """``(name, *typed)`` rows of one attribute: itself, plus its nested meta-attributes if any."""
        yield (key, *self.typed(el, tag, key, el.get("value"), where))
        if len(el) and tag != "container":
            meta = node(el, str(self.path)).get("children")
            if meta:
                yield (
                    key + CHILDREN_SUFFIX,
                    "container",
                    json.dumps(meta, ensure_ascii=False),
                    None,
                    None,
                    None,
                    None,
                )

    # -- structure ----------------------------------------------------------------------------

    def header(self, el: Any) -> None:
        """A child of <log> other than a trace: extension, global, classifier or log attribute."""
        tag = _local(el)
        if not tag:
            return
        header = self.meta["header"]
        if tag in ("extension", "classifier"):
            header.append({"kind": tag, "attrs": dict(el.attrib)})
        elif tag == "global":
            header.append(
                {
                    "kind": "global",
                    "attrs": dict(el.attrib),
                    "attributes": [node(a, str(self.path)) for a in el if _local(a)],
                }
            )
        elif tag in XES_TO_TYPE:
            header.append({"kind": "attribute", "node": node(el, str(self.path))})
        elif tag == "event":
            raise InputError(
                f"{self.path}: line {el.sourceline}: an <event> directly inside <log>, outside any "
                "<trace>. miner maps each trace to a case; wrap such events in a trace."
            )
        else:
            raise InputError(
                f"{self.path}: line {el.sourceline}: unexpected element <{tag}> inside <log>. "
                "XES allows extension, global, classifier, attributes and trace here."
            )

    def trace(self, trace: Any) -> None:
        self.trace_index += 1
        t_index = self.trace_index
        case_id: str | None = None
        case_rows: list[tuple[Any, ...]] = []
        event_elements = []
        for child in trace:
            tag = _LOCAL.get(child.tag) if isinstance(child.tag, str) else ""
            if tag == "event":
                event_elements.append(child)
                continue
            if not tag:
                if not isinstance(child.tag, str):
                    continue
                tag = _local(child)
            key = child.get("key")
            if key is None:
                raise InputError(
                    f"{self.path}: line {child.sourceline}, trace {t_index}: "
                    f'<{tag}> has no key attribute. Add key="...".'
                )
            if key == "concept:name" and case_id is None and tag == "string":
                case_id = child.get("value") or ""
                continue
            case_rows.extend(self.attribute_rows(child, tag, key, f"trace {t_index}"))
        if case_id is None:
            case_id = f"trace-{t_index}"
        first = self.trace_names.get(case_id)
        if first is not None:
            raise InputError(
                f"{self.path}: trace {t_index} (line {trace.sourceline}) has concept:name "
                f"{case_id!r}, like trace {first[0]} (line {first[1]}). miner maps each trace to "
                "one case object, so trace names must be unique; rename one of the traces."
            )
        self.trace_names[case_id] = (t_index, trace.sourceline)
        self.sink.add("objects", (case_id, "case"))
        for row in case_rows:
            self.case_attributes.add((row[0], row[1]))
            self.sink.add("object_attributes", (case_id, row[0], EPOCH, *row[1:]))
        for position, event in enumerate(event_elements, 1):
            self.event(event, case_id, t_index, position)
        if len(self.attributes) >= _BATCH:
            self.flush()

    def event(self, event: Any, case_id: str, t_index: int, position: int) -> None:
        self.event_index += 1
        index = self.event_index
        event_id = f"e{index}"
        activity: str | None = None
        stamp: str | None = None
        identity: str | None = None
        start = len(self.attributes)
        rows = self.attributes
        append = rows.append
        local = _LOCAL
        for a in event:
            full = a.tag
            tag = local.get(full)
            key = a.get("key")
            if tag == "string" and not len(a):
                if key == "concept:name" and activity is None:
                    activity = a.get("value")
                else:
                    append((event_id, key, "string", a.get("value"), None, None, None, None))
                continue
            if tag is None:
                if not isinstance(full, str):
                    continue
                tag = _local(a)
            where = f"trace {t_index} event {position}"
            if key is None:
                raise InputError(
                    f"{self.path}: line {a.sourceline}, {where}: <{tag}> has no key "
                    'attribute. Add key="...".'
                )
            if key == "time:timestamp" and tag == "date" and stamp is None and not len(a):
                stamp = a.get("value")
                if stamp is None:
                    self.typed(a, tag, key, stamp, where)  # raises: no value
            elif key == "identity:id" and tag == "id" and identity is None and not len(a):
                identity = a.get("value")
            else:
                for row in self.attribute_rows(a, tag, key, where):
                    append((event_id, *row))
        if activity is None or stamp is None:
            missing = "concept:name" if activity is None else "time:timestamp"
            raise InputError(
                f"{self.path}: line {event.sourceline}, trace {t_index} event {position}: the event "
                f"has no {missing} attribute. miner needs an activity (a string concept:name) and a "
                "time (a date time:timestamp) for every event; add the missing attribute."
            )
        ids = self.event_ids
        if identity is not None:
            if identity not in ids:
                event_id = identity
                rows[start:] = [(event_id, *r[1:]) for r in rows[start:]]
            else:
                rows.insert(
                    start, (event_id, "identity:id", "id", identity, None, None, None, None)
                )
        while event_id in ids:  # only when identity:id values look like our generated ids
            event_id = f"e{index}.{len(ids)}"
            rows[start:] = [(event_id, *r[1:]) for r in rows[start:]]
        ids.add(event_id)
        self.events.append((event_id, activity, stamp, "xes", self.name, index))
        self.links.append((event_id, case_id, "case"))
        if len(rows) > start:
            declared = self.event_types.setdefault(activity, set())
            declared.update([(r[1], r[2]) for r in rows[start:]])
        elif activity not in self.event_types:
            self.event_types[activity] = set()

    def timestamps(self) -> list[int]:
        """The buffered events' time:timestamp texts as UTC microseconds, parsed in bulk."""
        texts = [e[2] for e in self.events]
        try:
            parsed = pa.array(texts, pa.string()).cast(_TS)
            return parsed.cast(pa.int64()).to_pylist()  # type: ignore[no-any-return]
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        out = []
        for i, text in enumerate(texts):  # a format Arrow does not read, or a bad value
            try:
                out.append((parse_date(text) - EPOCH) // _MICROSECOND)
            except ValueError:
                case_id = self.links[i][1]
                raise InputError(
                    f"{self.path}: trace {case_id!r}, event {self.events[i][5]} of the file: "
                    f"time:timestamp {text!r} is not an ISO 8601 date-time such as "
                    "2011-10-01T00:38:44.546+02:00. Fix the value."
                ) from None
        return out

    def flush(self) -> None:
        if self.events:
            stamps = self.timestamps()
            self.sink.add_many(
                "events", [(e[0], e[1], t, *e[3:]) for e, t in zip(self.events, stamps)]
            )
        self.sink.add_many("event_objects", self.links)
        self.sink.add_many("event_attributes", self.attributes)
        self.events, self.links, self.attributes = [], [], []

    def finish(self) -> None:
        self.flush()
        sink = self.sink
        for activity, declared in self.event_types.items():
            if not declared:
                sink.add("event_types", (activity, None, None))
            for key, kind in sorted(declared):
                sink.add("event_types", (activity, key, kind))
        if not self.case_attributes and self.trace_index:
            sink.add("object_types", ("case", None, None))
        for key, kind in sorted(self.case_attributes):
            sink.add("object_types", ("case", key, kind))
        sink.add("log_meta", ("xes", json.dumps(self.meta, ensure_ascii=False)))

    def run(self, stream: Any) -> None:
        log = None
        for action, el in iterparse(
            self.path, stream, events=("start", "end"), tag=("{*}log", "{*}trace")
        ):
            local = _local(el)
            if action == "start":
                if log is None:
                    if local != "log":
                        raise InputError(
                            f"{self.path}: line {el.sourceline}: the root element is <{local}>, "
                            "not <log>; this is not an XES event log."
                        )
                    log = el
                    namespace = etree.QName(el).namespace
                    self.meta["namespace"] = namespace
                    self.meta["log"] = dict(el.attrib)
                continue
            if el is log:
                for child in log:
                    if _local(child) != "trace":
                        self.header(child)
                break
            if el.getparent() is not log:
                raise InputError(
                    f"{self.path}: line {el.sourceline}: a <trace> nested inside "
                    f"<{_local(el.getparent())}>; traces belong directly in <log>."
                )
            while log[0] is not el:
                if _local(log[0]) != "trace":
                    self.header(log[0])
                del log[0]
            self.trace(el)
            el.clear(keep_tail=False)
        if log is None:
            raise InputError(f"{self.path}: no <log> element; this is not an XES event log.")
        self.finish()


def read_xes(
    path: Path, sink: TableSink, *, progress: Progress | None = None, fast: bool = True
) -> None:
    """Stream an XES event log (``.xes`` or ``.xes.gz``) into ``sink``; see :mod:`miner.formats.xes`.

    Pretty-printed files (one element per line, no nested attributes) are parsed by DuckDB in bulk
    (:mod:`miner.formats.xes_fast`, same tables); any other file, or ``fast=False``, streams with lxml.

    Raises:
        InputError: missing, empty, malformed or truncated file, unparseable values, events
            without concept:name or time:timestamp, duplicate trace names.
        UnsafeInputError: the file declares XML entities.
    """
    path = Path(path)
    if fast:
        from miner.formats.xes_fast import read_xes_fast

        if read_xes_fast(path, sink, progress=progress):
            return
    with open_binary(path, progress) as stream:
        _Reader(path, sink).run(stream)
