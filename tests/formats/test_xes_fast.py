"""The fast path of the XES reader gives exactly the lxml reader's tables, or falls back."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from miner.errors import InputError
from miner.formats.xes_fast import fits_fast_path, read_xes_fast
from miner.formats.xes_read import read_xes
from miner.model.loading import TableSink
from miner.model.log import Log, connect
from miner.model.schema import CANONICAL_TABLES
from tests.conftest import REALLOGS

REAL = REALLOGS
DATA = Path(__file__).resolve().parents[1] / "data" / "xes"


def load(path: Path, *, fast: bool) -> tuple[Log, bool]:
    """The log read by the fast path (falling back like read_xes does) or by lxml alone."""
    log = connect(None)
    sink = TableSink(log.con)
    took_fast = False
    if fast:
        took_fast = read_xes_fast(path, sink)
    if not took_fast:
        read_xes(path, sink, fast=False)
    sink.commit(what=str(path))
    return log, took_fast


def multiset(log: Log, table: str) -> pa.Table:
    # Every column, seq and provenance included; sorted by all columns, so equal tables are equal multisets.
    return log.con.sql(f"SELECT * FROM {table} ORDER BY ALL").to_arrow_table()


def assert_identical(path: Path, *, fast_path: bool) -> Log:
    fast, took = load(path, fast=True)
    assert took is fast_path
    slow, _ = load(path, fast=False)
    for table in CANONICAL_TABLES:
        assert multiset(fast, table).equals(multiset(slow, table)), table
    return fast


@pytest.mark.parametrize(
    "name",
    ["running-example.xes", "receipt.xes", "roadtraffic100traces.xes", "interval_event_log.xes"],
)
def test_real_logs_take_the_fast_path_with_identical_tables(name: str) -> None:
    assert fits_fast_path(REAL / name)
    assert_identical(REAL / name, fast_path=True)


@pytest.mark.slow
def test_bpic2012_gz_takes_the_fast_path_with_identical_tables() -> None:
    log = assert_identical(REAL / "bpic2012.xes.gz", fast_path=True)
    assert log.count("events") == 262200
    assert log.con.execute("SELECT min(source_row), max(source_row) FROM events").fetchone() == (
        1,
        262200,
    )


def test_nested_attributes_fall_back() -> None:
    assert not fits_fast_path(DATA / "nested.xes")
    assert_identical(DATA / "nested.xes", fast_path=False)


HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
\t<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
\t<global scope="event">
\t\t<string key="concept:name" value="UNKNOWN"/>
\t</global>
\t<string key="source" value="tests &amp; more"/>
"""


def event(name: str, stamp: str, *extra: str) -> str:
    lines = [
        "\t\t<event>",
        f'\t\t\t<string key="concept:name" value="{name}"/>',
        f'\t\t\t<date key="time:timestamp" value="{stamp}"/>',
        *(f"\t\t\t{line}" for line in extra),
        "\t\t</event>",
    ]
    return "\n".join(lines) + "\n"


def xes(*traces: str) -> str:
    return HEADER + "".join(traces) + "</log>\n"


def trace(name: str | None, *events: str, extra: tuple[str, ...] = ()) -> str:
    head = [f'\t\t<string key="concept:name" value="{name}"/>'] if name is not None else []
    body = "\n".join([*head, *(f"\t\t{line}" for line in extra)])
    return "\t<trace>\n" + (body + "\n" if body else "") + "".join(events) + "\t</trace>\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_typed_values_identity_and_unnamed_traces(tmp_path: Path) -> None:
    text = xes(
        trace(
            "c1",
            event(
                "a",
                "2024-03-01T09:00:00.000+01:00",
                '<int key="n" value="-7"/>',
                '<float key="x" value="1.5e3"/>',
                '<boolean key="b" value="TRUE"/>',
                '<date key="due" value="2024-03-08T17:30:00.123456"/>',
                '<id key="identity:id" value="id-1"/>',
                '<date key="time:timestamp" value="2024-03-08T17:30:00Z"/>',
                '<string key="concept:name" value="second name"/>',
            ),
            event("b", "2024-03-01T10:00:00"),
            extra=('<int key="priority" value="3"/>',),
        ),
        trace(None, event("a", "2024-03-02T09:00:00.5-05:30")),
        trace("", event("c", "2024-03-02T09:00:00.000+00:00")),
    )
    log = assert_identical(write(tmp_path, "typed.xes", text), fast_path=True)
    assert {r[0] for r in log.con.execute("SELECT object_id FROM objects").fetchall()} == {
        "c1",
        "trace-2",
        "",
    }
    assert log.con.execute("SELECT event_id FROM events ORDER BY seq").fetchall() == [
        ("id-1",),
        ("e2",),
        ("e3",),
        ("e4",),
    ]


