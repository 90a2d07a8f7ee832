"""The fast paths of the OCEL 2.0 JSON reader: bulk decoding, else a streaming pass.

:func:`read_ocel2_json_fast` first tries the bulk path (:mod:`miner.formats.ocel2_json_bulk`:
msgspec decodes the whole document in typed batches), which reads the common documents. What it
leaves (numbers as ids, repeated keys, bad input, ...), and everything when msgspec is missing, the
streaming path below reads, with ijson, rows gathered column-wise.

What the streaming path does differently from the original reader
(:func:`~miner.formats.ocel2_json.read_ocel2_json_ijson`), with the same mapping and the same
tables (seq and provenance included):

* The garbage collector is paused while reading. ijson builds millions of short-lived dicts, and
  the collections they trigger cost more than the parsing (they hold no cycles; reference
  counting frees them).
* One pass over the file instead of four: the declarations are read up to their first value only
  (they open the file), and ``objects`` and ``events`` are parsed from the same chunks by two ijson
  coroutines; the ``objects`` one is dropped once the ``events`` array has begun after it.
  Meanwhile the chunks are searched for the key names: a second ``"objects"`` key sends the reader
  through the objects once more for the ones after the first array, a second declaration key
  makes it start again with the original reader, so a repeated key means what it always meant.
* ``events``, ``objects``, ``event_objects`` and ``object_objects`` are collected as one list per
  column and staged as Arrow tables; event timestamps in the common ISO 8601 form with a zone are
  parsed in bulk by Arrow (the rest by :func:`~miner.formats._ocel2_common.parse_time`). Attribute
  values and object attribute times still go through the shared ``Emitter`` one by one.

Errors: this path only has to be right when the file is good. On anything it would refuse it
runs the original reader on a sink that discards rows, which raises exactly the original error.
"""

from __future__ import annotations

import gc
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, cast

import ijson
import pyarrow as pa
import pyarrow.compute as pc

from miner.errors import InputError
from miner.formats._input import open_binary
from miner.formats._ocel2_common import Emitter, _qualifier, parse_time
from miner.model.loading import TableSink
from miner.progress import Progress

_ROWS = 100_000
_SOURCE = "ocel2-json"
_TS = pa.timestamp("us", tz="UTC")
#: ISO 8601 texts Arrow reads exactly as :func:`parse_time` does: with a zone, year 0001-9999,
#: valid hour, minute and second, at most microseconds. Any other text goes to parse_time.
_STRICT = (
    r"^([1-9]\d{3}|0[1-9]\d{2}|00[1-9]\d|000[1-9])-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"
)
_OBJECTS_KEY = b'"objects"'
_EVENTS_KEY = b'"events"'
_TYPES_KEY = b'Types"'  # the end of "objectTypes" and "eventTypes"


class _Refused(Exception):
    """The fast path met input the reader refuses; the original reader words the error."""


class _Again(Exception):
    """A declaration key occurs twice: read the file again with the original reader."""


#: What the streaming path meets on input the original reader refuses (the original reader itself
#: raises a bare UnicodeDecodeError on some invalid UTF-8 that yajl lets through).
_REFUSALS = (_Refused, InputError, ijson.JSONError, OSError, EOFError, UnicodeDecodeError)


class _Discard:
    """A sink stand-in that drops rows (the original reader, run only for its error message)."""

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        pass

    def add_many(self, table: str, rows: Any) -> None:
        pass


def read_ocel2_json_fast(path: Path, sink: TableSink, *, progress: Progress | None = None) -> None:
    """Read an OCEL 2.0 JSON log into the canonical tables; see :func:`read_ocel2_json`.

    The bulk path (:mod:`miner.formats.ocel2_json_bulk`) reads the common documents; what it
    leaves (and everything when msgspec is not installed) this module's streaming path reads.
    """
    from miner.formats.ocel2_json import read_ocel2_json_ijson

    collecting = gc.isenabled()
    gc.disable()
    try:
        if not _read_bulk(path, sink, progress):
            _read(path, sink, progress)
    except _Again:
        sink.reset()
        read_ocel2_json_ijson(path, sink, progress=progress)
    except _REFUSALS as refused:
        if collecting:
            gc.enable()
        read_ocel2_json_ijson(path, _Discard(), progress=None)  # type: ignore[arg-type]
        raise InputError(f"{path}: {refused}") from None  # not reached: that reader refuses too
    finally:
        if collecting:
            gc.enable()


def _read_bulk(path: Path, sink: TableSink, progress: Progress | None) -> bool:
    """Whether the bulk path read the file; if not, the sink is as it was."""
    try:
        from miner.formats.ocel2_json_bulk import Unusual, read_ocel2_json_bulk
    except ImportError:  # msgspec is missing
        return False
    try:
        read_ocel2_json_bulk(path, sink, progress)
    except Unusual:
        sink.reset()
        return False
    return True


