"""Vectorised scanning of pretty-printed XES text, for the fast reader :mod:`miner.formats.xes_fast`.

The body of a file (from its first ``<trace>`` line on) is read in chunks of whole lines; a ``.gz``
file is inflated in a background thread (zlib releases the GIL), so decompression and scanning run
on two cores. Each chunk is classified with numpy on its bytes, without a Python loop over lines:

* a line with exactly four ``"`` is a *canonical attribute* when it is
  ``<indent><tag key="K" value="V"/>`` (``tag`` one of :data:`TAGS`, the indent spaces and tabs, an
  optional ``\\r`` before the newline); the checks compare 8-byte words gathered at the quotes, and
  the keys and values are cut out of the chunk as Arrow strings;
* a line without ``"`` is *structural* when it is an indent and one of ``<trace>``, ``</trace>``,
  ``<event>``, ``</event>``, ``</log>``, or *blank*;
* any other line (an attribute with the value first, single quotes, extra spaces) is matched by a
  regular expression in Python; a line that matches nothing raises :class:`NotFast`.

Keys and values must hold only text that an XML parser returns unchanged apart from the five
predefined entities and tabs (both decoded here, as lxml does): no ``<``, no control characters, no
U+FFFE/U+FFFF, valid UTF-8, no character references. :class:`Structure` numbers the traces and
events across chunks and checks their nesting; :class:`Roles` finds each event's activity, time and
identity and each trace's name (the first of each, as :mod:`miner.formats.xes_read` takes them).
Anything outside this shape raises :class:`NotFast`, and the caller reads the file with lxml.
"""

from __future__ import annotations

import queue
import re
import threading
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

Ints = npt.NDArray[np.int64]
Codes = npt.NDArray[np.int8]
Bools = npt.NDArray[np.bool_]
Words = npt.NDArray[np.uint64]
Bytes = npt.NDArray[np.uint8]


class NotFast(Exception):
    """The file is not of the shape the fast reader handles exactly; read it with lxml instead."""


#: XES attribute tags, in the order of their codes (1-based; 0 is "not an attribute").
TAGS = ("string", "date", "int", "float", "boolean", "id")
STRING, DATE, INT, FLOAT, BOOLEAN, ID = range(1, 7)
#: Line kinds.
TRACE, END_TRACE, EVENT, END_EVENT, END_LOG, ATTRIBUTE = range(1, 7)
_STRUCTURAL = {
    "<trace>": TRACE,
    "</trace>": END_TRACE,
    "<event>": EVENT,
    "</event>": END_EVENT,
    "</log>": END_LOG,
}

CHUNK = 1 << 20  # bytes of text scanned at a time (small enough to stay in the CPU cache)
_READ = 1 << 18  # compressed bytes read at a time
_LONGEST_LINE = 64 << 20  # a longer line is not the shape we speed up
_GZIP = 16 + zlib.MAX_WBITS
_FRONT, _BACK = 16, 8  # zero bytes around each chunk, so every 8-byte gather stays inside it
_NL, _CR, _TAB, _SPACE, _QUOTE = 10, 13, 9, 32, 34

# -- reading ------------------------------------------------------------------------------------


def _plain(path: Path) -> Generator[bytes]:
    """The bytes of an uncompressed file, :data:`CHUNK` at a time."""
    with open(path, "rb") as raw:
        while piece := raw.read(CHUNK):
            yield piece


def _inflate(path: Path) -> Generator[bytes]:
    """The decompressed bytes of a gzip file (all members), at most :data:`CHUNK` at a time.

    Raises NotFast for a truncated or corrupt file, or bytes after the last member that are not
    another member (the gzip module treats some of those specially; the lxml reader reports them).
    """
    with open(path, "rb") as raw:
        inflater = zlib.decompressobj(_GZIP)
        data = b""
        while True:
            if inflater.eof:
                data = inflater.unused_data + raw.read(_READ)
                if not data:
                    return
                if not data.startswith(b"\x1f\x8b"):
                    raise NotFast
                inflater = zlib.decompressobj(_GZIP)
            if not data:
                data = raw.read(_READ)
                if not data:
                    raise NotFast  # truncated inside a member
            try:
                piece = inflater.decompress(data, CHUNK)
            except zlib.error:
                raise NotFast from None
            data = inflater.unconsumed_tail
            if piece:
                yield piece