def test_entities_and_tabs_in_values(tmp_path: Path) -> None:
    text = xes(
        trace(
            "a &amp; b",
            event(
                "x &lt;y&gt;",
                "2024-03-01T09:00:00.000+01:00",
                '<string key="org:resource" value="Ann &amp; Bob &lt;team&gt; &quot;q&quot; &apos;s&apos;"/>',
                '<string key="k&amp;ey" value="a\tb"/>',
                '<string key="amp" value="&amp;lt;"/>',
            ),
        )
    )
    log = assert_identical(write(tmp_path, "entities.xes", text), fast_path=True)
    values = dict(log.con.execute("SELECT name, value_string FROM event_attributes").fetchall())
    assert values == {
        "org:resource": "Ann & Bob <team> \"q\" 's'",
        "k&ey": "a b",
        "amp": "&lt;",
    }
    assert log.con.execute("SELECT event_type FROM events").fetchone() == ("x <y>",)


def test_value_before_key_single_quotes_and_crlf(tmp_path: Path) -> None:
    text = xes(
        trace(
            "c1",
            event(
                "a",
                "2024-03-01T09:00:00.000+01:00",
                '<string value="v1" key="first"/>',
                "<int value='5' key='second' />",
                "<string  key = 'q\"uote'   value=\"it's\"/>",
            ),
        )
    ).replace("\n", "\r\n")
    log = assert_identical(write(tmp_path, "order.xes", text), fast_path=True)
    values = dict(
        log.con.execute(
            "SELECT name, coalesce(value_string, value_integer::VARCHAR) FROM event_attributes"
        ).fetchall()
    )
    assert values == {"first": "v1", "second": "5", 'q"uote': "it's"}


def test_gzip_fast_path(tmp_path: Path) -> None:
    text = xes(trace("c1", event("a", "2024-03-01T09:00:00.000+01:00")))
    path = tmp_path / "small.xes.gz"
    path.write_bytes(gzip.compress(text.encode()))
    assert_identical(path, fast_path=True)


def error_of(path: Path, *, fast: bool) -> str:
    log = connect(None)
    with pytest.raises(InputError) as info:
        read_xes(path, TableSink(log.con), fast=fast)
    return str(info.value)


@pytest.mark.parametrize(
    ("extra", "stamp"),
    [
        ('<date key="due" value="2024-13-01T00:00:00"/>', "2024-03-01T09:00:00"),
        ('<int key="n" value="1.0"/>', "2024-03-01T09:00:00"),
        ('<float key="x" value="abc"/>', "2024-03-01T09:00:00"),
        ('<boolean key="b" value="yes"/>', "2024-03-01T09:00:00"),
        ('<string key="k" value="v"/>', "not a date"),
    ],
)
def test_bad_values_raise_the_lxml_error(tmp_path: Path, extra: str, stamp: str) -> None:
    path = write(tmp_path, "bad.xes", xes(trace("c1", event("a", stamp, extra))))
    assert not fits_fast_path(path)
    message = error_of(path, fast=True)
    assert message == error_of(path, fast=False)
    assert "bad.xes" in message


