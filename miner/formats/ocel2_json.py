"""OCEL 2.0 JSON (``.jsonocel``, ``.json``, ``.json.gz``): a streaming reader and writer.

The reader's memory beyond the tables stays bounded: documents up to 512 MiB are decoded in bulk
(:mod:`miner.formats.ocel2_json_bulk`), larger ones stream with ijson through the fast path of
:mod:`miner.formats.ocel2_json_fast` (two passes, rows gathered column-wise into Arrow tables), with
:func:`read_ocel2_json_ijson` (declarations, objects, events, row by row) as its reference and the
wording of every error. The writer writes JSON text incrementally from the canonical tables,
ordered as they were read.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import ijson

from miner.errors import InputError
from miner.formats._input import open_binary
from miner.formats._ocel2_common import (
    Emitter,
    declarations,
    event_records,
    object_records,
)
from miner.model.loading import TableSink
from miner.model.log import Log
from miner.progress import Progress

_REQUIRED = ("objectTypes", "eventTypes", "objects", "events")
_CHUNK = 10_000


class _Counted:
    """A byte stream that remembers how many (decompressed) bytes were read from it."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.consumed += len(data)
        return data


def _items(path: Path, prefix: str, progress: Progress | None) -> Iterator[Any]:
    """The JSON values at ``prefix``; malformed JSON raises InputError with the byte offset."""
    with open_binary(path, progress) as stream:
        try:
            yield from ijson.items(stream, prefix, use_float=False)
        except ijson.JSONError as exc:
            raise InputError(
                f"{path}: near byte {_error_offset(path)}: malformed JSON "
                f"({str(exc).splitlines()[0]}). The file may be truncated or not JSON; "
                "nothing was imported."
            ) from None
        except (OSError, EOFError) as exc:
            raise InputError(
                f"{path}: near byte {_error_offset(path)} of the decompressed text: cannot "
                f"decompress the file ({exc}); it is truncated or damaged. Nothing was imported."
            ) from None


def _error_offset(path: Path) -> int:
    """Where parsing fails, to within 64 bytes of the decompressed text (the slow path)."""
    with open_binary(path) as stream:
        counted = _Counted(stream)
        try:
            for _ in ijson.parse(counted, buf_size=64):
                pass
        except (ijson.JSONError, OSError, EOFError):
            pass
        return counted.consumed


def _top_level_keys(path: Path) -> list[str] | None:
    """The keys of the top-level JSON object, or None when the document is not an object."""
    keys: list[str] = []
    with open_binary(path) as stream:
        for prefix, event, value in ijson.parse(stream):
            if prefix == "" and event == "start_array":
                return None
            if prefix == "" and event == "map_key":
                keys.append(value)
    return keys


def _check_version(path: Path) -> None:
    keys = _top_level_keys(path)
    if keys is None:
        raise InputError(
            f"{path}: byte 0: the document is a JSON array, not an OCEL 2.0 object with "
            f"{', '.join(_REQUIRED)}."
        )
    missing = [k for k in _REQUIRED if k not in keys]
    if not missing:
        return
    if any(k.startswith("ocel:") for k in keys):
        raise InputError(
            f"{path}: top-level keys {keys[:5]}: this is OCEL 1.0 JSON (ocel:global-log, "
            "ocel:events, ...), not OCEL 2.0. Convert it to OCEL 2.0 (e.g. with pm4py) first."
        )
    raise InputError(
        f"{path}: the top-level object lacks {', '.join(missing)} (found keys: "
        f"{', '.join(keys[:10]) or 'none'}). Not an OCEL 2.0 JSON log."
    )


def _pairs(
    where: str, emitter: Emitter, items: Any, keys: tuple[str, ...]
) -> list[tuple[Any, ...]]:
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise emitter.fail(
            where, f"expected a list of objects with {', '.join(keys)}, found {items!r:.80}."
        )
    for item in items:
        if "name" in keys and not isinstance(item.get("name"), str):
            raise emitter.fail(where, f"an attribute has no name: {item!r:.80}.")
    return [tuple(item.get(k) for k in keys) for item in items]


def read_ocel2_json(path: Path, sink: TableSink, *, progress: Progress | None = None) -> None:
    """Read an OCEL 2.0 JSON log into the canonical tables.

    OCEL 2.0 JSON is an object with ``objectTypes``, ``eventTypes``, ``objects`` and ``events``.
    Each event becomes an ``events`` row (``source_row`` = its 1-based position in ``events``),
    its attribute values ``event_attributes`` rows typed by the declaration, and its
    relationships ``event_objects`` rows; objects likewise, keeping every attribute change.

    Args:
        path: the ``.jsonocel``, ``.json`` or ``.json.gz`` file.
        sink: where the rows go; the caller commits it.
        progress: called with the bytes read so far.

    Raises:
        InputError: the file is missing, empty, malformed, not OCEL 2.0, or a value or timestamp
            cannot be read; the message names the file and the position.

    Example:
        >>> from miner.model.log import connect
        >>> log = connect(None)
        >>> sink = TableSink(log.con)
        >>> read_ocel2_json(Path("log.jsonocel"), sink)  # doctest: +SKIP
        >>> sink.commit(what="log.jsonocel")  # doctest: +SKIP
    """
    from miner.formats.ocel2_json_fast import read_ocel2_json_fast

    read_ocel2_json_fast(path, sink, progress=progress)