class _Failed:
    """An exception raised in the background thread, handed to the reading one."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _ahead(pieces: Iterator[bytes]) -> Generator[bytes]:
    """``pieces``, produced by a background thread up to four items ahead."""
    items: queue.Queue[bytes | _Failed | None] = queue.Queue(maxsize=4)
    stop = threading.Event()

    def put(item: bytes | _Failed | None) -> None:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def work() -> None:
        try:
            for piece in pieces:
                put(piece)
                if stop.is_set():
                    return
            put(None)
        except Exception as error:  # noqa: BLE001 - re-raised in the reading thread
            put(_Failed(error))

    worker = threading.Thread(target=work, name="miner-xes-inflate", daemon=True)
    worker.start()
    try:
        while (item := items.get()) is not None:
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()


def body_chunks(path: Path, offset: int) -> Generator[bytes]:
    """The decompressed file from byte ``offset`` on, in padded chunks of whole lines.

    Each chunk is ``_FRONT`` zero bytes, whole lines (each ending in ``\\n``; one is added after a
    last line without it), then ``_BACK`` zero bytes. Raises NotFast for unreadable gzip data.
    """
    pieces = _ahead(_inflate(path)) if path.suffix == ".gz" else _plain(path)
    front, back = b"\0" * _FRONT, b"\0" * _BACK
    carry = b""
    try:
        for piece in pieces:
            if offset:
                skipped = min(offset, len(piece))
                piece, offset = piece[skipped:], offset - skipped
            cut = piece.rfind(b"\n") + 1
            if not cut:
                carry += piece
                if len(carry) > _LONGEST_LINE:
                    raise NotFast
                continue
            yield b"".join((front, carry, memoryview(piece)[:cut], back))
            carry = piece[cut:]
        if carry:
            yield b"".join((front, carry, b"\n", back))
    finally:
        pieces.close()  # stops the inflating thread, closes the file


# -- byte patterns ------------------------------------------------------------------------------


def _word(text: bytes) -> np.uint64:
    """Up to 8 bytes as the little-endian integer an 8-byte gather at their start returns."""
    return np.uint64(int.from_bytes(text, "little"))


def _first(words: Words, size: int) -> Words:
    """The first ``size`` bytes (in memory) of each word."""
    return words & np.uint64((1 << (8 * size)) - 1)


def _last(words: Words, size: int) -> Words:
    """The last ``size`` bytes (in memory) of each word."""
    return words >> np.uint64(8 * (8 - size))


_VALUE = _word(b' value="')
_KEY = _word(b" key=")
_CLOSE = _word(b"/>")
_TAG_WORDS = [(code, len(tag) + 1, _word(b"<" + tag.encode())) for code, tag in enumerate(TAGS, 1)]
_TAG_SIZES = np.array([0, *(len(tag) + 1 for tag in TAGS)], np.int64)  # per code, with '<'
_STRUCTURAL_WORDS = [(kind, len(text), _word(text.encode())) for text, kind in _STRUCTURAL.items()]
_STRUCTURAL_SIZES = np.array([0, *(len(text) for text in _STRUCTURAL)], np.int64)
_TABS = np.array([int.from_bytes(b"\t" * n, "little") for n in range(9)], np.uint64)
_SPACES = np.array([int.from_bytes(b" " * n, "little") for n in range(9)], np.uint64)
_MASKS = np.array([(1 << (8 * n)) - 1 for n in range(9)], np.uint64)


def _indented(data: Bytes, words: Words, starts: Ints, stops: Ints) -> Bools:
    """Per line, whether the bytes ``[start, stop)`` are all spaces and tabs (empty: True).

    An indent of up to 8 tabs or 8 spaces is one masked word compare; others go byte by byte.
    """
    width = stops - starts
    short = np.clip(width, 0, 8)
    head = words[starts] & _MASKS[short]
    quick = (width <= 8) & ((head == _TABS[short]) | (head == _SPACES[short]))
    ok = width >= 0
    todo = np.flatnonzero(ok & ~quick)
    step = 0
    while todo.size:
        byte = data[starts[todo] + step]
        bad = (byte != _TAB) & (byte != _SPACE)
        ok[todo[bad]] = False
        step += 1
        todo = todo[~bad & (width[todo] > step)]
    return ok


# -- scanning one chunk -------------------------------------------------------------------------

#: Keys the reader looks for (their code per attribute line; 0 for any other key).
KEYS = ("concept:name", "time:timestamp", "identity:id")
CONCEPT_NAME, TIME_TIMESTAMP, IDENTITY_ID = 1, 2, 3


@dataclass
class Lines:
    """The non-blank lines of one chunk, in file order.

    The texts of the attribute lines are fields of ``fields`` (raw XML text, entities not decoded):
    the key of attribute line ``i`` is field ``key_at[i]``, its value field ``value_at[i]``.
    """

    kinds: Codes  #: one of TRACE … ATTRIBUTE per line
    tags: Codes  #: per attribute line, its tag code
    keys: Codes  #: per attribute line, the code of its key in KEYS, 0 for another key
    fields: pa.StringArray
    key_at: Ints
    value_at: Ints

    def texts(self, at: Ints) -> pa.StringArray:
        """The fields ``at``, decoded (see :func:`decoded`); raises NotFast."""
        return decoded(self.fields.take(at))


def _canonical(data: Bytes, words: Words, starts: Ints, stops: Ints, quotes: list[Ints]) -> Codes:
    """For lines with four quotes (``quotes``: the positions of the 1st, 2nd, 3rd and 4th):
    the tag code of each line that is ``<indent><tag key="K" value="V"/>``, else 0."""
    q0, q1, q2, q3 = quotes
    ok = (q2 - q1 == 8) & (words[q1 + 1] == _VALUE)
    ok &= (q3 + 3 == stops) & (_first(words[q3 + 1], 2) == _CLOSE)
    ok &= _first(words[q0 - 5], 5) == _KEY
    before_key = words[q0 - 13]  # the 8 bytes before ' key='
    tags = np.zeros(len(starts), np.int8)
    for code, size, word in _TAG_WORDS:  # at most one matches: tags hold no '<'
        tags += (_last(before_key, size) == word) * np.int8(code)
    ok &= tags > 0
    ok &= _indented(data, words, starts, q0 - 5 - _TAG_SIZES[tags])
    return np.where(ok, tags, np.int8(0))


def _known_keys(words: Words, starts: Ints, stops: Ints) -> Codes:
    """Per key (the bytes ``[start, stop)``), its code in :data:`KEYS`, or 0."""
    head, tail, length = words[starts], words[starts + 8], stops - starts
    codes = np.zeros(len(starts), np.int8)
    for code, key in enumerate(KEYS, 1):
        text = key.encode()  # 9 to 16 bytes
        hit = (length == len(text)) & (head == _word(text[:8]))
        codes += (hit & (_first(tail, len(text) - 8) == _word(text[8:]))) * np.int8(code)
    return codes


def _structural(data: Bytes, words: Words, starts: Ints, stops: Ints) -> Codes:
    """For lines without quotes: the structural kind, 0 for a blank line, -1 for anything else."""
    last = words[stops - 8]  # the 8 bytes before the line's end
    kinds = np.zeros(len(starts), np.int8)
    for kind, size, word in _STRUCTURAL_WORDS:  # at most one matches
        kinds += (_last(last, size) == word) * np.int8(kind)
    indented = _indented(data, words, starts, stops - _STRUCTURAL_SIZES[kinds])
    return np.where(indented, kinds, np.int8(-1))


def _fields(chunk: bytes, quotes: list[Ints]) -> pa.StringArray:
    """Per line (with these quote positions), the fields key (from quote 0 + 1 to quote 1), the
    text between, value (quote 2 + 1 to quote 3) and the text up to the next key: a string array
    over the chunk's own buffer."""
    q0, q1, q2, q3 = quotes
    if not len(q0):
        return pa.array([], pa.string())
    bounds = np.empty((len(q0), 4), np.int32)
    bounds[:, 0], bounds[:, 1], bounds[:, 2], bounds[:, 3] = q0 + 1, q1, q2 + 1, q3
    offsets = np.append(bounds.ravel(), bounds[-1, -1])
    return pa.StringArray.from_buffers(bounds.size, pa.py_buffer(offsets), pa.py_buffer(chunk))