def test_missing_activity_and_duplicate_traces_raise_the_lxml_error(tmp_path: Path) -> None:
    no_name = xes(
        trace(
            "c1",
            '\t\t<event>\n\t\t\t<date key="time:timestamp" value="2024-03-01T09:00:00"/>\n\t\t</event>\n',
        )
    )
    twice = xes(
        trace("c1", event("a", "2024-03-01T09:00:00")),
        trace("c1", event("b", "2024-03-01T09:00:00")),
    )
    for name, text in (("noname.xes", no_name), ("twice.xes", twice)):
        path = write(tmp_path, name, text)
        assert not fits_fast_path(path)
        assert error_of(path, fast=True) == error_of(path, fast=False)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.replace("</log>\n", ""),  # truncated: no </log>
        lambda t: t.replace("\t\t</event>\n", "", 1),  # unbalanced event
        lambda t: t.replace("\t</trace>\n", "", 1),  # unbalanced trace
        lambda t: t.replace("</log>\n", "</log>\n<log>\n"),  # garbage after the root
        lambda t: t.replace("\t</trace>", "\t<!-- note -->\n\t</trace>", 1),  # comment in a trace
        lambda t: t.replace('value="b"', 'value="&#98;"'),  # character reference
        lambda t: t.replace('value="b"', 'value="&foo;"'),  # undefined entity
    ],
)
def test_other_shapes_fall_back_to_lxml(tmp_path: Path, mutate: object) -> None:
    text = xes(trace("c1", event("a", "2024-03-01T09:00:00"), event("b", "2024-03-01T10:00:00")))
    path = write(tmp_path, "odd.xes", mutate(text))  # type: ignore[operator]
    assert not fits_fast_path(path)
    slow_error = None
    try:
        load(path, fast=False)
    except InputError as exc:
        slow_error = str(exc)
    if slow_error is not None:
        assert error_of(path, fast=True) == slow_error
    else:
        assert_identical(path, fast_path=False)


def test_minified_file_falls_back(tmp_path: Path) -> None:
    text = xes(
        trace("c1", event("a", "2024-03-01T09:00:00.000+01:00", '<int key="n" value="3"/>')),
        trace("c2", event("b", "2024-03-01T10:00:00.000+01:00")),
    )
    minified = "".join(line.strip() for line in text.splitlines())
    path = write(tmp_path, "mini.xes", minified)
    assert not fits_fast_path(path)
    log = assert_identical(path, fast_path=False)
    pretty, took = load(write(tmp_path, "pretty.xes", text), fast=True)
    assert took
    for table in ("events", "event_attributes", "objects", "object_attributes", "event_objects"):
        assert log.con.execute(f"SELECT * EXCLUDE (seq) FROM {table} ORDER BY seq").fetchall() == (
            pretty.con.execute(f"SELECT * EXCLUDE (seq) FROM {table} ORDER BY seq").fetchall()
            if table != "events"
            else [
                (*r[:4], "mini.xes", r[5])
                for r in pretty.con.execute(
                    f"SELECT * EXCLUDE (seq) FROM {table} ORDER BY seq"
                ).fetchall()
            ]
        )


def test_identity_ids_that_look_generated_fall_back(tmp_path: Path) -> None:
    text = xes(
        trace(
            "c1",
            event("a", "2024-03-01T09:00:00", '<id key="identity:id" value="e2"/>'),
            event("b", "2024-03-01T10:00:00"),
        )
    )
    path = write(tmp_path, "ids.xes", text)
    assert not fits_fast_path(path)
    assert_identical(path, fast_path=False)


def test_wide_header_line_takes_the_fast_path(tmp_path: Path) -> None:
    attrs = " ".join(f'a{i}="{i}"' for i in range(12))
    text = xes(trace("c1", event("a", "2024-03-01T09:00:00"))).replace(
        '<log xes.version="1.0"', f'<log xes.version="1.0" {attrs}'
    )
    assert_identical(write(tmp_path, "wide.xes", text), fast_path=True)


def test_invalid_utf8_falls_back(tmp_path: Path) -> None:
    text = xes(trace("c1", event("a", "2024-03-01T09:00:00", '<string key="k" value="X"/>')))
    path = tmp_path / "latin.xes"
    path.write_bytes(text.encode().replace(b'value="X"', b'value="\xe9"'))
    assert not fits_fast_path(path)
    assert error_of(path, fast=True) == error_of(path, fast=False)


# -- the numpy scanner: chunking, gzip members, layouts, values ----------------------------------


@pytest.mark.parametrize("chunk", [61, 4096])
@pytest.mark.parametrize("name", ["running-example.xes", "roadtraffic100traces.xes"])
def test_tiny_chunks_give_identical_tables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, chunk: int, name: str
) -> None:
    # Lines, events and traces then straddle chunk boundaries (61 bytes is shorter than most lines).
    monkeypatch.setattr("miner.formats.xes_scan.CHUNK", chunk)
    assert_identical(REAL / name, fast_path=True)
    packed = tmp_path / (name + ".gz")
    packed.write_bytes(gzip.compress((REAL / name).read_bytes()))
    assert_identical(packed, fast_path=True)


