"""The bulk path of the OCEL 2.0 JSON reader: msgspec decodes the document in typed batches.

It reads the (decompressed) file into memory and lets msgspec (C) check and decode it:

1. The top level is decoded with the four OCEL 2.0 keys required and every object and event kept
   as a raw JSON slice of the input (:class:`msgspec.Raw`, a view, no copy). Each key must occur
   once: their texts are counted in the bytes outside the four values, so a repeated key, or one
   written with escapes, leaves this path.
2. Objects and events are decoded in batches of ``BATCH`` into typed structs: ids, types, times,
   attribute names, object ids and qualifiers must be JSON strings, lists must be lists. Each
   batch is turned into columns by C-level ``map`` and ``itertools`` calls and into Arrow arrays;
   event times and object attribute times are parsed in bulk by Arrow. Attribute values keep
   their JSON text, which is turned into the value ijson gives (int, Decimal, str, bool, None,
   list, dict) and typed by the shared :func:`~miner.formats._ocel2_common.typed_value` once per
   distinct text; each attribute row only gets that value's number, and a batch's value columns
   are taken from the distinct values by Arrow (no Python tuple per row).
3. A worker thread hands the Arrow tables to the sink (DuckDB copies them in without the GIL)
   while the next batch is decoded, ``STAGE_ROWS`` rows of a table at a time: DuckDB inserts a
   table of several batches on all cores, a single batch on one.

Whatever is outside that shape (a number as an id, a missing key, a time neither Arrow nor
parse_time reads, malformed JSON, ...) raises :class:`Unusual`, and nothing here words an error:
the streaming reader (:mod:`miner.formats.ocel2_json_fast`) then reads the file from the start and
keeps or refuses it exactly as the original reader does. So the tables are the same whichever
path read the file.

Memory: the decompressed text, one raw view per object and event (about 50 bytes each), the Python
objects of one batch, and a few times ``STAGE_ROWS`` rows as Arrow arrays waiting to be staged.
"""

from __future__ import annotations

import codecs
import gzip
import json
import re
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from itertools import chain, compress
from operator import attrgetter
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from miner.errors import InputError
from miner.formats._input import check_file
from miner.formats._ocel2_common import EPOCH_US, Emitter, ValueRow, typed_value
from miner.formats.ocel2_json_fast import _declare, _Refused, timestamps
from miner.model.loading import TableSink
from miner.model.schema import ARROW_SCHEMAS
from miner.progress import Progress

#: Objects or events decoded (held as Python objects) at a time.
BATCH = 50_000
#: Rows of one table gathered as Arrow arrays before they are handed to the staging thread.
STAGE_ROWS = 200_000
_SOURCE = "ocel2-json"
_NULL = msgspec.Raw(b"null")
_INTEGER = re.compile(rb"-?\d+")
_KEYS = (b'"objectTypes"', b'"eventTypes"', b'"objects"', b'"events"')
_UTF8_CHUNK = 1 << 23


class Unusual(Exception):
    """The document is outside what this path reads; the streaming reader reads it instead."""


class _Relationship(msgspec.Struct, gc=False, rename="camel"):
    object_id: str
    qualifier: str | None = None


class _EventAttribute(msgspec.Struct, gc=False):
    name: str
    value: msgspec.Raw = _NULL


class _ObjectAttribute(msgspec.Struct, gc=False):
    name: str
    time: str | None = None
    value: msgspec.Raw = _NULL


class _Event(msgspec.Struct, gc=False):
    id: str
    type: str
    time: str
    attributes: list[_EventAttribute] | None = None
    relationships: list[_Relationship] | None = None


class _Object(msgspec.Struct, gc=False):
    id: str
    type: str
    attributes: list[_ObjectAttribute] | None = None
    relationships: list[_Relationship] | None = None


class _Document(msgspec.Struct, rename="camel"):
    object_types: msgspec.Raw
    event_types: msgspec.Raw
    objects: list[msgspec.Raw] | None
    events: list[msgspec.Raw] | None