class _Watched:
    """The decompressed stream of the events pass: counts the key names it passes, and where the
    first ``"events"`` and ``"objects"`` are."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.consumed = 0
        self.tail = b""
        self.counts = {_OBJECTS_KEY: 0, _EVENTS_KEY: 0, _TYPES_KEY: 0}
        self.first: dict[bytes, int] = {}

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        for key in self.counts:
            window = self.tail[len(self.tail) - len(key) + 1 :] + chunk
            found = window.count(key)
            if found:
                self.counts[key] += found
                if key not in self.first:
                    self.first[key] = self.consumed - (len(window) - len(chunk)) + window.find(key)
        self.consumed += len(chunk)
        self.tail = (self.tail + chunk)[-16:]
        return chunk


class _Cut:
    """The decompressed stream up to ``end``, then the end of the data."""

    def __init__(self, stream: IO[bytes], end: int) -> None:
        self.stream = stream
        self.left = end
        self.reached = False

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            self.reached = True
            return b""
        chunk = self.stream.read(self.left if size < 0 else min(size, self.left))
        self.left -= len(chunk)
        return chunk


def _read(path: Path, sink: TableSink, progress: Progress | None) -> None:
    from miner.formats.ocel2_json import _check_version

    emitter = Emitter(path, sink, _SOURCE)
    for kind, key in (("object", "objectTypes"), ("event", "eventTypes")):
        declared = _first(path, key)
        if declared is None:
            _check_version(path)
        _declare(emitter, kind, declared)
    events = _Events(emitter, sink, path.name)
    with open_binary(path, progress) as stream:
        watched = _Watched(stream)
        _add_all(events, ijson.items(watched, "events.item"))
    events.flush()
    if watched.counts[_TYPES_KEY] != 2:
        raise _Again  # a declaration key may occur twice; only the first value was read
    objects = _Objects(emitter, sink)
    # The objects array ends before the events array when "objects" comes first and each key
    # occurs once (the events pass found events, so that "events" is the top-level key).
    end = watched.first.get(_EVENTS_KEY, 0)
    cut = (
        events.count > 0
        and watched.counts[_OBJECTS_KEY] == 1
        and watched.counts[_EVENTS_KEY] == 1
        and watched.first[_OBJECTS_KEY] < end
    )
    with open_binary(path) as stream:
        source = _Cut(stream, end) if cut else stream
        try:
            _add_all(objects, ijson.items(source, "objects.item"))
        except ijson.JSONError:
            if not (cut and cast(_Cut, source).reached):
                raise
    objects.flush()
    if not objects.count and not events.count:
        _check_version(path)


def _add_all(target: _Objects | _Events, items: Iterator[Any]) -> None:
    batch: list[Any] = []
    try:
        for item in items:
            batch.append(item)
            if len(batch) >= 1000:
                target.add(batch)
                batch = []
    finally:  # the items before a cut (see _Cut) count too
        target.add(batch)


def _first(path: Path, key: str) -> Any:
    """The value of the top-level ``key`` (the first one), or None; stops reading there."""
    from miner.formats.ocel2_json import _items

    items = cast(Generator[Any, None, None], _items(path, key, None))
    try:
        return next(items, None)
    finally:
        items.close()


def _declare(emitter: Emitter, kind: str, declared: Any) -> None:
    """The original reader's handling of ``objectTypes`` or ``eventTypes``."""
    if type(declared) is not list or not all(type(t) is dict for t in declared):
        raise _Refused("malformed type declarations")
    for entry in declared:
        name = _ident(entry.get("name"))
        attributes = entry.get("attributes")
        pairs = []
        for item in () if attributes is None else _dicts(attributes):
            if type(item.get("name")) is not str:
                raise _Refused("an attribute has no name")
            pairs.append((item["name"], str(item.get("type") or "string")))
        emitter.declare(kind, name, pairs)


def _dicts(items: Any) -> list[dict[str, Any]]:
    if type(items) is not list or not all(type(i) is dict for i in items):
        raise _Refused("a list of attributes or relationships is malformed")
    return cast(list[dict[str, Any]], items)


def _ident(value: Any) -> str:
    if type(value) is str and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _Refused("an id or type is missing or not a text")


class _Links:
    """E2O or O2O rows as three columns."""

    def __init__(self, sink: TableSink, table: str) -> None:
        self.sink = sink
        self.table = table
        self.sources: list[str] = []
        self.targets: list[str] = []
        self.qualifiers: list[str] = []

    def add(self, source: str, relationships: Any) -> None:
        if type(relationships) is not list:
            raise _Refused("relationships are not a list")
        sources, targets, qualifiers = self.sources, self.targets, self.qualifiers
        for link in relationships:
            if type(link) is not dict:
                raise _Refused("a relationship is not an object")
            target = link.get("objectId")
            qualifier = link.get("qualifier")
            sources.append(source)
            targets.append(target if type(target) is str and target else _ident(target))
            qualifiers.append(qualifier if type(qualifier) is str else _qualifier(qualifier))

    def flush(self) -> None:
        if self.sources:
            columns = [
                pa.array(c, pa.string()) for c in (self.sources, self.targets, self.qualifiers)
            ]
            self.sink.add_arrow(self.table, pa.table(columns, ["a", "b", "c"]))
            for column in (self.sources, self.targets, self.qualifiers):
                column.clear()