def test_gzip_members_padding_and_truncation(tmp_path: Path) -> None:
    text = xes(
        trace("c1", event("a", "2024-03-01T09:00:00Z")),
        trace("c2", event("b", "2024-03-02T09:00:00Z")),
    )
    half = len(text) // 2
    members = tmp_path / "members.xes.gz"
    members.write_bytes(gzip.compress(text[:half].encode()) + gzip.compress(text[half:].encode()))
    assert_identical(members, fast_path=True)
    padded = tmp_path / "padded.xes.gz"  # the gzip module skips zero padding; lxml's read decides
    padded.write_bytes(gzip.compress(text.encode()) + b"\0" * 16)
    assert not fits_fast_path(padded)
    assert_identical(padded, fast_path=False)
    cut = tmp_path / "cut.xes.gz"  # lxml's error for it: test_xes.py::test_truncated_gzip
    cut.write_bytes(gzip.compress(text.encode())[:-12])
    assert not fits_fast_path(cut)


def test_other_layouts_take_the_fast_path(tmp_path: Path) -> None:
    body = xes(
        trace(
            "c1",
            event("a", "2024-03-01T09:00:00Z", '<string key="org:resource" value="Zoë 日本"/>'),
            event("b", "2024-03-01T10:00:00Z", '<string key="" value=""/>'),
        ),
        trace("c2", event("c", "2024-03-01T11:00:00Z")),
    )
    lines = body.splitlines()
    variants = {
        "spaces.xes": "\n".join(line.replace("\t", "    ") for line in lines),
        "deep.xes": "\n".join(line.replace("\t", "      ") for line in lines),  # indents > 8
        "mixed.xes": "\n".join(line.replace("\t", " \t") for line in lines),
        "flat.xes": "\n".join(line.lstrip() for line in lines),
        "trailing.xes": "\n".join(line + " \t" for line in lines),
        "blank.xes": "\n\n \t\n".join(lines),
        "crlf-blank.xes": "\r\n\r\n".join(lines),
        "no-newline.xes": body.rstrip("\n"),
    }
    for name, text in variants.items():
        assert_identical(write(tmp_path, name, text), fast_path=True)


@pytest.mark.parametrize(
    "value",
    [
        "a<b",  # '<' is not allowed in an attribute value
        "a\x01b",  # nor a control character
        "a\ufffeb",
        "a\rb",  # a lone CR becomes a space in XML; left to lxml
        "&#65;",
        "&nbsp;",
    ],
)
def test_values_lxml_rejects_or_rewrites_fall_back(tmp_path: Path, value: str) -> None:
    text = xes(
        trace("c1", event("a", "2024-03-01T09:00:00Z", f'<string key="k" value="{value}"/>'))
    )
    path = tmp_path / "odd.xes"
    path.write_bytes(text.encode())
    assert not fits_fast_path(path)
    try:
        load(path, fast=False)
    except InputError:
        assert error_of(path, fast=True) == error_of(path, fast=False)
    else:
        assert_identical(path, fast_path=False)


@pytest.mark.parametrize(
    ("stamp", "fast"),
    [
        ("2024-03-01T09:00:00Z", True),
        ("2024-03-01T09:00:00.1+05:45", True),
        ("2024-03-01T09:00:00.123456-12:00", True),
        ("2024-03-01T09:00:00", True),  # no zone: UTC
        ("2024-03-01T09:00:00.5", True),
        ("2024-03-01 09:00:00+01:00", True),  # space separator
        ("2024-03-01T09:00+01:00", True),  # no seconds
        ("1969-12-31T23:59:59.999999Z", True),
        ("2024-03-01T09:00:00+0100", False),  # zones without a colon are left to lxml
        ("2024-03-01T09:00:00+01", False),
    ],
)
def test_time_formats_give_identical_times(tmp_path: Path, stamp: str, fast: bool) -> None:
    text = xes(
        trace("c1", event("a", stamp, f'<date key="due" value="{stamp}"/>')),
        trace("c2", event("b", "2024-03-01T09:00:00Z")),
    )
    assert_identical(write(tmp_path, "times.xes", text), fast_path=fast)


