"""The fast OCEL 2.0 JSON reader gives exactly the tables and the error messages of the original
row-by-row reader (``read_ocel2_json_ijson``): every canonical table, seq and provenance included.

The fast reader is two paths: the bulk path (msgspec, ``ocel2_json_bulk``) for the common documents,
and the streaming path (ijson, column-wise) for what the bulk path leaves. ``assert_same`` runs the
reader as it is (bulk first) and with the bulk path switched off, so both are held to the original.
"""

from __future__ import annotations

import copy
import gc
import gzip
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import miner.formats.ocel2_json_bulk as bulk
import miner.formats.ocel2_json_fast as fast
from miner.errors import InputError
from miner.formats.ocel2_json import read_ocel2_json, read_ocel2_json_ijson, write_ocel2_json
from miner.formats.ocel2_json_bulk import Unusual, read_ocel2_json_bulk
from miner.formats.ocel2_json_fast import read_ocel2_json_fast
from miner.formats.ocel2_sqlite import read_ocel2_sqlite
from miner.model.loading import TableSink
from miner.model.log import Log, connect
from miner.model.schema import ARROW_SCHEMAS, CANONICAL_TABLES
from tests.conftest import REALLOGS

REAL = REALLOGS


def read(path: Path, reader: Callable[..., None]) -> Log:
    log = connect(None)
    sink = TableSink(log.con)
    reader(path, sink)
    sink.commit(what=str(path))
    return log


def tables(log: Log) -> dict[str, pa.Table]:
    """Every canonical table, all columns, in a deterministic order (seq, else all columns)."""
    result = {}
    for table in CANONICAL_TABLES:
        names = ARROW_SCHEMAS[table].names
        order = "seq" if "seq" in names else ", ".join(names)
        result[table] = log.con.sql(f"SELECT * FROM {table} ORDER BY {order}").to_arrow_table()
    return result


def streaming_only(path: Path, sink: TableSink, **kwargs: Any) -> None:
    """The fast reader with the bulk path switched off."""
    original = fast._read_bulk
    fast._read_bulk = lambda *args: False  # type: ignore[assignment]
    try:
        read_ocel2_json_fast(path, sink, **kwargs)
    finally:
        fast._read_bulk = original


def assert_same(path: Path) -> None:
    slow = tables(read(path, read_ocel2_json_ijson))
    for reader in (read_ocel2_json_fast, streaming_only):
        found = tables(read(path, reader))
        for table in CANONICAL_TABLES:
            assert found[table].num_rows == slow[table].num_rows, (reader, table)
            assert found[table].equals(slow[table]), (reader, table)


def assert_bulk_reads(path: Path) -> None:
    """The bulk path itself reads ``path`` (it does not leave it to the streaming path)."""
    read(path, read_ocel2_json_bulk)


def test_read_ocel2_json_is_the_fast_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(fast, "_read_bulk", lambda *args: calls.append(args) or True)
    read_ocel2_json(tmp_path / "x.jsonocel", TableSink(connect(None).con))
    assert len(calls) == 1


def test_without_msgspec_the_streaming_path_reads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "miner.formats.ocel2_json_bulk", None)  # import fails
    calls = []
    monkeypatch.setattr(fast, "_read", lambda *args: calls.append(args))
    read_ocel2_json(tmp_path / "x.jsonocel", TableSink(connect(None).con))
    assert len(calls) == 1


@pytest.mark.parametrize("name", ["order-management.json.gz", "ocel20_example.jsonocel"])
def test_same_tables_on_real_logs(name: str) -> None:
    assert_bulk_reads(REAL / name)
    assert_same(REAL / name)


def test_same_tables_on_p2p_written_as_json(tmp_path: Path) -> None:
    log = connect(None)
    sink = TableSink(log.con)
    read_ocel2_sqlite(REAL / "ocel2-p2p.sqlite", sink)
    sink.commit(what="p2p")
    path = tmp_path / "p2p.json.gz"
    write_ocel2_json(log, path)
    assert_bulk_reads(path)
    assert_same(path)


EXAMPLE = json.loads((REAL / "ocel20_example.jsonocel").read_text())


def changed(change: Callable[[dict[str, Any]], None]) -> str:
    """The example, changed, as JSON text."""
    doc = copy.deepcopy(EXAMPLE)
    change(doc)
    return json.dumps(doc)