class _Objects:
    def __init__(self, emitter: Emitter, sink: TableSink) -> None:
        self.emitter = emitter
        self.sink = sink
        self.count = 0
        self.ids: list[str] = []
        self.types: list[str] = []
        self.links = _Links(sink, "object_objects")

    def add(self, found: Iterable[Any]) -> None:
        emitter, ids, types, links = self.emitter, self.ids, self.types, self.links
        add_row = self.sink.add
        declared_types = emitter.object_types
        index = self.count
        for obj in found:
            if type(obj) is not dict:
                raise _Refused("an object is not a JSON object")
            get = obj.get
            attributes = get("attributes")
            relationships = get("relationships")
            object_id = _ident(get("id"))
            object_type = _ident(get("type"))
            ids.append(object_id)
            types.append(object_type)
            if attributes:
                declared = declared_types.get(object_type, {})
                at = f"objects[{index}] (object {object_id!r})"
                for item in _dicts(attributes):
                    name = item.get("name")
                    if type(name) is not str:
                        raise _Refused("an attribute has no name")
                    time_text = item.get("time")
                    moment = (
                        0
                        if time_text is None
                        else emitter.time(at, f"attribute {name!r} time", time_text)
                    )
                    typed = emitter.value(at, declared.get(name), name, item.get("value"))
                    add_row("object_attributes", (object_id, name, moment, *typed))
            elif attributes is not None and type(attributes) is not list:
                raise _Refused("attributes are not a list")
            if relationships is not None:
                links.add(object_id, relationships)
            index += 1
            if len(ids) >= _ROWS:
                self.flush()
            if len(links.sources) >= _ROWS:
                links.flush()
        self.count = index

    def flush(self) -> None:
        if self.ids:
            columns = [pa.array(self.ids, pa.string()), pa.array(self.types, pa.string())]
            self.sink.add_arrow("objects", pa.table(columns, ["a", "b"]))
            self.ids.clear()
            self.types.clear()
        self.links.flush()


class _Events:
    def __init__(self, emitter: Emitter, sink: TableSink, file_name: str) -> None:
        self.emitter = emitter
        self.sink = sink
        self.file_name = file_name
        self.count = 0
        self.ids: list[str] = []
        self.types: list[str] = []
        self.times: list[Any] = []
        self.first_row = 1
        self.links = _Links(sink, "event_objects")

    def add(self, found: Iterable[Any]) -> None:
        emitter, ids, types, times, links = (
            self.emitter,
            self.ids,
            self.types,
            self.times,
            self.links,
        )
        add_row = self.sink.add
        declared_types = emitter.event_types
        index = self.count
        for event in found:
            if type(event) is not dict:
                raise _Refused("an event is not a JSON object")
            get = event.get
            attributes = get("attributes")
            relationships = get("relationships")
            event_id = _ident(get("id"))
            event_type = _ident(get("type"))
            ids.append(event_id)
            types.append(event_type)
            times.append(get("time"))
            if attributes:
                declared = declared_types.get(event_type, {})
                at = f"events[{index}] (event {event_id!r})"
                for item in _dicts(attributes):
                    name = item.get("name")
                    if type(name) is not str:
                        raise _Refused("an attribute has no name")
                    typed = emitter.value(at, declared.get(name), name, item.get("value"))
                    add_row("event_attributes", (event_id, name, *typed))
            elif attributes is not None and type(attributes) is not list:
                raise _Refused("attributes are not a list")
            if relationships is not None:
                links.add(event_id, relationships)
            index += 1
            if len(ids) >= _ROWS:
                self.flush()
            if len(links.sources) >= _ROWS:
                links.flush()
        self.count = index

    def flush(self) -> None:
        n = len(self.ids)
        if n:
            columns = [
                pa.array(self.ids, pa.string()),
                pa.array(self.types, pa.string()),
                _times(self.times),
                pa.repeat(pa.scalar(_SOURCE), n),
                pa.repeat(pa.scalar(self.file_name), n),
                pa.array(range(self.first_row, self.first_row + n), pa.int64()),
            ]
            self.sink.add_arrow("events", pa.table(columns, list("abcdef")))
            self.first_row += n
            for column in (self.ids, self.types, self.times):
                column.clear()
        self.links.flush()


def _times(texts: list[Any]) -> pa.Array:
    """UTC timestamps of ISO 8601 texts: in bulk by Arrow, else one by one by parse_time."""
    if not all(type(t) is str for t in texts):
        raise _Refused("an event time is not a text")
    return timestamps(texts)


def timestamps(texts: list[str]) -> pa.Array:
    """:func:`_times` of texts known to be str (the bulk path's): raises _Refused when one of them
    cannot be read."""
    array = pa.array(texts, pa.string())
    if pc.all(pc.match_substring_regex(array, _STRICT)).as_py() is not False:
        try:
            return pc.cast(array, _TS)
        except (pa.ArrowInvalid, ValueError):
            pass  # parse_time decides, value by value
    values: list[int] = []
    for text in texts:
        try:
            values.append(parse_time(text))
        except ValueError:
            raise _Refused("an event time cannot be read") from None
    return pa.array(values, pa.int64()).cast(_TS)
