"""XES reading and writing: raw counts, lossless round trips, pm4py as oracle, and bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from miner.errors import InputError, UnsafeInputError
from miner.formats.xes import read_xes, write_xes
from miner.model.loading import TableSink
from miner.model.log import Log, connect
from tests.conftest import REALLOGS

REAL = REALLOGS
DATA = Path(__file__).resolve().parents[1] / "data" / "xes"

# Every canonical table without seq and provenance (source_row differs after re-ordering).
TABLES = {
    "events": "SELECT event_id, event_type, timestamp FROM events",
    "event_attributes": "SELECT * EXCLUDE (seq) FROM event_attributes",
    "objects": "SELECT * EXCLUDE (seq) FROM objects",
    "object_attributes": "SELECT * EXCLUDE (seq) FROM object_attributes",
    "event_objects": "SELECT * EXCLUDE (seq) FROM event_objects",
    "object_objects": "SELECT * EXCLUDE (seq) FROM object_objects",
    "event_types": "SELECT * FROM event_types",
    "object_types": "SELECT * FROM object_types",
    "log_meta": "SELECT * FROM log_meta",
}


def load(path: Path) -> Log:
    log = connect(None)
    sink = TableSink(log.con)
    read_xes(path, sink)
    sink.commit(what=str(path))
    return log


def multiset(log: Log, sql: str) -> list[str]:
    return sorted(repr(row) for row in log.con.execute(sql).fetchall())


def assert_same_tables(a: Log, b: Log) -> None:
    for table, sql in TABLES.items():
        assert multiset(a, sql) == multiset(b, sql), table


@pytest.fixture(scope="module")
def bpic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Log, Path, Log]:
    """bpic2012 read, written as .xes.gz, and read back (the slow part, done once)."""
    original = load(REAL / "bpic2012.xes.gz")
    out = tmp_path_factory.mktemp("xes") / "bpic2012-out.xes.gz"
    write_xes(original, out, object_type="case")
    return original, out, load(out)


@pytest.fixture(scope="module")
def receipt(tmp_path_factory: pytest.TempPathFactory) -> tuple[Log, Path, Log]:
    original = load(REAL / "receipt.xes")
    out = tmp_path_factory.mktemp("xes") / "receipt-out.xes"
    write_xes(original, out, object_type="case")
    return original, out, load(out)


# -- real logs ------------------------------------------------------------------------------------


def test_receipt_raw_counts(receipt: tuple[Log, Path, Log]) -> None:
    log = receipt[0]
    assert log.count("objects") == 1434
    assert log.count("events") == 8577
    assert log.count("event_objects") == 8577
    activities = log.con.execute("SELECT count(DISTINCT event_type) FROM events").fetchone()
    assert activities == (27,)


@pytest.mark.slow
def test_bpic2012_raw_counts(bpic: tuple[Log, Path, Log]) -> None:
    log = bpic[0]
    assert log.count("objects") == 13087
    assert log.count("events") == 262200
    assert log.count("event_objects") == 262200
    source_rows = log.con.execute("SELECT min(source_row), max(source_row) FROM events").fetchone()
    assert source_rows == (1, 262200)


def test_receipt_round_trip_is_lossless(receipt: tuple[Log, Path, Log]) -> None:
    original, _, again = receipt
    assert_same_tables(original, again)
    assert original.con.execute("SELECT value FROM log_meta WHERE key = 'xes'").fetchone() == (
        again.con.execute("SELECT value FROM log_meta WHERE key = 'xes'").fetchone()
    )


@pytest.mark.slow
def test_bpic2012_round_trip_is_lossless(bpic: tuple[Log, Path, Log]) -> None:
    original, out, again = bpic
    assert out.read_bytes()[:2] == b"\x1f\x8b"  # gzip
    assert_same_tables(original, again)
    meta = json.loads(again.con.execute("SELECT value FROM log_meta").fetchone()[0])
    kinds = [item["kind"] for item in meta["header"]]
    assert kinds.count("extension") == 11 and kinds.count("classifier") == 2
    assert meta["log"]["xes.version"] == "1.0"


@pytest.mark.slow
def test_bpic2012_lifecycle_resource_and_trace_attributes(bpic: tuple[Log, Path, Log]) -> None:
    _, _, log = bpic
    counts = dict(
        log.con.execute(
            "SELECT name, count(*) FROM event_attributes WHERE type = 'string' GROUP BY name"
        ).fetchall()
    )
    assert counts["lifecycle:transition"] == 262200
    assert 0 < counts["org:resource"] < 262200
    first = log.con.execute(
        "SELECT e.event_type, a.value_string FROM events e JOIN event_attributes a USING (event_id) "
        "JOIN event_objects o USING (event_id) WHERE o.object_id = '173688' "
        "AND a.name = 'lifecycle:transition' ORDER BY e.timestamp, e.seq LIMIT 1"
    ).fetchone()
    assert first == ("A_SUBMITTED", "COMPLETE")
    reg = log.con.execute(
        "SELECT type, value_time FROM object_attributes WHERE object_id = '173688' AND name = 'REG_DATE'"
    ).fetchone()
    assert reg is not None and reg[0] == "time"
    assert reg[1].isoformat().startswith("2011-09-30T22:38:44.546")


def test_pm4py_reads_what_we_write(receipt: tuple[Log, Path, Log]) -> None:
    pm4py = pytest.importorskip("pm4py")
    original, out, _ = receipt
    frame = pm4py.read_xes(str(out), variant="iterparse", return_legacy_log_object=False)
    assert frame["case:concept:name"].nunique() == 1434
    assert len(frame) == 8577
    ours = {
        r[0] for r in original.con.execute("SELECT DISTINCT name FROM event_attributes").fetchall()
    } | {"concept:name", "time:timestamp"}
    theirs = {c for c in frame.columns if not c.startswith("case:")}
    assert theirs == ours
    row = frame[frame["case:concept:name"] == "case-10011"].sort_values("time:timestamp").iloc[0]
    assert row["concept:name"] == "Confirmation of receipt"
    assert row["org:resource"] == "Resource21"
    assert row["org:group"] == "Group 1"
    assert row["time:timestamp"].isoformat().startswith("2011-10-11T11:45:40.276")


# -- typed and nested attributes --------------------------------------------------------------------


def attributes(log: Log, event_id: str) -> dict[str, tuple[Any, ...]]:
    rows = log.con.execute(
        "SELECT name, type, value_string, value_integer, value_float, value_boolean, value_time "
        "FROM event_attributes WHERE event_id = ? ORDER BY seq",
        [event_id],
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_typed_and_nested_attributes(tmp_path: Path) -> None:
    log = load(DATA / "nested.xes")
    assert [
        r[0] for r in log.con.execute("SELECT event_id FROM events ORDER BY seq").fetchall()
    ] == ["a-1", "a-2", "e3"]
    a1 = attributes(log, "a-1")
    assert a1["org:resource"][:2] == ("string", "Ann & Bob <team>")
    assert a1["items"][0] == "integer" and a1["items"][2] == -7
    assert a1["cost"][0] == "float" and a1["cost"][3] == 12.25
    assert a1["urgent"][0] == "boolean" and a1["urgent"][4] is False
    assert a1["due"][0] == "time" and a1["due"][5].microsecond == 123456
    assert a1["note"][1] == "line one\nline two"
    tags = json.loads(a1["tags"][1])
    assert a1["tags"][0] == "list"
    assert [(t["type"], t["value"]) for t in tags] == [
        ("string", "red"),
        ("string", "blue"),
        ("int", "42"),
    ]
    address = json.loads(a1["address"][1])
    assert address[2]["key"] == "geo" and address[2]["children"][0]["value"] == "52.1"
    assert json.loads(a1["note#children"][1]) == [
        {"type": "string", "key": "language", "value": "en"}
    ]
    case = dict(
        log.con.execute(
            "SELECT name, type FROM object_attributes WHERE object_id = 'c1'"
        ).fetchall()
    )
    assert case == {"priority": "integer", "amount": "float", "vip": "boolean", "opened": "time"}
    assert {r[0] for r in log.con.execute("SELECT object_id FROM objects").fetchall()} == {
        "c1",
        "trace-2",
    }

    out = tmp_path / "nested-out.xes"
    write_xes(log, out, object_type="case")
    assert_same_tables(log, load(out))
    text = out.read_text(encoding="utf-8")
    assert '<id key="identity:id" value="a-1"/>' in text
    assert 'value="line one&#10;line two">' in text


# -- bad input ------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read_into_new_log(path: Path) -> Log:
    log = connect(None)
    read_xes(path, TableSink(log.con))
    return log


def test_truncated_file(tmp_path: Path) -> None:
    with gzip.open(REAL / "bpic2012.xes.gz", "rb") as f:
        head = f.read(3_000_000)
    path = tmp_path / "cut.xes"
    path.write_bytes(head)
    with pytest.raises(InputError, match=r"cut\.xes: line \d+, column \d+: malformed XML"):
        read_into_new_log(path)


def test_truncated_gzip(tmp_path: Path) -> None:
    data = (REAL / "bpic2012.xes.gz").read_bytes()
    path = tmp_path / "cut.xes.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.xes\.gz: .*(truncated|malformed)"):
        read_into_new_log(path)


def test_malformed_xml(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.xes", '<log>\n<trace>\n<string key="a" value="b">\n</trace></log>')
    with pytest.raises(InputError, match=r"bad\.xes: line 4, column \d+: malformed XML"):
        read_into_new_log(path)


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    path = write(
        tmp_path,
        "lol.xes",
        f'<?xml version="1.0"?>\n<!DOCTYPE log [<!ENTITY lol0 "lol">{lol}]>\n<log>&lol9;</log>',
    )
    with pytest.raises(UnsafeInputError, match=r"lol\.xes: line 2: .*defines entities"):
        read_into_new_log(path)


def test_external_entity_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "xxe.xes",
        '<?xml version="1.0"?>\n<!DOCTYPE log [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        '<log><trace><string key="concept:name" value="&x;"/></trace></log>',
    )
    with pytest.raises(UnsafeInputError, match=r"xxe\.xes: line 2"):
        read_into_new_log(path)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nothere\.xes: no such file"):
        read_into_new_log(tmp_path / "nothere.xes")
    with pytest.raises(InputError, match=r"empty\.xes: the file is empty"):
        read_into_new_log(write(tmp_path, "empty.xes", ""))


EVENT = '<string key="concept:name" value="A"/><date key="time:timestamp" value="{ts}"/>'


def one_event_log(tmp_path: Path, event_xml: str, trace_name: str = "c1") -> Path:
    return write(
        tmp_path,
        "one.xes",
        f'<log>\n<trace><string key="concept:name" value="{trace_name}"/>\n'
        f"<event>{event_xml}</event>\n</trace>\n</log>\n",
    )


def test_unparseable_timestamp(tmp_path: Path) -> None:
    path = one_event_log(tmp_path, EVENT.format(ts="yesterday at noon"))
    with pytest.raises(InputError, match=r"one\.xes: trace 'c1', event 1 .*'yesterday at noon'"):
        read_into_new_log(path)


def test_unparseable_typed_attribute(tmp_path: Path) -> None:
    path = one_event_log(
        tmp_path, EVENT.format(ts="2024-01-01T00:00:00Z") + '<date key="due" value="31/12/2024"/>'
    )
    with pytest.raises(InputError, match=r"one\.xes: line 3, trace 1 event 1: <date key='due'>"):
        read_into_new_log(path)
    path = one_event_log(
        tmp_path, EVENT.format(ts="2024-01-01T00:00:00Z") + '<int key="n" value="1.5"/>'
    )
    with pytest.raises(
        InputError, match=r"line 3, trace 1 event 1: <int key='n'> .*not an integer"
    ):
        read_into_new_log(path)


def test_event_without_timestamp(tmp_path: Path) -> None:
    path = one_event_log(tmp_path, '<string key="concept:name" value="A"/>')
    with pytest.raises(InputError, match=r"one\.xes: line 3, trace 1 event 1: .*no time:timestamp"):
        read_into_new_log(path)


def test_duplicate_trace_names(tmp_path: Path) -> None:
    trace = '<trace><string key="concept:name" value="dup"/></trace>\n'
    path = write(tmp_path, "dup.xes", "<log>\n" + trace + trace + "</log>")
    with pytest.raises(
        InputError, match=r"dup\.xes: trace 2 \(line 3\) .*'dup', like trace 1 \(line 2\)"
    ):
        read_into_new_log(path)


def test_not_xes(tmp_path: Path) -> None:
    path = write(tmp_path, "other.xml", "<html><body/></html>")
    with pytest.raises(
        InputError, match=r"other\.xml: no <log> element; this is not an XES event log"
    ):
        read_into_new_log(path)
