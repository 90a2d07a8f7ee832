"""A fast path for reading pretty-printed XES: the lines are classified in bulk with numpy.

Nearly every real XES file has one element per line. For those, the body of the file (from the
first ``<trace>`` line on) is scanned in chunks by :mod:`miner.formats.xes_scan`: numpy finds the
lines and quotes in the raw bytes, recognises ``<trace>``, ``</trace>``, ``<event>``, ``</event>``,
``</log>`` and self-closing attribute lines ``<string|date|int|float|boolean|id key="…"
value="…"/>``, cuts keys and values out as Arrow strings, and running counts number the traces and
events. The canonical tables are built column-wise with Arrow compute (typed values, ids, type
declarations) and staged with :meth:`TableSink.add_arrow`. A ``.gz`` file is inflated in a
background thread, so decompression and scanning overlap. The header (everything before the first
``<trace>``: extensions, globals, classifiers, log attributes) is parsed by the lxml reader, so
``log_meta`` is identical.

The result equals :mod:`miner.formats.xes_read`'s exactly (ids, types, times, seq order, provenance,
type declarations, log_meta). Any file that does not fit the shape — several elements on a line,
nested attributes, lists, containers, comments or character references inside traces, CDATA,
unbalanced tags, a missing ``</log>``, values that do not parse, events without concept:name or
time:timestamp, duplicate trace names, ``identity:id`` values that could clash with generated ids,
a non-UTF-8 encoding — is detected *before* anything is staged, and :func:`read_xes_fast` returns
False; the caller then reads the whole file with the lxml reader, which also raises the precise
errors. Memory holds the tables being built, not the file: the body is read 1 MiB at a time.
"""

from __future__ import annotations

import io
import re
import zlib
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from miner.errors import InputError, UnsafeInputError
from miner.formats._input import check_file, check_xml_prolog, open_binary
from miner.formats.xes_scan import (
    ACTIVITY,
    BOOLEAN,
    DATE,
    FLOAT,
    ID,
    IDENTITY,
    INT,
    NAME,
    STRING,
    TIME,
    Attributes,
    Body,
    Codes,
    Ints,
    NotFast,
)
from miner.model.loading import TableSink
from miner.model.schema import ARROW_SCHEMAS
from miner.progress import Progress