@pytest.mark.parametrize(
    "stamp",
    [
        "2024-03-01T09:00:00.1234567Z",  # Python truncates 7 digits, Arrow refuses them
        "2024-03-01T09:00:00,5Z",
        "2024-03-01",
        "2024-02-30T09:00:00Z",
        "20240301T090000Z",
    ],
)
def test_time_formats_arrow_does_not_read_fall_back(tmp_path: Path, stamp: str) -> None:
    text = xes(
        trace("c1", event("a", "2024-03-01T09:00:00Z", f'<date key="due" value="{stamp}"/>'))
    )
    path = write(tmp_path, "times.xes", text)
    assert not fits_fast_path(path)
    try:
        load(path, fast=False)
    except InputError:
        assert error_of(path, fast=True) == error_of(path, fast=False)
    else:
        assert_identical(path, fast_path=False)


def test_numbers_and_booleans(tmp_path: Path) -> None:
    extra = [
        '<int key="i1" value="+5"/>',
        '<int key="i2" value="007"/>',
        '<int key="i3" value="-9223372036854775808"/>',
        '<float key="f1" value="1."/>',
        '<float key="f2" value=".5"/>',
        '<float key="f3" value="-0"/>',
        '<float key="f4" value="1e400"/>',
        '<float key="f5" value="4.9e-324"/>',
        '<boolean key="b1" value="True"/>',
        '<boolean key="b2" value="0"/>',
        '<id key="ref" value="x-1"/>',
    ]
    text = xes(
        trace(
            "c1",
            event("a", "2024-03-01T09:00:00Z", *extra),
            extra=('<float key="t" value="2.5"/>',),
        )
    )
    assert_identical(write(tmp_path, "numbers.xes", text), fast_path=True)
    for bad in (
        '<int key="i" value="1_000"/>',
        '<float key="f" value="nan"/>',
        '<int key="i" value="9223372036854775808"/>',
    ):
        odd = xes(trace("c1", event("a", "2024-03-01T09:00:00Z", bad)))
        assert not fits_fast_path(write(tmp_path, "odd.xes", odd))


def test_identities_empty_traces_and_generated_names(tmp_path: Path) -> None:
    text = xes(
        trace(
            "c1",
            event("a", "2024-03-01T09:00:00Z", '<id key="identity:id" value="x1"/>'),
            event("b", "2024-03-01T10:00:00Z"),
        ),
        "\t<trace>\n\t</trace>\n",  # a trace without events or attributes
        trace(
            None,
            event(
                "c",
                "2024-03-01T11:00:00Z",
                '<id key="identity:id" value="x3"/>',
                '<id key="identity:id" value="second"/>',
            ),
        ),
    )
    log = assert_identical(write(tmp_path, "ids.xes", text), fast_path=True)
    assert log.count("objects") == 3
    clash = xes(
        trace("trace-2", event("a", "2024-03-01T09:00:00Z")),
        trace(None, event("b", "2024-03-01T09:00:00Z")),
    )
    path = write(tmp_path, "clash.xes", clash)
    assert not fits_fast_path(path)
    assert error_of(path, fast=True) == error_of(path, fast=False)
    twice = xes(
        trace(
            "c1",
            event("a", "2024-03-01T09:00:00Z", '<id key="identity:id" value="x"/>'),
            event("b", "2024-03-01T09:00:00Z", '<id key="identity:id" value="x"/>'),
        )
    )
    path = write(tmp_path, "twice.xes", twice)
    assert not fits_fast_path(path)
    assert_identical(path, fast_path=False)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.replace("</log>\n", "</log>\n<!-- end -->\n"),  # something after </log>
        lambda t: t.replace(
            '\t\t\t<string key="concept:name" value="b"/>',
            '\t\t\t<string key="concept:name" value="b"/><int key="n" value="1"/>',
        ),
        lambda t: t.replace(
            '<string key="concept:name" value="b"/>', '<string key="concept:name"/>'
        ),
        lambda t: t.replace("\t\t<event>", "\t\t<event >", 1),
        lambda t: t.replace(
            '<string key="concept:name" value="b"/>', '<strings key="concept:name" value="b"/>'
        ),
        lambda t: t.replace("\t</trace>\n", '\t</trace>\n\t<string key="between" value="x"/>\n', 1),
        lambda t: t.replace("\t<trace>", "\t<trace/>\n\t<trace>", 1),
    ],
)
def test_more_shapes_fall_back_to_lxml(tmp_path: Path, mutate: object) -> None:
    text = xes(trace("c1", event("a", "2024-03-01T09:00:00"), event("b", "2024-03-01T10:00:00")))
    path = write(tmp_path, "odd.xes", mutate(text))  # type: ignore[operator]
    assert not fits_fast_path(path)
    slow_error = None
    try:
        load(path, fast=False)
    except InputError as exc:
        slow_error = str(exc)
    if slow_error is not None:
        assert error_of(path, fast=True) == slow_error
    else:
        assert_identical(path, fast_path=False)


