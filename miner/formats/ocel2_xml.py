"""OCEL 2.0 XML (``.xmlocel``, ``.xml``, ``.xml.gz``): a streaming reader and writer.

The reader parses with :func:`miner.formats._input.iterparse` (no entities, no DTD, no network)
and clears every element it has handled, so memory stays flat. The writer uses lxml's incremental
``xmlfile`` writer.

Relationships are read from any child of an ``<objects>`` list inside an event or object: the
standard's example files write ``<relationship object-id=".." qualifier=".."/>``, its XSD asks for
``<object object-id=".." qualifier=".." type=".."/>``. The writer writes ``<relationship>`` by
default, because pm4py (with rustxes) silently drops object-to-object links written the XSD's way;
``xsd_relationships=True`` writes the XSD's form instead.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from lxml import etree

from miner.errors import InputError
from miner.formats._input import iterparse, open_binary
from miner.formats._ocel2_common import (
    Emitter,
    declarations,
    event_records,
    object_records,
)
from miner.model.loading import TableSink
from miner.model.log import Log
from miner.progress import Progress

_SECTIONS = ("object-types", "event-types", "objects", "events")
# Relationships may be <relationship> (the standard's examples) or <object> (its XSD).
_ATTRS, _RELS = "attributes/attribute", "objects/*"
_TAGS = ("log", "global", *_SECTIONS, "object-type", "event-type", "object", "event")


def _clear(elem: Any) -> None:
    elem.clear()
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def read_ocel2_xml(path: Path, sink: TableSink, *, progress: Progress | None = None) -> None:
    """Read an OCEL 2.0 XML log into the canonical tables.

    OCEL 2.0 XML is a ``<log>`` with ``<object-types>``, ``<event-types>``, ``<objects>`` and
    ``<events>``. Each ``<event>`` becomes an ``events`` row (``source_row`` = its 1-based
    position among the events), its ``<attribute>`` children ``event_attributes`` rows typed by
    the declaration (an empty element is a value that is missing), and its relationships
    ``event_objects`` rows; objects likewise, keeping every attribute change.

    Args:
        path: the ``.xmlocel``, ``.xml`` or ``.xml.gz`` file.
        sink: where the rows go; the caller commits it.
        progress: called with the bytes read so far.

    Raises:
        InputError: the file is missing, empty, malformed, not OCEL 2.0, declares entities, or a
            value or timestamp cannot be read; the message names the file and the line.

    Example:
        >>> from miner.model.log import connect
        >>> log = connect(None)
        >>> sink = TableSink(log.con)
        >>> read_ocel2_xml(Path("log.xmlocel"), sink)  # doctest: +SKIP
        >>> sink.commit(what="log.xmlocel")  # doctest: +SKIP
    """
    emitter = Emitter(path, sink, "ocel2-xml")
    seen: set[str] = set()
    n_events = 0
    with open_binary(path, progress) as stream:
        for action, elem in iterparse(path, stream, events=("start", "end"), tag=_TAGS):
            parent = elem.getparent()
            if action == "start":
                if not seen:
                    _check_root(path, elem.getroottree().getroot())
                    seen.add("log")
                if parent is not None and parent.getparent() is None:
                    _section(emitter, elem, seen)
                continue
            grandparent = None if parent is None else parent.getparent()
            if grandparent is None or grandparent.getparent() is not None:
                continue
            where = f"line {elem.sourceline}"
            if elem.tag in ("object-type", "event-type"):
                _declare(emitter, elem.tag[:-5], elem, where)
            elif elem.tag == "object":
                attrs = [(a.get("name"), a.get("time"), a.text) for a in elem.iterfind(_ATTRS)]
                rels = [(r.get("object-id"), r.get("qualifier")) for r in elem.iterfind(_RELS)]
                _check_names(emitter, where, attrs)
                emitter.object(where, elem.get("id"), elem.get("type"), attrs, rels)
            else:
                n_events += 1
                ev_attrs = [(a.get("name"), a.text) for a in elem.iterfind(_ATTRS)]
                rels = [(r.get("object-id"), r.get("qualifier")) for r in elem.iterfind(_RELS)]
                _check_names(emitter, where, ev_attrs)
                emitter.event(
                    where,
                    n_events,
                    elem.get("id"),
                    elem.get("type"),
                    elem.get("time"),
                    ev_attrs,
                    rels,
                )
            _clear(elem)
    if not seen:
        with open_binary(path) as stream:
            _check_root(path, next(iterparse(path, stream, events=("start",)))[1])
    missing = [s for s in ("object-types", "event-types") if s not in seen]
    if missing:
        raise InputError(
            f"{path}: the <log> has no <{'>, <'.join(missing)}>; not an OCEL 2.0 XML log."
        )


def _check_root(path: Path, root: Any) -> None:
    if root.tag != "log":
        raise InputError(
            f"{path}: line {root.sourceline}: the root element is <{root.tag}>, not <log>; "
            "not an OCEL 2.0 XML log."
        )


def _section(emitter: Emitter, elem: Any, seen: set[str]) -> None:
    where = f"line {elem.sourceline}"
    if elem.tag == "global":
        raise emitter.fail(
            where,
            "<global> is OCEL 1.0 XML, not OCEL 2.0. Convert it to OCEL 2.0 "
            "(e.g. with pm4py) first.",
        )
    if elem.tag in ("object-types", "event-types") and ({"objects", "events"} & seen):
        raise emitter.fail(
            where, f"<{elem.tag}> comes after the data; OCEL 2.0 declares types first."
        )
    seen.add(elem.tag)


def _declare(emitter: Emitter, kind: str, elem: Any, where: str) -> None:
    name = emitter.ident(where, f"{kind} type name", elem.get("name"))
    attrs = [(a.get("name"), a.get("type") or "string") for a in elem.iterfind(_ATTRS)]
    _check_names(emitter, where, attrs)
    emitter.declare(kind, name, attrs)


def _check_names(emitter: Emitter, where: str, attrs: list[tuple[Any, ...]]) -> None:
    for attr in attrs:
        if not attr[0]:
            raise emitter.fail(where, "an <attribute> has no name.")


def write_ocel2_xml(
    log: Log, path: Path, *, progress: Progress | None = None, xsd_relationships: bool = False
) -> None:
    """Write the log as OCEL 2.0 XML (gzip-compressed when ``path`` ends in ``.gz``).

    Timestamps are ISO 8601 UTC; a value the log has as NULL is an empty ``<attribute/>``.
    Relationships are ``<relationship object-id=".." qualifier=".."/>`` as in the standard's
    example files and pm4py's writer, or, with ``xsd_relationships``, ``<object object-id=".."
    qualifier=".." type=".."/>`` as the standard's XSD asks (pm4py then loses the O2O links).

    Args:
        log: the log to write; its tables are read in ``seq`` order, in chunks.
        path: the output file, replaced if it exists.
        progress: called with the number of events written so far.
        xsd_relationships: write relationships in the XSD's ``<object>`` form.

    Example:
        >>> write_ocel2_xml(log, Path("out.xmlocel"))  # doctest: +SKIP
    """
    gz = path.name.endswith(".gz")
    with (
        gzip.open(path, "wb") if gz else open(path, "wb") as raw,
        etree.xmlfile(raw, encoding="utf-8", buffered=True) as xf,
    ):
        xf.write_declaration()
        with xf.element("log"):
            for section, kind in (("object-types", "object"), ("event-types", "event")):
                block = etree.Element(section)
                for name, attrs in declarations(log.con, kind).items():
                    declared = etree.SubElement(block, f"{kind}-type", name=name)
                    listed = etree.SubElement(declared, "attributes")
                    for attribute, value_type in attrs:
                        etree.SubElement(listed, "attribute", name=attribute, type=value_type)
                xf.write(block)
            with xf.element("objects"):
                _write_objects(log, xf, xsd_relationships)
            with xf.element("events"):
                _write_events(log, xf, xsd_relationships, progress)


def _relationship(
    parent: Any, target: str, qualifier: str, target_type: str | None, xsd: bool
) -> None:
    if xsd:
        attrs = {"object-id": target, "qualifier": qualifier, "type": target_type or ""}
        etree.SubElement(parent, "object", attrs)
    else:
        etree.SubElement(parent, "relationship", {"object-id": target, "qualifier": qualifier})


def _write_objects(log: Log, xf: Any, xsd: bool) -> None:
    for (_, oid, otype), (attrs, rels) in object_records(log, target_types=True):
        elem = etree.Element("object", id=oid, type=otype)
        listed = etree.SubElement(elem, "attributes")
        for name, time, value in attrs:
            etree.SubElement(listed, "attribute", name=name, time=time).text = value
        related = etree.SubElement(elem, "objects")
        for target, qualifier, target_type in rels:
            _relationship(related, target, qualifier, target_type, xsd)
        xf.write(elem)


def _write_events(log: Log, xf: Any, xsd: bool, progress: Progress | None) -> None:
    for i, ((_, eid, etype, etime), (attrs, rels)) in enumerate(
        event_records(log, target_types=True)
    ):
        elem = etree.Element("event", id=eid, type=etype, time=etime)
        listed = etree.SubElement(elem, "attributes")
        for name, value in attrs:
            etree.SubElement(listed, "attribute", name=name).text = value
        related = etree.SubElement(elem, "objects")
        for target, qualifier, target_type in rels:
            _relationship(related, target, qualifier, target_type, xsd)
        xf.write(elem)
        if progress is not None and i % 10_000 == 0:
            progress(i)