def read_ocel2_json_ijson(path: Path, sink: TableSink, *, progress: Progress | None = None) -> None:
    """The original row-by-row reader: :func:`read_ocel2_json`'s reference and error wording.

    The fast path (:mod:`miner.formats.ocel2_json_fast`) gives the same tables; when it meets
    input it refuses, it runs this reader to word the error.
    """
    emitter = Emitter(path, sink, "ocel2-json")
    found: dict[str, bool] = {}
    for kind, key in (("object", "objectTypes"), ("event", "eventTypes")):
        for declared in _items(path, key, None):
            found[key] = True
            entries = declared if isinstance(declared, list) else None
            if entries is None or not all(isinstance(t, dict) for t in entries):
                raise emitter.fail(
                    key, f"expected a list of type declarations, found {declared!r:.80}."
                )
            for index, entry in enumerate(entries):
                where = f"{key}[{index}]"
                name = emitter.ident(where, f"{kind} type name", entry.get("name"))
                attrs = _pairs(where, emitter, entry.get("attributes"), ("name", "type"))
                emitter.declare(kind, name, [(n, str(t or "string")) for n, t in attrs])
        if key not in found:
            _check_version(path)
    counts = {"objects": 0, "events": 0}
    for index, obj in enumerate(_items(path, "objects.item", None)):
        where = f"objects[{index}]"
        if not isinstance(obj, dict):
            raise emitter.fail(where, f"expected an object, found {obj!r:.80}.")
        attrs = _pairs(where, emitter, obj.get("attributes"), ("name", "time", "value"))
        rels = _pairs(where, emitter, obj.get("relationships"), ("objectId", "qualifier"))
        emitter.object(where, obj.get("id"), obj.get("type"), attrs, rels)
        counts["objects"] += 1
    for index, event in enumerate(_items(path, "events.item", progress)):
        where = f"events[{index}]"
        if not isinstance(event, dict):
            raise emitter.fail(where, f"expected an object, found {event!r:.80}.")
        attrs = _pairs(where, emitter, event.get("attributes"), ("name", "value"))
        rels = _pairs(where, emitter, event.get("relationships"), ("objectId", "qualifier"))
        emitter.event(
            where, index + 1, event.get("id"), event.get("type"), event.get("time"), attrs, rels
        )
        counts["events"] += 1
    if not counts["objects"] and not counts["events"]:
        _check_version(path)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def write_ocel2_json(log: Log, path: Path, *, progress: Progress | None = None) -> None:
    """Write the log as OCEL 2.0 JSON (gzip-compressed when ``path`` ends in ``.gz``).

    Values are written as JSON strings (the OCEL 2.0 JSON schema asks for strings), timestamps
    as ISO 8601 UTC (``2023-04-05T15:28:14Z``), and a value the log has as NULL as ``null``.
    Every declared type and attribute is written, plus those the data uses undeclared.

    Args:
        log: the log to write; its tables are read in ``seq`` order, in chunks.
        path: the output file, replaced if it exists.
        progress: called with the number of events written so far.

    Example:
        >>> write_ocel2_json(log, Path("out.jsonocel"))  # doctest: +SKIP
    """
    gz = path.name.endswith(".gz")
    with (
        gzip.open(path, "wt", encoding="utf-8") if gz else open(path, "w", encoding="utf-8") as out
    ):
        out.write("{")
        for n, (key, kind) in enumerate((("objectTypes", "object"), ("eventTypes", "event"))):
            types = [
                {"name": name, "attributes": [{"name": a, "type": t} for a, t in attrs]}
                for name, attrs in declarations(log.con, kind).items()
            ]
            out.write(("," if n else "") + f'"{key}":' + _dump(types))
        out.write(',"objects":[')
        for i, ((_, oid, otype), (attrs, rels)) in enumerate(object_records(log)):
            record: dict[str, Any] = {"id": oid, "type": otype}
            record["attributes"] = [{"name": n, "time": t, "value": v} for n, t, v in attrs]
            record["relationships"] = [{"objectId": t, "qualifier": q} for t, q in rels]
            out.write(("," if i else "") + _dump(record))
        out.write('],"events":[')
        for i, ((_, eid, etype, etime), (attrs, rels)) in enumerate(event_records(log)):
            record = {"id": eid, "type": etype, "time": etime}
            record["attributes"] = [{"name": n, "value": v} for n, v in attrs]
            record["relationships"] = [{"objectId": o, "qualifier": q} for o, q in rels]
            out.write(("," if i else "") + _dump(record))
            if progress is not None and i % _CHUNK == 0:
                progress(i)
        out.write("]}\n")