# -- differential: random layouts and values, fast path against lxml ---------------------------

_PIECES = [
    "a",
    "Z",
    "9",
    " ",
    "\t",
    "é",
    "日",
    "&amp;",
    "&lt;",
    "&",
    "<",
    ">",
    "'",
    "\x01",
    "&#38;",
]
_VALUES = st.lists(st.sampled_from(_PIECES), max_size=4).map("".join)
_TYPED = st.sampled_from(
    [
        ("int", "-12"),
        ("int", "+3"),
        ("int", "1.5"),
        ("float", "2.5e3"),
        ("float", "x"),
        ("boolean", "true"),
        ("boolean", "yes"),
        ("date", "2024-03-01T09:00:00.5+02:00"),
        ("date", "2024-03-01T09:00:00"),
        ("date", "2024-02-30T09:00:00Z"),
        ("id", "x-1"),
    ]
)


@st.composite
def _attribute(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        tag, value = draw(_TYPED)
    else:
        tag, value = "string", draw(_VALUES)
    key = draw(
        st.sampled_from(["concept:name", "time:timestamp", "identity:id", "org:resource", "k&amp;"])
    )
    if draw(st.integers(0, 5)) == 0:  # another layout: value first, single quotes, spaces
        return f"<{tag} value='{value}'  key='{key}' />"
    return f'<{tag} key="{key}" value="{value}"/>'


@st.composite
def _log(draw: st.DrawFn) -> str:
    indent = draw(st.sampled_from(["\t", "  ", "", " \t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = []
    for t in range(draw(st.integers(1, 3))):
        lines.append(indent + "<trace>")
        if draw(st.booleans()):
            lines.append(
                indent * 2
                + f'<string key="concept:name" value="{draw(st.sampled_from(["c1", "c2", "trace-2"]))}"/>'
            )
        for _ in range(draw(st.integers(0, 2))):
            lines.append(indent * 2 + "<event>")
            if draw(st.integers(0, 9)):
                lines.append(indent * 3 + f'<string key="concept:name" value="a{t}"/>')
            if draw(st.integers(0, 9)):
                lines.append(
                    indent * 3
                    + '<date key="time:timestamp" value="2024-03-01T09:00:00.000+01:00"/>'
                )
            lines += [indent * 3 + draw(_attribute()) for _ in range(draw(st.integers(0, 3)))]
            lines.append(indent * 2 + "</event>")
        lines.append(indent + "</trace>")
    lines.append("</log>")
    body = newline.join(lines) + newline
    if draw(st.integers(0, 9)) == 0:  # a random cut or a stray line
        at = draw(st.integers(0, len(body)))
        body = (
            body[:at] + draw(st.sampled_from(["", "<!-- x -->\n", "\n\n", "<event>\n"])) + body[at:]
        )
    return HEADER + body


def _outcome(path: Path, *, fast: bool) -> tuple[str, Any]:
    try:
        return "tables", load(path, fast=fast)
    except InputError as error:
        return "error", str(error)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_log())
def test_random_logs_read_as_lxml_reads_them(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.xes"
        path.write_bytes(text.encode("utf-8"))
        fast, slow = _outcome(path, fast=True), _outcome(path, fast=False)
        assert fast[0] == slow[0]
        if fast[0] == "error":
            assert fast[1] == slow[1]
            return
        for table in CANONICAL_TABLES:
            assert multiset(fast[1][0], table).equals(multiset(slow[1][0], table)), table
