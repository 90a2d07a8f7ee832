"""Property tests: generated partner exports with garbage cells, times at the daylight-saving edges,
unicode and HTML-looking labels. Whatever the rows, every row is accounted for exactly once, and
the order of the rows changes no result."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from miner.ingest import ingest, read_mapping
from miner.model.log import connect
from miner.simulation._people import make_vnummer
from tests.conftest import KEY

MAPPING = """
[source]
name = "gen"
partner = "IND"
files = ["gen*.csv"]
delimiter = ","
timezone = "Europe/Amsterdam"
record_id = "id"

[person]
v_nummer = "vnr"
name = "naam"
date_of_birth = "gebdat"
date_of_birth_format = "%Y-%m-%d"
partner_id = "zaak"
partner_id_type = "gen-zaak"

[[events]]
activity = "code"
codes = "activities"
time = "tijd"
time_format = "%Y-%m-%d %H:%M"

[attributes]
label = "label"

[codes.activities]
"AANM-REG" = "A01"
"AG" = "A14"
"""

TIMES = st.one_of(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2022, 12, 31)).map(
        lambda t: t.strftime("%Y-%m-%d %H:%M")),
    st.sampled_from(["2021-03-28 02:30", "2021-03-28 01:59", "2021-03-28 03:00",
                     "2021-10-31 02:15", "2021-10-31 01:59", "2021-10-31 03:00",
                     "2021-04-31 10:00", "2021-02-29 08:00", "2030-01-01 00:00", "", "  ",
                     "gisteren", "2021-13-01 10:00", "1880-01-01 10:00"]),
)
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
ROW = st.fixed_dictionaries({
    "id": st.sampled_from([f"R{i}" for i in range(80)]),
    "vnr": st.one_of(st.sampled_from([make_vnummer(i) for i in range(1, 6)]),
                     st.sampled_from(["", "123", "12345678901", "abcdefghij", "0000000000"])),
    "naam": st.one_of(st.sampled_from(["Omar Qasim", "Sara Haile", "Ali Ahmadi"]), TEXT),
    "gebdat": st.sampled_from(["1990-05-17", "2001-01-01", "", "31-31-1999", "2021-06-01"]),
    "zaak": st.sampled_from(["Z1", "Z2", "Z3", ""]),
    "code": st.one_of(st.sampled_from(["AANM-REG", "AG", "AANM-RGE", "", "<script>x</script>"]), TEXT),
    "tijd": TIMES,
    "label": st.one_of(TEXT, st.sampled_from(["<b>vet</b>", "a,b", 'a "quoted" b', "ë ı ø 漢"])),
})


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ROW_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)


ROW_COLUMNS = ("id", "vnr", "naam", "gebdat", "zaak", "code", "tijd", "label")


def _result(folder: Path, rows: list[dict[str, str]], name: str) -> dict[str, object]:
    mapping_path = folder / "gen.toml"
    mapping_path.write_text(MAPPING, encoding="utf-8")
    export = folder / f"gen_{name}.csv"
    _write(export, rows)
    log = connect(None)
    summary = ingest(log, [export], key=KEY, mappings=[read_mapping(mapping_path)],
                     as_of=datetime(2026, 1, 1, tzinfo=UTC))
    con: duckdb.DuckDBPyConnection = log.con

    def rows_of(sql: str) -> list[tuple[object, ...]]:
        return sorted(con.execute(sql).fetchall(), key=repr)

    result = {
        "rec": rows_of("SELECT rows_read, rows_to_events, rows_quarantined, duplicate_rows, "
                       "events_made FROM ingest_reconciliation"),
        "events": rows_of("SELECT event_id, event_type, timestamp FROM events"),
        "attributes": rows_of("SELECT event_id, name, value_string FROM event_attributes"),
        "e2o": rows_of("SELECT event_id, object_id, qualifier FROM event_objects"),
        "quarantined": rows_of("SELECT rule, count(*) FROM ingest_quarantine GROUP BY rule"),
        "issues": rows_of("SELECT rule, count(*) FROM ingest_issues GROUP BY rule"),
        "summary_rows": summary.rows,
    }
    log.close()
    return result


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, min_size=1, max_size=40), seed=st.integers(0, 1000))
def test_accounting_adds_up_and_order_does_not_matter(
    rows: list[dict[str, str]], seed: int, tmp_path: Path
) -> None:
    # identical copies of a row are allowed (duplicates); make some on purpose
    rows = rows + rows[: len(rows) // 4]
    result = _result(tmp_path, rows, "a")
    (read, to_events, quarantined, duplicates, made), = result["rec"]  # type: ignore[misc]
    assert read == len(rows) == result["summary_rows"]
    assert read == to_events + quarantined + duplicates
    assert made == to_events == len(result["events"])  # type: ignore[arg-type]
    assert sum(n for _, n in result["quarantined"]) == quarantined + duplicates  # type: ignore[union-attr]
    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)
    assert _result(tmp_path, shuffled, "b") == result