_DOCUMENT = msgspec.json.Decoder(_Document)
_OBJECTS = msgspec.json.Decoder(list[_Object])
_EVENTS = msgspec.json.Decoder(list[_Event])
_STRING = msgspec.json.Decoder(str)
_ID, _TYPE, _TIME = attrgetter("id"), attrgetter("type"), attrgetter("time")
_ATTRIBUTES, _RELATIONSHIPS = attrgetter("attributes"), attrgetter("relationships")
_TARGET, _QUALIFIER = attrgetter("object_id"), attrgetter("qualifier")
_NAME, _ATTRIBUTE_TIME = attrgetter("name"), attrgetter("time")
_TS = pa.timestamp("us", tz="UTC")
#: What msgspec (and json) raise on input this path leaves; ValidationError is a DecodeError, and
#: msgspec nests less deeply than ijson.
_DECODING = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
_T = TypeVar("_T")


def read_ocel2_json_bulk(path: Path, sink: TableSink, progress: Progress | None = None) -> None:
    """Stage the tables of the OCEL 2.0 JSON file ``path``, or raise :class:`Unusual`.

    On :class:`Unusual` the sink may hold part of the rows; the caller resets it.
    """
    text = _Text(_document_bytes(path))
    _require_utf8(text.data)
    if progress is not None:
        progress(path.stat().st_size)
    try:
        document = _DOCUMENT.decode(text.data)
    except _DECODING:
        raise Unusual("not a plain OCEL 2.0 document") from None
    _require_single_keys(text, document)
    emitter = Emitter(path, sink, _SOURCE)
    try:
        _declare(emitter, "object", _plain(bytes(document.object_types)))
        _declare(emitter, "event", _plain(bytes(document.event_types)))
    except (_Refused, *_DECODING, ValueError) as exc:
        raise Unusual(str(exc)) from None
    staged = _Staged(sink)
    complete = False
    try:
        objects = _ObjectTables(emitter, staged)
        for _, object_batch in text.batches(document.objects or [], _OBJECTS):
            objects.add(object_batch)
        staged.hand_over_all()  # staged while the events are decoded
        events = _EventTables(emitter, staged, path.name)
        for start, event_batch in text.batches(document.events or [], _EVENTS):
            events.add(start, event_batch)
        complete = True
    finally:
        staged.close(complete=complete)


#: The largest document (decompressed bytes) read in bulk; larger ones stream, so the memory a read
#: needs beyond the tables stays bounded whatever the file size.
BULK_LIMIT = 512 << 20


def _document_size(path: Path) -> int:
    """The decompressed size: a gzip member's trailer holds it modulo 2**32 (so a compressed file
    over a quarter of the limit counts as too large)."""
    size = path.stat().st_size
    if path.suffix != ".gz":
        return size
    if size > BULK_LIMIT // 4:
        return BULK_LIMIT + 1
    with open(path, "rb") as handle:
        handle.seek(-4, 2)
        return int.from_bytes(handle.read(4), "little")


def _document_bytes(path: Path) -> bytes:
    """The whole file, decompressed when its name ends in ``.gz``."""
    try:
        check_file(path)
        if _document_size(path) > BULK_LIMIT:
            raise Unusual(f"larger than {BULK_LIMIT >> 20} MiB: streamed instead")
        raw = path.read_bytes()
        return gzip.decompress(raw) if path.suffix == ".gz" else raw
    except (InputError, OSError, EOFError, zlib.error) as exc:
        raise Unusual(str(exc)) from None


def _require_utf8(data: bytes) -> None:
    """The whole text is UTF-8, as ijson requires: msgspec checks the strings it decodes, not the
    ones it skips (values of keys no struct names)."""
    if data.isascii():  # the common case, at memory speed
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), _UTF8_CHUNK):
            decoder.decode(
                view[start : start + _UTF8_CHUNK], final=start + _UTF8_CHUNK >= len(data)
            )
    except UnicodeDecodeError as exc:
        raise Unusual(str(exc)) from None