_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([^"']*)["']""")
_HEADER_LIMIT = 64 << 20  # a header larger than this is not the shape we speed up
_STAGE_ROWS = 1 << 20  # rows per staged Arrow batch

# Numbers that Python's int / float (the lxml reader) and Arrow's cast read alike; others: NotFast.
_INT = r"^[+-]?[0-9]+$"
_FLOAT = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_TS = pa.timestamp("us", tz="UTC")
#: Canonical value type per tag code (index 0 unused).
_TYPES = pa.array(["", "string", "time", "integer", "float", "boolean", "id"])
#: Typed value columns after ``value_string``: (tag code, Arrow type, numpy type).
_VALUE_COLUMNS = (
    (INT, pa.int64(), np.int64),
    (FLOAT, pa.float64(), np.float64),
    (BOOLEAN, pa.bool_(), np.bool_),
    (DATE, _TS, np.int64),
)
TypeRow = tuple[Any, Any, Any]  # (owner, attribute, type) of event_types / object_types


class _Collector:
    """A stand-in sink that keeps what the lxml reader emits for the header."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[Any, ...]]] = {}

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.rows.setdefault(table, []).append(row)

    def add_many(self, table: str, rows: Any) -> None:
        self.rows.setdefault(table, []).extend(rows)


def _header(path: Path) -> bytes | None:
    """The bytes before the first line that is just ``<trace>``; None when the file has none.

    Runs the XML safety check on the head first (raises :class:`UnsafeInputError`).
    """
    with open_binary(path) as raw:
        stream = io.BufferedReader(raw, 1 << 17)  # type: ignore[type-var]
        head = stream.peek(1 << 16)[: 1 << 16]
        check_xml_prolog(path, head)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4]:
            return None  # UTF-16/32
        declared = _ENCODING.search(head[:1024])
        if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
            return None
        parts: list[bytes] = []
        size = 0
        for line in stream:
            if line.strip(b" \t\r\n") == b"<trace>":
                return b"".join(parts)
            parts.append(line)
            size += len(line)
            if size > _HEADER_LIMIT:
                return None
    return None


def _log_meta(path: Path, header: bytes) -> tuple[str, str] | None:
    """The ``log_meta`` row the lxml reader makes of the header, or None if it holds more."""
    from miner.formats.xes_read import _Reader  # local: xes_read imports this module

    collector = _Collector()
    reader = _Reader(path, collector)  # type: ignore[arg-type]
    try:
        reader.run(io.BytesIO(header + b"</log>\n"))
    except InputError:
        return None
    rows = collector.rows
    if reader.trace_index or reader.event_index or rows.get("events") or rows.get("objects"):
        return None
    meta = rows.get("log_meta", [])
    return meta[0] if len(meta) == 1 else None


# -- values -------------------------------------------------------------------------------------


def _all(mask: Any) -> bool:
    """Whether a boolean Arrow array is all true (an empty one is)."""
    return len(mask) == 0 or bool(pc.all(mask).as_py())


def _zoned(texts: pa.StringArray) -> Any:
    """Per text, whether it ends in the zone ``Z`` or ``±hh:mm`` (checked on the bytes)."""
    offsets, data = texts.buffers()[1:3]
    if data is None:
        return np.zeros(len(texts), np.bool_)
    bounds = np.frombuffer(offsets, np.int32)[texts.offset : texts.offset + len(texts) + 1]
    ends = bounds[1:].astype(np.int64)
    raw = np.frombuffer(data, np.uint8)

    def back(n: int) -> Any:
        return raw[np.maximum(ends - n, 0)]

    lengths = np.diff(bounds)
    signed = ((back(6) == ord("+")) | (back(6) == ord("-"))) & (back(3) == ord(":"))
    return ((back(1) == ord("Z")) & (lengths >= 1)) | (signed & (lengths >= 6))


def _times(texts: pa.Array | pa.ChunkedArray) -> Ints:
    """XES dates as UTC microseconds (no zone means UTC), exactly as the lxml reader reads them.

    Arrow's ISO 8601 parser accepts a subset of what Python's ``datetime.fromisoformat`` accepts
    (a date with a time hh, hh:mm or hh:mm:ss, separator T or space, 1-6 fraction digits, zone Z,
    ±hh, ±hhmm or ±hh:mm) and gives the same instant for it. Anything else fails the cast (a text
    without a zone is cast with ``+00:00`` appended), and NotFast lets lxml read or report it.
    """
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    zoned = _zoned(texts)
    if not zoned.all():
        texts = pc.if_else(zoned, texts, pc.binary_join_element_wise(texts, "+00:00", ""))
    try:
        parsed = pc.cast(texts, _TS)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise NotFast from None
    return np.asarray(parsed.cast(pa.int64()).to_numpy(zero_copy_only=False), np.int64)


def _parsed(tag: int, texts: pa.ChunkedArray) -> Any:
    """The values of one non-text tag as a numpy array; raises NotFast where lxml could differ."""
    if tag == DATE:
        return _times(texts)
    if tag == BOOLEAN:
        lowered = pc.utf8_lower(texts)
        true = pc.is_in(lowered, pa.array(["true", "1"]))
        if not _all(pc.or_(true, pc.is_in(lowered, pa.array(["false", "0"])))):
            raise NotFast
        return true.to_numpy()
    pattern, target = (_INT, pa.int64()) if tag == INT else (_FLOAT, pa.float64())
    if not _all(pc.match_substring_regex(texts, pattern)):
        raise NotFast
    if tag == INT:
        texts = pc.replace_substring_regex(texts, r"^\+", "")  # Arrow refuses "+5", Python not
    try:
        return pc.cast(texts, target).to_numpy()
    except pa.ArrowInvalid:  # out of range
        raise NotFast from None


def _typed(tags: Codes, values: pa.ChunkedArray) -> list[Any]:
    """The columns ``type, value_string, value_integer, value_float, value_boolean, value_time``."""
    text = (tags == STRING) | (tags == ID)
    columns: list[Any] = [
        _TYPES.take(tags),
        pc.if_else(pa.array(text), values, pa.scalar(None, pa.string())),
    ]
    for tag, arrow_type, numpy_type in _VALUE_COLUMNS:
        rows = np.flatnonzero(tags == tag)
        if not rows.size:
            columns.append(pa.nulls(len(tags), arrow_type))
            continue
        full = np.zeros(len(tags), numpy_type)
        full[rows] = _parsed(tag, values.take(rows))
        missing = np.ones(len(tags), np.bool_)
        missing[rows] = False
        columns.append(pa.array(full, arrow_type, mask=missing))
    return columns


# -- ids ----------------------------------------------------------------------------------------


def _numbered(prefix: str, count: int) -> pa.Array:
    """``prefix1 … prefix<count>``."""
    numbers = pc.cast(pa.array(np.arange(1, count + 1)), pa.string())
    return pc.binary_join_element_wise(prefix, numbers, "")


def _constant(text: str, count: int) -> pa.Array:
    """``count`` times the string ``text`` (dictionary-encoded; staging casts it to strings)."""
    return pa.DictionaryArray.from_arrays(np.zeros(count, np.int8), pa.array([text]))


def _unique(texts: pa.Array | pa.ChunkedArray) -> bool:
    """Whether no text repeats (sorting is faster than hashing here)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if len(texts) < 2:
        return True
    ordered = texts.take(pc.sort_indices(texts))
    return not pc.any(pc.equal(ordered[1:], ordered[:-1])).as_py()


def _ids(prefix: str, count: int, own: pa.ChunkedArray, at: Ints) -> pa.Array:
    """``prefix1 … prefix<count>``, with the values ``own`` at the 1-based numbers ``at``."""
    if len(at) == count:  # each has its own (``at`` is increasing)
        return own.combine_chunks()
    ids = _numbered(prefix, count)
    if not len(at):
        return ids
    mask = np.zeros(count, np.bool_)
    mask[at - 1] = True
    return pc.replace_with_mask(ids, pa.array(mask), own.combine_chunks())


def _case_ids(traces: int, names: pa.ChunkedArray, named: Ints) -> pa.Array:
    """Each trace's concept:name, else ``trace-<n>``; NotFast if two are equal (lxml raises)."""
    ids = _ids("trace-", traces, names, named)
    if not _unique(names):
        raise NotFast
    if pc.any(pc.match_substring_regex(names, r"^trace-[0-9]+$")).as_py() and not _unique(ids):
        raise NotFast
    return ids


def _event_ids(events: int, identities: pa.ChunkedArray, at: Ints) -> pa.Array:
    """Each event's identity:id, else ``e<n>``; NotFast where lxml would rename one."""
    if not _unique(identities) or pc.any(pc.match_substring_regex(identities, "^e[0-9]")).as_py():
        raise NotFast
    return _ids("e", events, identities, at)


# -- gathering the body -------------------------------------------------------------------------

# Attribute lines by what they become: event and trace attributes, then the lines with a role.
_EVENT_ROWS, _TRACE_ROWS = 0, 1
_GROUPS = {ACTIVITY: 2, TIME: 3, IDENTITY: 4, NAME: 5}


class _Rows:
    """The attribute lines of one group, gathered chunk by chunk, in file order."""

    def __init__(self) -> None:
        self._owners: list[Ints] = []
        self._tags: list[Codes] = []
        self._keys: list[pa.Array] = []
        self._values: list[pa.Array] = []

    def add(self, owners: Ints, tags: Codes, keys: pa.Array, values: pa.Array) -> None:
        self._owners.append(owners)
        self._tags.append(tags)
        self._keys.append(keys)
        self._values.append(values)

    @property
    def owners(self) -> Ints:
        """The event or trace number (1-based) of each line."""
        return np.concatenate(self._owners) if self._owners else np.zeros(0, np.int64)

    @property
    def tags(self) -> Codes:
        return np.concatenate(self._tags) if self._tags else np.zeros(0, np.int8)

    @property
    def keys(self) -> pa.ChunkedArray:
        return pa.chunked_array(self._keys, pa.string())

    @property
    def values(self) -> pa.ChunkedArray:
        return pa.chunked_array(self._values, pa.string())


class _Gathered:
    """The body's attribute lines sorted into groups, chunk by chunk."""

    def __init__(self) -> None:
        self.groups = [_Rows() for _ in range(len(_GROUPS) + 2)]
        self._event_traces: list[Ints] = []

    def add(self, chunk: Attributes) -> None:
        """Sort one chunk's lines into the groups; their texts are taken out in that order (keys
        only of the event and trace attributes, the lines the other groups are found by)."""
        self._event_traces.append(chunk.event_traces)
        lines = chunk.lines
        in_event = chunk.event > 0
        group = np.where(in_event, _EVENT_ROWS, _TRACE_ROWS).astype(np.int8)
        for role, number in _GROUPS.items():
            group[chunk.roles == role] = number
        order = np.argsort(group, kind="stable")
        bounds = np.concatenate(([0], np.cumsum(np.bincount(group, minlength=len(self.groups)))))
        owners = np.where(in_event, chunk.event, chunk.trace)[order]
        tags = lines.tags[order]
        values = lines.texts(lines.value_at[order])
        keys = lines.texts(lines.key_at[order[: bounds[_TRACE_ROWS + 1]]])
        for number, rows in enumerate(self.groups):
            start, stop = int(bounds[number]), int(bounds[number + 1])
            if stop > start:
                rows.add(
                    owners[start:stop],
                    tags[start:stop],
                    keys.slice(start, stop - start) if number <= _TRACE_ROWS else keys[:0],
                    values.slice(start, stop - start),
                )

    @property
    def event_traces(self) -> Ints:
        """The trace number of each event."""
        parts = self._event_traces
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)


# -- tables -------------------------------------------------------------------------------------


def _declared(owners: Any, keys: pa.ChunkedArray, tags: Codes) -> list[TypeRow]:
    """The distinct ``(owner, key, type)`` of attribute rows."""
    table = pa.table({"o": owners, "k": keys, "t": pa.array(tags)})
    distinct = table.group_by(["o", "k", "t"]).aggregate([])
    types = _TYPES.take(distinct["t"]).to_pylist()
    return list(zip(distinct["o"].to_pylist(), distinct["k"].to_pylist(), types, strict=True))


def _event_types(activity: pa.ChunkedArray, rows: _Rows) -> list[TypeRow]:
    """``event_types``: per activity the (key, type) of its events' attributes, or (None, None)."""
    activities = pc.dictionary_encode(activity.combine_chunks())
    names = activities.dictionary.to_pylist()
    codes = activities.indices.to_numpy()[rows.owners - 1]
    declared = [
        (names[code], key, kind) for code, key, kind in _declared(codes, rows.keys, rows.tags)
    ]
    bare = set(names) - {row[0] for row in declared}
    return declared + [(name, None, None) for name in sorted(bare)]


def _object_types(rows: _Rows) -> list[TypeRow]:
    """``object_types``: the (key, type) of the traces' attributes, or (None, None)."""
    declared = _declared(np.zeros(len(rows.tags), np.int8), rows.keys, rows.tags)
    return [("case", key, kind) for _, key, kind in declared] or [("case", None, None)]


def _type_columns(rows: list[TypeRow]) -> list[pa.Array]:
    return [pa.array([row[i] for row in rows], pa.string()) for i in range(3)]


def _tables(body: _Gathered, traces: int, events: int, file_name: str) -> dict[str, list[Any]]:
    """The columns (without seq) of each canonical table; raises NotFast."""
    groups = body.groups
    activity, stamps = groups[_GROUPS[ACTIVITY]].values, groups[_GROUPS[TIME]].values
    if len(activity) != events or len(stamps) != events:
        raise NotFast  # an event without concept:name or time:timestamp: lxml raises
    names, identities = groups[_GROUPS[NAME]], groups[_GROUPS[IDENTITY]]
    case_ids = _case_ids(traces, names.values, names.owners)
    event_ids = _event_ids(events, identities.values, identities.owners)
    event_rows, trace_rows = groups[_EVENT_ROWS], groups[_TRACE_ROWS]
    return {
        "objects": [case_ids, _constant("case", traces)],
        "object_attributes": [
            case_ids.take(trace_rows.owners - 1),
            trace_rows.keys,
            pa.array(np.zeros(len(trace_rows.tags), np.int64), _TS),  # schema.EPOCH
            *_typed(trace_rows.tags, trace_rows.values),
        ],
        "events": [
            event_ids,
            activity,
            pa.array(_times(stamps), _TS),
            _constant("xes", events),
            _constant(file_name, events),
            pa.array(np.arange(1, events + 1)),
        ],
        "event_attributes": [
            event_ids.take(event_rows.owners - 1),
            event_rows.keys,
            *_typed(event_rows.tags, event_rows.values),
        ],
        "event_objects": [
            event_ids,
            case_ids.take(body.event_traces - 1),
            _constant("case", events),
        ],
        "event_types": _type_columns(_event_types(activity, event_rows)),
        "object_types": _type_columns(_object_types(trace_rows)),
    }


def _stage(sink: TableSink, tables: dict[str, list[Any]], log_meta: tuple[str, str]) -> None:
    """Hand the tables to ``sink`` in batches of single-chunk columns (DuckDB scans one chunk of
    a million rows much faster than hundreds of small ones)."""
    for name, columns in tables.items():
        names = [f.name for f in ARROW_SCHEMAS[name] if f.name != "seq"]
        table = pa.table(columns, names=names)
        for start in range(0, table.num_rows, _STAGE_ROWS):
            sink.add_arrow(name, table.slice(start, _STAGE_ROWS).combine_chunks())
    sink.add("log_meta", log_meta)


def _read_body(path: Path, offset: int) -> dict[str, list[Any]]:
    """The canonical tables' columns of the body from byte ``offset`` on; raises NotFast."""
    body = Body(path, offset)
    gathered = _Gathered()
    for chunk in body:
        gathered.add(chunk)
    return _tables(gathered, body.structure.traces, body.structure.events, path.name)


def read_xes_fast(path: Path, sink: TableSink, *, progress: Progress | None = None) -> bool:
    """Read ``path`` into ``sink`` by the fast path; False (nothing staged) if it does not fit.

    Raises:
        UnsafeInputError: the file declares XML entities (checked before anything else is read).
    """
    path = Path(path)
    try:
        check_file(path)
    except InputError:
        return False
    try:
        header = _header(path)
    except UnsafeInputError:
        raise
    except (InputError, OSError, EOFError, zlib.error):
        return False
    if header is None:
        return False
    log_meta = _log_meta(path, header)
    if log_meta is None:
        return False
    try:
        tables = _read_body(path, len(header))
    except (NotFast, OSError, pa.ArrowException):  # Arrow: e.g. over 2 GiB of text in a chunk
        return False
    _stage(sink, tables, log_meta)
    if progress is not None:
        progress(path.stat().st_size)
    return True


def fits_fast_path(path: Path) -> bool:
    """Whether :func:`read_xes_fast` takes ``path`` (read into a throwaway in-memory database)."""
    con = duckdb.connect()
    try:
        return read_xes_fast(Path(path), TableSink(con))
    finally:
        con.close()
