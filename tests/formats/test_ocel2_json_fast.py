"""The fast OCEL 2.0 JSON reader gives exactly the tables and the error messages of the original
row-by-row reader (``read_ocel2_json_ijson``): every canonical table, seq and provenance included."""

from __future__ import annotations

import copy
import gc
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from miner.errors import InputError
from miner.formats.ocel2_json import read_ocel2_json, read_ocel2_json_ijson, write_ocel2_json
from miner.formats.ocel2_json_fast import read_ocel2_json_fast
from miner.formats.ocel2_sqlite import read_ocel2_sqlite
from miner.model.loading import TableSink
from miner.model.log import Log, connect
from miner.model.schema import ARROW_SCHEMAS, CANONICAL_TABLES

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "reallogs"


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


def assert_same(path: Path) -> None:
    fast, slow = tables(read(path, read_ocel2_json_fast)), tables(read(path, read_ocel2_json_ijson))
    for table in CANONICAL_TABLES:
        assert fast[table].num_rows == slow[table].num_rows, table
        assert fast[table].equals(slow[table]), table


def test_read_ocel2_json_is_the_fast_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = []
    import miner.formats.ocel2_json_fast as fast

    monkeypatch.setattr(fast, "_read", lambda *args: calls.append(args))
    read_ocel2_json(tmp_path / "x.jsonocel", TableSink(connect(None).con))
    assert len(calls) == 1


@pytest.mark.parametrize("name", ["order-management.json.gz", "ocel20_example.jsonocel"])
def test_same_tables_on_real_logs(name: str) -> None:
    assert_same(REAL / name)


def test_same_tables_on_p2p_written_as_json(tmp_path: Path) -> None:
    log = connect(None)
    sink = TableSink(log.con)
    read_ocel2_sqlite(REAL / "ocel2-p2p.sqlite", sink)
    sink.commit(what="p2p")
    path = tmp_path / "p2p.json.gz"
    write_ocel2_json(log, path)
    assert_same(path)


EXAMPLE = json.loads((REAL / "ocel20_example.jsonocel").read_text())


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


def test_more_events_than_one_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import miner.formats.ocel2_json_fast as fast

    monkeypatch.setattr(fast, "_ROWS", 3)
    path = tmp_path / "odd.jsonocel"
    path.write_text(json.dumps(odd_document()))
    assert_same(path)
    assert_same(REAL / "ocel20_example.jsonocel")


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

    def changed(change: Callable[[dict[str, Any]], None]) -> str:
        doc = copy.deepcopy(EXAMPLE)
        change(doc)
        return json.dumps(doc)

    def set_(keys: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
        def change(doc: dict[str, Any]) -> None:
            target = doc
            for key in keys[:-1]:
                target = target[key]
            target[keys[-1]] = value

        return change

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