def set_(keys: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    """A change that sets the value at ``keys``."""

    def change(doc: dict[str, Any]) -> None:
        target = doc
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return change


def odd_document() -> dict[str, Any]:
    """The example with what the mapping must keep exactly: undeclared attributes, numbers under
    declared strings, repeated E2O pairs with other qualifiers, attribute changes with times,
    timestamps of every form parse_time accepts, numeric ids, missing or null qualifiers."""
    doc = copy.deepcopy(EXAMPLE)
    events, objects = doc["events"], doc["objects"]
    events[0]["attributes"].append({"name": "undeclared", "value": 7})
    events[0]["attributes"].append({"name": "undeclared float", "value": 2.50})
    events[0]["attributes"].append({"name": "undeclared bool", "value": True})
    events[0]["attributes"].append({"name": "undeclared null", "value": None})
    events[1]["relationships"] += [dict(events[1]["relationships"][0], qualifier=q) for q in "xy"]
    events[1]["relationships"].append({"objectId": events[1]["relationships"][0]["objectId"]})
    events[2]["relationships"].append(
        {"objectId": events[2]["relationships"][0]["objectId"], "qualifier": None}
    )
    times = [
        "2022-01-09T15:00:00",
        "2022-01-09T15:00:00.5Z",
        "2022-01-09T15:00:00.123456+02:00",
        "2022-01-09T15:00:00-05:30",
        "2022-01-09 15:00:00",
        "2022-01-09",
        " 2022-01-09T15:00:00Z ",
        "2022-01-09T15:00:00+0100",
    ]
    for event, text in zip(events[3:], times):
        event["time"] = text
    events[-1]["id"] = 12345
    objects[0]["attributes"].append(
        {"name": "changing", "time": "2022-02-01T00:00:00Z", "value": "b"}
    )
    objects[0]["attributes"].append({"name": "changing", "value": "a"})
    objects[1].pop("relationships", None)
    objects[2]["attributes"] = None
    return doc


def test_same_tables_on_the_odd_cases(tmp_path: Path) -> None:
    doc = odd_document()
    types = {t["name"]: {a["name"]: a["type"] for a in t["attributes"]} for t in doc["eventTypes"]}
    declared_string = next(
        (event, name)
        for event in doc["events"]
        for name, kind in types[event["type"]].items()
        if kind == "string"
    )
    event, name = declared_string
    for attribute in event["attributes"]:
        if attribute["name"] == name:
            attribute["value"] = 94.28
    text = json.dumps(doc).replace("2.5", "2.50").replace("94.28", "94.280")
    assert "94.280" in text
    path = tmp_path / "odd.json.gz"
    path.write_bytes(gzip.compress(text.encode()))
    assert_same(path)
    log = read(path, read_ocel2_json_fast)
    kept = log.con.execute(
        "SELECT value_string FROM event_attributes WHERE name = ? AND value_string = '94.280'",
        [name],
    ).fetchall()
    assert kept == [("94.280",)]


def test_same_tables_on_the_odd_cases_the_bulk_path_reads(tmp_path: Path) -> None:
    doc = odd_document()
    doc["events"][-1]["id"] = "12345"  # a number as an id is left to the streaming path
    text = json.dumps(doc).replace("2.5", "2.50")
    path = tmp_path / "odd.jsonocel"
    path.write_text(text)
    assert_bulk_reads(path)
    assert_same(path)


def test_more_events_than_one_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast, "_ROWS", 3)
    monkeypatch.setattr(bulk, "BATCH", 3)
    monkeypatch.setattr(bulk, "STAGE_ROWS", 5)
    doc = odd_document()
    path = tmp_path / "odd.jsonocel"
    path.write_text(json.dumps(doc))
    assert_same(path)
    doc["events"][-1]["id"] = "12345"
    path.write_text(json.dumps(doc))
    assert_bulk_reads(path)
    assert_same(path)
    assert_same(REAL / "ocel20_example.jsonocel")


def unusual_documents() -> dict[str, str]:
    """Good documents outside what the bulk path reads: the streaming path reads them."""
    cases: dict[str, tuple[list[Any], Any]] = {
        "number as event id": (["events", 0, "id"], 7),
        "number as object id": (["objects", 0, "id"], 8),
        "number as objectId": (["events", 0, "relationships", 0, "objectId"], 9),
        "number as qualifier": (["events", 0, "relationships", 0, "qualifier"], 1.50),
    }
    docs = {name: changed(set_(keys, value)) for name, (keys, value) in cases.items()}
    ok = json.dumps(EXAMPLE)
    docs["escaped top-level key"] = ok.replace('"objects":', '"\\u006fbjects":', 1)
    docs["extra top-level key naming events"] = ok[:-1] + ', "note": "events"}'
    docs["escape in an extra top-level key"] = ok[:-1] + ', "note": "caf\\u00e9"}'
    return docs