# A self-closing attribute in any quoting and order (the line stripped of spaces, tabs and CR).
_TEXT = r"""("[^"<\x00-\x08\x0A-\x1F\uFFFE\uFFFF]*"|'[^'<\x00-\x08\x0A-\x1F\uFFFE\uFFFF]*')"""
_ATTRIBUTE = re.compile(
    r"<(string|date|int|float|boolean|id)[ \t]+(key|value)[ \t]*=[ \t]*"
    + _TEXT
    + r"[ \t]+(key|value)[ \t]*=[ \t]*"
    + _TEXT
    + r"[ \t]*/>"
)


def _general(line: bytes) -> tuple[int, int, str, str]:
    """``(kind, tag, raw key, raw value)`` of a line in another layout; kind 0 for a blank line.

    Raises NotFast for anything but a structural line or one self-closing attribute.
    """
    try:
        text = line.decode("utf-8").strip(" \t\r")
    except UnicodeDecodeError:
        raise NotFast from None
    if not text:
        return 0, 0, "", ""
    if text in _STRUCTURAL:
        return _STRUCTURAL[text], 0, "", ""
    match = _ATTRIBUTE.fullmatch(text)
    if match is None or match.group(2) == match.group(4):
        raise NotFast
    tag, first, first_text, _, second_text = match.groups()
    key, value = (first_text, second_text) if first == "key" else (second_text, first_text)
    return ATTRIBUTE, TAGS.index(tag) + 1, key[1:-1], value[1:-1]