class _Text:
    """The document's bytes, and where in them a raw value (a view into them) lies."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.base = _address(data)

    def span(self, first: msgspec.Raw, last: msgspec.Raw) -> tuple[int, int]:
        """The offsets from the start of ``first`` to the end of ``last``."""
        start, end = _address(first) - self.base, _address(last) - self.base + len(last)
        if not 0 <= start <= end <= len(self.data):
            raise Unusual("a raw value is not a view of the text")  # not seen with msgspec 0.22
        return start, end

    def batches(
        self, items: list[msgspec.Raw], decoder: msgspec.json.Decoder[list[_T]]
    ) -> Iterator[tuple[int, list[_T]]]:
        """``(index of the first, decoded items)`` for each run of ``BATCH`` items of an array.

        A run is decoded from one slice of the text, from its first item to its last, as an array.
        """
        view = memoryview(self.data)
        for start in range(0, len(items), BATCH):
            stop = min(start + BATCH, len(items))
            begin, end = self.span(items[start], items[stop - 1])
            try:
                decoded = decoder.decode(b"".join((b"[", view[begin:end], b"]")))
            except _DECODING as exc:
                raise Unusual(str(exc)) from None
            yield start, decoded


def _address(buffer: Any) -> int:
    """Where the bytes of a buffer (bytes or msgspec.Raw) start in memory."""
    return int(np.frombuffer(buffer, np.uint8).ctypes.data)


def _require_single_keys(text: _Text, document: _Document) -> None:
    """Each top-level key occurs once, as plain text: the original reader reads every occurrence
    of a repeated key, msgspec keeps the last. The keys lie outside the four values, so only the
    bytes there are searched (the values are most of the file)."""
    spans = [text.span(raw, raw) for raw in (document.object_types, document.event_types)]
    for items in (document.objects, document.events):
        if items:
            spans.append(text.span(items[0], items[-1]))
    outside = []
    position = 0
    for start, end in sorted(spans):
        outside.append(text.data[position:start])
        position = max(position, end)
    outside.append(text.data[position:])
    rest = b"\0".join(outside)
    if b"\\" in rest or any(rest.count(key) != 1 for key in _KEYS):
        raise Unusual("a top-level key occurs twice or is written with escapes")


def _plain(text: bytes) -> Any:
    """The JSON value ``text`` as ijson (``use_float=False``) gives it: numbers with a fraction
    or an exponent are Decimal, other numbers int."""
    first = text[:1]
    if first == b'"':
        return _STRING.decode(text)
    if first in b"-0123456789":
        return int(text) if _INTEGER.fullmatch(text) else Decimal(text.decode())
    return json.loads(text, parse_float=Decimal)  # true, false, null, lists and objects


class _Values:
    """Typed attribute values, remembered by declared type and JSON text (values repeat).

    Each distinct value gets a number; a batch's attribute rows are numbered in Python and their
    value columns are taken from the distinct values by Arrow, in one go.
    """

    def __init__(self) -> None:
        self.known: dict[tuple[str | None, bytes], int] = {}
        self.rows: list[ValueRow] = []

    def number(self, declared: str | None, raw: msgspec.Raw) -> int:
        """The number of :func:`typed_value` of the raw JSON value; one it refuses leaves this
        path."""
        key = (declared, bytes(raw))
        found = self.known.get(key)
        if found is None:
            try:
                row = typed_value(declared, _plain(key[1]))
            except (TypeError, ValueError, *_DECODING) as exc:
                raise Unusual(str(exc)) from None
            found = self.known[key] = len(self.rows)
            self.rows.append(row)
        return found

    def columns(self, numbers: list[int]) -> list[pa.Array]:
        """The columns ``type, value_string, value_integer, value_float, value_boolean,
        value_time`` of the values ``numbers``."""
        codes = np.asarray(numbers, np.int64)
        distinct, at = np.unique(codes, return_inverse=True)
        rows = [self.rows[i] for i in distinct.tolist()]
        try:
            table = pa.Table.from_struct_array(pa.array(rows, type=_VALUE_STRUCT))
        except (pa.ArrowException, OverflowError) as exc:  # e.g. an integer beyond 64 bits
            raise Unusual(str(exc)) from None
        columns: list[pa.Array] = table.take(pa.array(at)).columns
        return columns


_VALUE_STRUCT = pa.struct(
    [
        pa.field(f.name, f.type)
        for f in ARROW_SCHEMAS["event_attributes"]
        if f.name not in ("event_id", "name", "seq")
    ]
)


class _Staged:
    """Hands rows to the sink on a worker thread, so DuckDB copies one batch in while msgspec
    decodes the next (DuckDB releases the GIL). Arrow tables are gathered per canonical table and
    handed over ``STAGE_ROWS`` rows at a time: DuckDB inserts a table of several batches on all
    cores, one batch on one. Only the worker uses the sink until :meth:`close`."""

    def __init__(self, sink: TableSink) -> None:
        self.sink = sink
        self.tables: dict[str, list[pa.Table]] = {}
        self.rows: dict[str, int] = {}
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocel2-json-staging")
        self.pending: deque[Future[None]] = deque()

    def add_arrow(self, table: str, columns: list[pa.Array]) -> None:
        """Gather ``columns`` (the table's columns without seq) for ``table``."""
        batch = pa.table(columns, [f"c{i}" for i in range(len(columns))])
        self.tables.setdefault(table, []).append(batch)
        self.rows[table] = self.rows.get(table, 0) + batch.num_rows
        if self.rows[table] >= STAGE_ROWS:
            self._hand_over(table)

    def add_many(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        """Rows as tuples (attribute values): the sink buffers them itself."""
        self._submit(self.sink.add_many, table, rows)

    def close(self, *, complete: bool) -> None:
        """Stop the worker, after it staged everything gathered if ``complete``; raises what the
        worker met."""
        try:
            if complete:
                self.hand_over_all()
                while self.pending:
                    self.pending.popleft().result()
        finally:
            self.worker.shutdown(wait=True, cancel_futures=True)

    def hand_over_all(self) -> None:
        """Queue everything gathered so far for staging."""
        for table in list(self.tables):
            self._hand_over(table)

    def _hand_over(self, table: str) -> None:
        gathered = self.tables.pop(table, [])
        self.rows[table] = 0
        if gathered:
            self._submit(self.sink.add_arrow, table, pa.concat_tables(gathered))

    def _submit(self, stage: Callable[[str, Any], None], table: str, data: Any) -> None:
        """Queue one staging call (they run in order); at most a few wait, to bound memory."""
        while len(self.pending) >= 4 or (self.pending and self.pending[0].done()):
            self.pending.popleft().result()
        self.pending.append(self.worker.submit(stage, table, data))


def _strings(values: list[str], what: str) -> pa.Array:
    """Ids or type names as an Arrow array; an empty one leaves this path."""
    array = pa.array(values, pa.string())
    if len(array) and pc.min(pc.binary_length(array)).as_py() == 0:
        raise Unusual(f"an empty {what}")
    return array


def _columns(items: list[Any], *getters: Callable[[Any], _T]) -> list[list[_T]]:
    """One list per getter, in the order of ``items``."""
    return [list(map(getter, items)) for getter in getters]


def _stage_links(staged: _Staged, table: str, sources: pa.Array, lists: list[Any]) -> None:
    """E2O or O2O rows: each source with each of its relationships, in order."""
    if None in lists:
        lists = [links or () for links in lists]
    counts = np.fromiter(map(len, lists), np.int64, len(lists))
    flat = list(chain.from_iterable(lists))
    if not flat:
        return
    targets, qualifiers = _columns(flat, _TARGET, _QUALIFIER)
    columns = [
        sources.take(pa.array(np.repeat(np.arange(len(lists)), counts))),
        _strings(targets, "objectId"),
        pc.fill_null(pa.array(qualifiers, pa.string()), ""),
    ]
    staged.add_arrow(table, columns)


class _ObjectTables:
    """Gathers ``objects``, ``object_attributes`` and ``object_objects`` batch by batch."""

    def __init__(self, emitter: Emitter, staged: _Staged) -> None:
        self.declared = emitter.object_types
        self.staged = staged
        self.values = _Values()

    def add(self, objects: list[_Object]) -> None:
        """Gather one batch of objects."""
        ids, types = _columns(objects, _ID, _TYPE)
        id_array = _strings(ids, "object id")
        self.staged.add_arrow("objects", [id_array, _strings(types, "object type")])
        attributes = list(map(_ATTRIBUTES, objects))
        if any(attributes):
            self.add_attributes(id_array, types, attributes)
        _stage_links(self.staged, "object_objects", id_array, list(map(_RELATIONSHIPS, objects)))

    def add_attributes(
        self, ids: pa.Array, types: list[str], attributes: list[list[_ObjectAttribute] | None]
    ) -> None:
        """The attribute values of the objects ``ids`` (of ``types``); no time means the initial
        value."""
        owners, items, numbers = _attribute_rows(self.values, self.declared, ids, types, attributes)
        times = list(map(_ATTRIBUTE_TIME, items))
        self.staged.add_arrow(
            "object_attributes",
            [
                owners,
                pa.array(list(map(_NAME, items)), pa.string()),
                _attribute_times(times),
                *self.values.columns(numbers),
            ],
        )


class _EventTables:
    """Gathers ``events``, ``event_attributes`` and ``event_objects`` batch by batch."""

    def __init__(self, emitter: Emitter, staged: _Staged, file_name: str) -> None:
        self.declared = emitter.event_types
        self.staged = staged
        self.file_name = file_name
        self.values = _Values()

    def add(self, start: int, events: list[_Event]) -> None:
        """Gather one batch; ``start`` is the index of its first event in the file."""
        ids, types, times = _columns(events, _ID, _TYPE, _TIME)
        id_array = _strings(ids, "event id")
        try:
            moments = timestamps(times)
        except _Refused as exc:
            raise Unusual(str(exc)) from None
        n = len(events)
        self.staged.add_arrow(
            "events",
            [
                id_array,
                _strings(types, "event type"),
                moments,
                pa.repeat(pa.scalar(_SOURCE), n),
                pa.repeat(pa.scalar(self.file_name), n),
                pa.array(np.arange(start + 1, start + n + 1, dtype=np.int64)),
            ],
        )
        attributes = list(map(_ATTRIBUTES, events))
        if any(attributes):
            owners, items, numbers = _attribute_rows(
                self.values, self.declared, id_array, types, attributes
            )
            self.staged.add_arrow(
                "event_attributes",
                [
                    owners,
                    pa.array(list(map(_NAME, items)), pa.string()),
                    *self.values.columns(numbers),
                ],
            )
        _stage_links(self.staged, "event_objects", id_array, list(map(_RELATIONSHIPS, events)))


def _attribute_rows(
    values: _Values,
    declared_types: dict[str, dict[str, str]],
    ids: pa.Array,
    types: list[str],
    attributes: list[Any],
) -> tuple[pa.Array, list[Any], list[int]]:
    """For the attribute lists of a batch of events or objects (with ``ids`` and ``types``): the
    owner id of each attribute, the attributes in order, and the number of each one's value."""
    if None in attributes:
        attributes = [items or () for items in attributes]
    counts = np.fromiter(map(len, attributes), np.int64, len(attributes))
    number = values.number
    numbers: list[int] = []
    append = numbers.append
    for owner_type, items in compress(zip(types, attributes), counts):
        declared = declared_types.get(owner_type, {})
        for item in items:
            append(number(declared.get(item.name), item.value))
    owners = ids.take(pa.array(np.repeat(np.arange(len(attributes)), counts)))
    return owners, list(chain.from_iterable(attributes)), numbers


def _attribute_times(times: list[str | None]) -> pa.Array:
    """Object attribute times: EPOCH where there is none (the initial value), else read as the
    event times are; one that cannot be read leaves this path."""
    given = [time for time in times if time is not None]
    try:
        parsed = timestamps(given) if given else pa.array([], _TS)
    except _Refused as exc:
        raise Unusual(str(exc)) from None
    if len(given) == len(times):
        return parsed
    missing = pa.array([time is None for time in times])
    epoch = pa.array(np.full(len(times), EPOCH_US, np.int64)).cast(_TS)
    return pc.replace_with_mask(epoch, pc.invert(missing), parsed)