@pytest.mark.parametrize("case", sorted(unusual_documents()))
def test_same_tables_on_what_the_bulk_path_leaves(tmp_path: Path, case: str) -> None:
    path = tmp_path / "unusual.jsonocel"
    path.write_text(unusual_documents()[case])
    with pytest.raises(Unusual):
        read(path, read_ocel2_json_bulk)
    assert_same(path)


def test_the_bulk_path_keeps_numbers_lists_and_escapes(tmp_path: Path) -> None:
    doc = copy.deepcopy(EXAMPLE)
    attributes = doc["events"][0]["attributes"]
    attributes[:] = [
        {"name": "n1", "value": 0},
        {"name": "n2", "value": 1.5},
        {"name": "n3", "value": True},
        {"name": "n4", "value": 'caf\u00e9 "x"'},
        {"name": "n5", "value": -12},
        {"name": "n6", "value": {"b": 1.5, "a": [True, None, "x"], "b ": {}}},
    ]
    declared = {"n1": "integer", "n2": "string", "n3": "boolean", "n5": "float", "n6": "string"}
    for entry in doc["eventTypes"]:
        if entry["name"] == doc["events"][0]["type"]:
            entry["attributes"] += [{"name": n, "type": t} for n, t in declared.items()]
    doc["objects"][0]["attributes"][0]["value"] = [1, 1.5, "x", None]
    doc["objects"][1]["attributes"][0]["value"] = False
    text = json.dumps(doc).replace('"value": 0}', '"value": -0}').replace("1.5", "1.50e3")
    text = text.replace('"value": -12', '"value": 1E2')
    path = tmp_path / "numbers.jsonocel"
    path.write_text(text)
    assert_bulk_reads(path)
    assert_same(path)