def scan(chunk: bytes) -> Lines:
    """Classify the lines of one padded chunk (see :func:`body_chunks`); raises NotFast."""
    data = np.frombuffer(chunk, np.uint8)
    words = np.ndarray((len(chunk) - 7,), "<u8", chunk, 0, (1,))  # the 8 bytes at each position
    ends = np.flatnonzero(data == _NL)
    starts = np.concatenate(([_FRONT], ends[:-1] + 1))
    stops = ends - (data[ends - 1] == _CR)
    quote_at = np.flatnonzero(data == _QUOTE)
    upto = np.searchsorted(quote_at, ends)  # quotes before each line's end
    first = np.concatenate(([0], upto[:-1]))  # index of each line's first quote
    kinds = np.full(len(ends), -1, np.int8)  # -1: not classified yet
    tags = np.zeros(len(ends), np.int8)

    four = np.flatnonzero(upto - first == 4)
    quotes = [quote_at[first[four] + i] for i in range(4)]
    four_tags = _canonical(data, words, starts[four], stops[four], quotes)
    ok = four_tags > 0
    canonical = four[ok]
    kinds[canonical] = ATTRIBUTE
    tags[canonical] = four_tags[ok]
    none = np.flatnonzero(upto == first)
    kinds[none] = _structural(data, words, starts[none], stops[none])

    quotes = [q[ok] for q in quotes]
    lines = Lines(
        kinds,
        tags,
        _known_keys(words, quotes[0] + 1, quotes[1]),
        _fields(chunk, quotes),
        np.arange(0, 4 * len(canonical), 4),
        np.arange(2, 4 * len(canonical), 4),
    )
    if (kinds == -1).any():
        _add_general(chunk, starts, ends, lines, canonical)
    attribute = lines.kinds == ATTRIBUTE
    lines.tags = lines.tags[attribute]
    lines.kinds = lines.kinds[lines.kinds > 0]
    return lines