def bad_documents() -> dict[str, str]:
    ok = json.dumps(EXAMPLE)
    docs: dict[str, str] = {
        "truncated": ok[: len(ok) // 2],
        "array": "[1, 2]",
        "ocel1": json.dumps({"ocel:global-log": {}, "ocel:events": {}, "ocel:objects": {}}),
        "no objects key": json.dumps({"objectTypes": [], "eventTypes": [], "rows": []}),
        "empty but valid": json.dumps(
            {"objectTypes": [], "eventTypes": [], "objects": [], "events": []}
        ),
    }

    cases: dict[str, tuple[list[Any], Any]] = {
        "bad time": (["events", 0, "time"], "9th of January"),
        "feb 30": (["events", 1, "time"], "2022-02-30T10:00:00Z"),
        "time not text": (["events", 2, "time"], 5),
        "no event id": (["events", 3, "id"], None),
        "empty event id": (["events", 3, "id"], ""),
        "float event id": (["events", 3, "id"], 1.5),
        "no event type": (["events", 4, "type"], None),
        "event not an object": (["events", 5], "e"),
        "attributes not a list": (["events", 0, "attributes"], {"a": 1}),
        "attributes empty dict": (["events", 0, "attributes"], {}),
        "relationships not a list": (["events", 0, "relationships"], "x"),
        "relationship not an object": (["events", 0, "relationships"], [1]),
        "empty objectId": (["events", 0, "relationships", 0, "objectId"], ""),
        "attribute without name": (["events", 0, "attributes", 0, "name"], None),
        "value not its type": (["events", 0, "attributes", 0, "value"], {"x": 1}),
        "object time": (["objects", 0, "attributes", 0, "time"], "yesterday"),
        "no object id": (["objects", 1, "id"], None),
        "object not an object": (["objects", 1], []),
        "object type bad": (["objects", 2, "type"], True),
        "declarations not a list": (["eventTypes"], {"a": 1}),
        "declared type without name": (["objectTypes", 0, "name"], None),
        "declared attribute without name": (["eventTypes", 0, "attributes"], [{"type": "x"}]),
    }
    for name, (keys, value) in cases.items():
        docs[name] = changed(set_(keys, value))
    docs["objects after events, bad object"] = (
        '{"objectTypes":[],"eventTypes":[],"events":[],"objects":[{"id":null}]}'
    )
    docs["bad event before malformed end"] = changed(set_(["events", 0, "id"], None))[:-5]
    return docs


BAD = bad_documents()


@pytest.mark.parametrize("case", sorted(BAD))
def test_same_outcome_on_bad_input(tmp_path: Path, case: str) -> None:
    path = tmp_path / "bad.jsonocel"
    path.write_text(BAD[case])
    outcomes = []
    for reader in (read_ocel2_json_fast, read_ocel2_json_ijson):
        try:
            outcomes.append(("ok", tables(read(path, reader))))
        except InputError as exc:
            outcomes.append(("error", str(exc)))
    (kind, fast), (kind_slow, slow) = outcomes
    assert kind == kind_slow, (fast, slow)
    if kind == "error":
        assert fast == slow
    else:
        assert all(fast[t].equals(slow[t]) for t in CANONICAL_TABLES)
    assert gc.isenabled()


def test_missing_file_message(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read(tmp_path / "none.jsonocel", read_ocel2_json_fast)
    assert gc.isenabled()


def key_order_documents() -> dict[str, str]:
    """Documents where the single-pass shortcuts (declarations read up to their first value, the
    objects pass stopped where "events" begins) must not apply."""
    ok = json.dumps(EXAMPLE)
    body = ok[1:-1]
    first = json.dumps({k: EXAMPLE[k] for k in ("objectTypes", "eventTypes")})[1:-1]
    objects = '"objects":' + json.dumps(EXAMPLE["objects"])
    events = '"events":' + json.dumps(EXAMPLE["events"])
    extra_object = '"objects":[{"id":"late","type":"Invoice","attributes":[],"relationships":[]}]'
    extra_types = '"eventTypes":[{"name":"late type","attributes":[{"name":"x","type":"integer"}]}]'
    late_event = json.dumps(
        [
            {
                "id": "late",
                "type": "late type",
                "time": "2022-01-01T00:00:00Z",
                "attributes": [{"name": "x", "value": "12"}],
                "relationships": [],
            }
        ]
    )[1:-1]
    named_events = copy.deepcopy(EXAMPLE)
    named_events["objects"][0]["attributes"].append({"name": "events", "value": "events"})
    no_events = copy.deepcopy(named_events)
    no_events["events"] = []
    return {
        "objects after events": "{" + f"{first},{events},{objects}" + "}",
        "objects repeated": "{" + f"{first},{objects},{events},{extra_object}" + "}",
        "objects repeated before events": "{" + f"{first},{objects},{extra_object},{events}" + "}",
        "event types repeated": "{"
        + f"{first},{objects},{events[:-1]},{late_event}],{extra_types}"
        + "}",
        "events as a name and a value": json.dumps(named_events),
        "no events, events as a name": json.dumps(no_events),
        "plain": "{" + body + "}",
    }


@pytest.mark.parametrize("case", sorted(key_order_documents()))
def test_same_tables_whatever_the_key_order(tmp_path: Path, case: str) -> None:
    path = tmp_path / "keys.jsonocel"
    path.write_text(key_order_documents()[case])
    assert_same(path)
    assert gc.isenabled()


def test_a_staging_failure_on_the_worker_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any) -> None:
        raise RuntimeError("no space left")

    monkeypatch.setattr(TableSink, "add_arrow", fail)
    with pytest.raises(RuntimeError, match="no space left"):
        read(REAL / "ocel20_example.jsonocel", read_ocel2_json_fast)


LEXICAL = {
    "overlong utf-8": b'"\xc0\xaf"',
    "invalid utf-8": b'"\xff\xfe"',
    "raw utf-8": '"caf\u00e9 \U0001f600"'.encode(),
    "escaped pair": b'"\\ud83d\\ude00"',
    "lone surrogate": b'"\\ud800"',
    "control character": b'"a\x01b"',
    "huge exponent": b"1e99999",
    "deep nesting": b"[" * 1100 + b"]" * 1100,
}


@pytest.mark.parametrize("spot", ["an unknown key", "an attribute value"])
@pytest.mark.parametrize("case", sorted(LEXICAL))
def test_same_outcome_on_lexical_edge_cases(tmp_path: Path, case: str, spot: str) -> None:
    """msgspec checks less than ijson where it skips (UTF-8, nesting depth): what it would let
    through goes to the streaming path, so the outcome is the original reader's."""
    text = json.dumps(EXAMPLE).encode()
    events = text.index(b'"events"')
    if spot == "an unknown key":
        at, inserted = text.index(b'"relationships"', events), b'"note": %s, '
    else:
        at = text.index(b'"attributes": [', events) + len(b'"attributes": [')
        inserted = b'{"name": "note", "value": %s}, '
    path = tmp_path / "lexical.jsonocel"
    path.write_bytes(text[:at] + inserted.replace(b"%s", LEXICAL[case]) + text[at:])
    outcomes = []
    for reader in (read_ocel2_json_fast, read_ocel2_json_ijson):
        try:
            outcomes.append(("ok", tables(read(path, reader))))
        except (InputError, UnicodeDecodeError, RecursionError) as exc:  # as the original raises
            outcomes.append(("error", f"{type(exc).__name__}: {exc}"))
    (kind, fast_outcome), (kind_slow, slow_outcome) = outcomes
    assert kind == kind_slow, (fast_outcome, slow_outcome)
    if kind == "error":
        assert fast_outcome == slow_outcome
    else:
        assert all(fast_outcome[t].equals(slow_outcome[t]) for t in CANONICAL_TABLES)


@pytest.mark.parametrize("name", ["order-management.json.gz", "ocel20_example.jsonocel"])
def test_documents_over_the_bulk_limit_stream(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory beyond the tables stays bounded: a document over the limit is left to the streaming
    path, with the same tables."""
    assert bulk._document_size(REAL / name) > 1000
    monkeypatch.setattr(bulk, "BULK_LIMIT", 1000)
    with pytest.raises(Unusual, match="streamed instead"):
        read(REAL / name, read_ocel2_json_bulk)
    assert_same(REAL / name)


def test_attribute_columns_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bulk path builds attribute rows column-wise per batch (values numbered, times parsed
    in bulk): owners with no attributes, null lists, initial values next to changes, values that
    repeat across batches and times Arrow cannot read keep the original's rows and order."""
    monkeypatch.setattr(bulk, "BATCH", 2)
    monkeypatch.setattr(bulk, "STAGE_ROWS", 3)
    doc = odd_document()
    doc["events"][-1]["id"] = "12345"  # a number as an id is left to the streaming path
    objects = doc["objects"]
    objects[0]["attributes"] = None
    objects[1]["attributes"] = [
        {"name": "a", "value": 5},  # no time: the initial value
        {"name": "a", "value": 5, "time": " 2023-01-02T03:04:05+01:00 "},  # parse_time strips
        {"name": "a", "value": "5", "time": "2023-01-02"},
        {"name": "b", "value": None, "time": "2023-01-02T03:04:05.123456Z"},
    ]
    objects[2]["attributes"] = []
    doc["events"][1]["attributes"] = [{"name": "a", "value": 5}, {"name": "c", "value": [1, 2]}]
    doc["events"][2]["attributes"] = None
    path = tmp_path / "attributes.jsonocel"
    path.write_text(json.dumps(doc))
    assert_bulk_reads(path)
    assert_same(path)


@pytest.mark.parametrize(
    ("owner", "change", "message"),
    [
        ("objects", {"name": "big", "value": 2**70}, "beyond the 64-bit integers"),
        ("events", {"name": "big", "value": -(2**70)}, "beyond the 64-bit integers"),
        ("objects", {"name": "t", "value": 1, "time": "not a time"}, "not an ISO 8601"),
    ],
)
def test_attributes_the_bulk_path_leaves(
    tmp_path: Path, owner: str, change: dict[str, Any], message: str
) -> None:
    """An integer beyond 64 bits or an attribute time that cannot be read leaves the bulk path;
    the reader then refuses the file as the original does, naming the file and the record."""
    doc = copy.deepcopy(EXAMPLE)
    doc[owner][0]["attributes"].append(change)
    path = tmp_path / "leaves.jsonocel"
    path.write_text(json.dumps(doc))
    with pytest.raises(Unusual):
        read(path, read_ocel2_json_bulk)
    errors = []
    for reader in (read_ocel2_json_fast, read_ocel2_json_ijson):
        with pytest.raises(InputError) as caught:
            read(path, reader)
        errors.append(str(caught.value))
    assert errors[0] == errors[1]
    assert errors[0].startswith(f"{path}: {owner}[0] ") and message in errors[0]


def test_64_bit_integers_are_kept(tmp_path: Path) -> None:
    doc = copy.deepcopy(EXAMPLE)
    doc["events"][0]["attributes"] += [
        {"name": "top", "value": 2**63 - 1},
        {"name": "bottom", "value": -(2**63)},
    ]
    path = tmp_path / "edges.jsonocel"
    path.write_text(json.dumps(doc))
    assert_bulk_reads(path)
    assert_same(path)
    log = read(path, read_ocel2_json_fast)
    found = log.con.execute(
        "SELECT name, value_integer FROM event_attributes WHERE name IN ('top', 'bottom') "
        "ORDER BY name"
    ).fetchall()
    assert found == [("bottom", -(2**63)), ("top", 2**63 - 1)]