def _add_general(chunk: bytes, starts: Ints, ends: Ints, lines: Lines, canonical: Ints) -> None:
    """Parse the unclassified lines (kind -1 in ``lines``, which still has all lines of the chunk)
    one by one: fill in their kinds and tags, append their texts to the fields, and put the key
    codes and field numbers of all attribute lines (``canonical``: those found in bulk) in order."""
    found: list[int] = []
    texts: list[str] = []
    for line in np.flatnonzero(lines.kinds == -1).tolist():
        kind, tag, key, value = _general(chunk[starts[line] : ends[line]])
        lines.kinds[line] = kind
        if kind == ATTRIBUTE:
            lines.tags[line] = tag
            found.append(line)
            texts += [key, value]
    if not found:
        return
    base = len(lines.fields)
    codes = [KEYS.index(key) + 1 if key in KEYS else 0 for key in texts[::2]]
    order = np.argsort(np.concatenate((canonical, np.array(found, np.int64))), kind="stable")
    lines.keys = np.concatenate((lines.keys, np.array(codes, np.int8)))[order]
    extra = np.arange(base, base + len(texts), 2)
    lines.key_at = np.concatenate((lines.key_at, extra))[order]
    lines.value_at = np.concatenate((lines.value_at, extra + 1))[order]
    lines.fields = pa.concat_arrays([lines.fields, pa.array(texts, pa.string())])


# -- attribute text -----------------------------------------------------------------------------

_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))


def decoded(text: pa.StringArray) -> pa.StringArray:
    """Raw attribute texts as lxml returns them: tabs as spaces, the predefined entities decoded.

    Raises NotFast for text an XML parser rejects or changes otherwise: ``<``, control characters,
    U+FFFE, U+FFFF, invalid UTF-8, character references or unknown entities.
    """
    offsets, data = text.buffers()[1:3]
    if data is None:
        return text  # no strings, or only empty ones
    bounds = np.frombuffer(offsets, np.int32)[text.offset : text.offset + len(text) + 1]
    raw = data.to_pybytes()[bounds[0] : bounds[-1]]
    controls = np.count_nonzero(np.frombuffer(raw, np.uint8) < 0x20)
    if (controls and controls != raw.count(b"\t")) or b"<" in raw:
        raise NotFast
    if b"\xef" in raw and (b"\xef\xbf\xbe" in raw or b"\xef\xbf\xbf" in raw):  # U+FFFE, U+FFFF
        raise NotFast
    try:
        text.validate(full=True)  # UTF-8
    except pa.ArrowInvalid:
        raise NotFast from None
    if not controls and b"&" not in raw:
        return text
    rows = pc.or_(pc.match_substring(text, "&"), pc.match_substring(text, "\t"))
    escaped = text.filter(rows)
    rest = escaped
    for entity, _ in _ENTITIES:
        rest = pc.replace_substring(rest, entity, "")
    if pc.any(pc.match_substring(rest, "&")).as_py():
        raise NotFast  # a character reference or an entity XML does not predefine
    plain = pc.replace_substring(escaped, "\t", " ")
    for entity, char in _ENTITIES:  # &amp; last, so "&amp;lt;" becomes "&lt;"
        plain = pc.replace_substring(plain, entity, char)
    return pc.replace_with_mask(text, rows, plain)


# -- structure ----------------------------------------------------------------------------------

# Per line kind, how many traces are open right after such a line (index 0 is unused).
_OPEN_AFTER = np.array([-1, 1, 0, 1, 1, 0, 1], np.int64)


class Structure:
    """Running trace and event counts over the chunks; checks that they nest as XES requires.

    Traces hold events and attributes, events hold attributes, ``</log>`` comes last, once.
    """

    def __init__(self) -> None:
        self.traces = 0  #: traces opened so far (the last one's number)
        self.events = 0  #: events opened so far
        self._closed_traces = 0
        self._closed_events = 0
        self.closed = False  #: ``</log>`` seen

    def feed(self, kinds: Codes) -> tuple[Ints, Ints, Ints]:
        """The next chunk's line kinds -> per attribute line its trace and event number (event 0:
        a trace attribute), and per ``<event>`` line its trace number. Raises NotFast."""
        if self.closed and kinds.size:
            raise NotFast  # something after </log>
        traces = self.traces + np.cumsum(kinds == TRACE)
        closed_traces = self._closed_traces + np.cumsum(kinds == END_TRACE)
        events = self.events + np.cumsum(kinds == EVENT)
        closed_events = self._closed_events + np.cumsum(kinds == END_EVENT)
        in_trace = traces - closed_traces
        in_event = events - closed_events
        if not np.all((in_event >= 0) & (in_event <= in_trace) & (in_trace == _OPEN_AFTER[kinds])):
            raise NotFast
        end = np.flatnonzero(kinds == END_LOG)
        if end.size:
            if end.size > 1 or end[0] != kinds.size - 1:
                raise NotFast
            self.closed = True
        if kinds.size:
            self.traces, self._closed_traces = int(traces[-1]), int(closed_traces[-1])
            self.events, self._closed_events = int(events[-1]), int(closed_events[-1])
        attribute = kinds == ATTRIBUTE
        event = np.where(in_event[attribute] > 0, events[attribute], 0)
        return traces[attribute], event, traces[kinds == EVENT]


# -- roles --------------------------------------------------------------------------------------

#: What an attribute line is for: a plain attribute, or the event's activity, time or identity, or
#: the trace's name (the first of each kind in its event or trace; later ones are attributes).
PLAIN, ACTIVITY, TIME, IDENTITY, NAME = range(5)


class Roles:
    """Finds the attribute lines that name events and traces, across chunks."""

    def __init__(self) -> None:
        self._last = [0] * 5  # per role, the event or trace number that last had it

    def assign(self, tags: Codes, keys: Codes, trace: Ints, event: Ints) -> Codes:
        """Per attribute line its role (from its tag, key code, trace and event number)."""
        in_event = event > 0
        named = (tags == STRING) & (keys == CONCEPT_NAME)
        wanted: list[tuple[int, Bools, Ints]] = [
            (ACTIVITY, named & in_event, event),
            (TIME, (tags == DATE) & (keys == TIME_TIMESTAMP) & in_event, event),
            (IDENTITY, (tags == ID) & (keys == IDENTITY_ID) & in_event, event),
            (NAME, named & ~in_event, trace),
        ]
        roles = np.zeros(len(tags), np.int8)
        for role, candidate, owner in wanted:
            at = np.flatnonzero(candidate)
            if not at.size:
                continue
            owners = owner[at]
            first = owners != np.concatenate(([self._last[role]], owners[:-1]))
            roles[at[first]] = role
            self._last[role] = int(owners[-1])
        return roles


# -- the body -----------------------------------------------------------------------------------


@dataclass
class Attributes:
    """The attribute lines of one chunk, in file order, with where they belong."""

    lines: Lines  #: the chunk's lines: tags, key codes and texts of the attribute lines
    trace: Ints  #: trace number (1-based) per attribute line
    event: Ints  #: event number (1-based) per attribute line, 0 for a trace attribute
    roles: Codes  #: role per attribute line (PLAIN, ACTIVITY, …)
    event_traces: Ints  #: trace number of each event opened in the chunk


class Body:
    """The attribute lines of a file's body (from byte ``offset`` of the decompressed file), chunk
    by chunk. Iterating raises NotFast on anything outside the shape; afterwards ``structure``
    holds the numbers of traces and events."""

    def __init__(self, path: Path, offset: int) -> None:
        self.path = path
        self.offset = offset
        self.structure = Structure()

    def __iter__(self) -> Iterator[Attributes]:
        roles = Roles()
        chunks = body_chunks(self.path, self.offset)
        try:
            for chunk in chunks:
                lines = scan(chunk)
                trace, event, event_traces = self.structure.feed(lines.kinds)
                role = roles.assign(lines.tags, lines.keys, trace, event)
                yield Attributes(lines, trace, event, role, event_traces)
        finally:
            chunks.close()
        if not self.structure.closed:
            raise NotFast  # truncated: no </log>
