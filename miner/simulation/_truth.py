"""The per-foreigner ground truth: which phenomena were planted in whom (docs/simulation.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from miner.simulation._chain import Activity, Foreigner

BATCH = 50_000

_S, _I, _F, _B = pa.string(), pa.int64(), pa.float64(), pa.bool_()
PEOPLE_COLUMNS: tuple[tuple[str, pa.DataType, Any], ...] = (
    ("foreigner", _I, -1),
    ("v_nummer", _S, ""),
    ("given_name", _S, ""),
    ("family_name", _S, ""),
    ("date_of_birth", _S, ""),
    ("sex", _S, ""),
    ("nationality", _S, ""),
    ("origin", _S, ""),
    ("site", _S, ""),
    ("spoor", _S, ""),
    ("arrival", _S, ""),
    ("nachtopvang", _B, False),
    ("nachtopvang_cause", _S, ""),
    ("col_days", _F, None),
    ("hearing_day", _I, None),
    ("no_shows", _I, 0),
    ("no_shows_budel_measure", _I, 0),
    ("budel_measure", _B, False),
    ("double_registration", _B, False),
    ("smartflow_entry", _B, False),
    ("identity_politie", _I, 0),
    ("identity_ind", _I, 0),
    ("identity_dtv", _I, 0),
    ("triple_identity", _B, False),
    ("regietafel_moments", _I, 0),
    ("regietafel2_politie", _B, False),
    ("pre_pol", _B, False),
    ("aa_priority", _B, False),
    ("aa_overtook", _B, False),
    ("aa_entry", _S, ""),
    ("aa_start", _S, ""),
    ("decision", _S, ""),
    ("decision_track", _S, ""),
    ("decision_time", _S, ""),
    ("weeks_to_decision", _F, None),
    ("va", _B, False),
    ("appeals", _I, 0),
    ("appeals_upheld", _I, 0),
    ("permit", _B, False),
    ("housed", _B, False),
    ("permit_wait_days", _F, None),
    ("dtv_source", _S, ""),
    ("departure", _S, ""),
    ("dublin_transfer", _B, False),
    ("kmar_escort", _B, False),
    ("departure_message", _B, False),
    ("dev_skipped_medical", _B, False),
    ("dev_late_medical", _B, False),
    ("dev_repeat_photo", _B, False),
    ("dev_spoor_after_hearing", _B, False),
    ("dev_documents_by_politie", _B, False),
)
FAULT_COLUMNS = (
    "f_duplicate_row",
    "f_missing_timestamp",
    "f_impossible_timestamp",
    "f_misspelt_code",
    "f_missing_vnummer",
    "f_typo_vnummer",
    "f_coa_late_update",
    "f_coa_missing_end",
)
PEOPLE_SCHEMA = pa.schema(
    [pa.field(n, t) for n, t, _ in PEOPLE_COLUMNS] + [pa.field(n, _I) for n in FAULT_COLUMNS]
)


def people_row(truth: dict[str, Any]) -> dict[str, Any]:
    """The ground-truth row from a foreigner's truth dict, with defaults for what did not happen."""
    row = {name: truth.get(name, default) for name, _, default in PEOPLE_COLUMNS}
    row["triple_identity"] = (
        row["identity_politie"] > 0 and row["identity_ind"] > 0 and row["identity_dtv"] > 0
    )
    return row


class TruthWriter:
    """Streams the ground truth to ``truth/rows.parquet`` and ``truth/foreigners.parquet``.

    ``rows.parquet`` has one row per export row: file, row (1-based data row), foreigner, activity
    (catalogue id), label (exact Dutch label), time_local (true time, local, to the minute) and
    fault (empty, or the data fault planted in that row).
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.cols: tuple[list[Any], ...] = tuple([] for _ in range(7))
        self.dictionary: dict[str, int] = {}
        self.act_codes: dict[str, tuple[int, int]] = {}
        self.people: list[dict[str, Any]] = []
        self.row_writer: pq.ParquetWriter | None = None
        self.people_writer: pq.ParquetWriter | None = None
        (out / "truth").mkdir(parents=True, exist_ok=True)

    def row(self, name: str, row: int, fid: int, act: Activity, stamp: str, fault: str) -> None:
        # columnar and dictionary-coded: building Arrow arrays from Python strings is the slow part
        cols = self.cols
        codes = self.act_codes.get(act.id)
        if codes is None or act.id == "KMI":
            codes = self.act_codes[act.id] = (self._code(act.id), self._code(act.label))
        cols[0].append(self._code(name))
        cols[1].append(row)
        cols[2].append(fid)
        cols[3].append(codes[0])
        cols[4].append(codes[1])
        cols[5].append(stamp)
        cols[6].append(self._code(fault))
        if len(cols[1]) >= BATCH:
            self._flush_rows()

    def _code(self, text: str) -> int:
        code = self.dictionary.get(text)
        if code is None:
            code = self.dictionary[text] = len(self.dictionary)
        return code

    def _flush_rows(self) -> None:
        cols = self.cols
        if not cols[1]:
            return
        words = pa.array(list(self.dictionary), pa.string())

        def text(values: list[int]) -> pa.Array:
            return pc.take(words, pa.array(values, pa.int32()))

        table = pa.table(
            {
                "file": text(cols[0]),
                "row": pa.array(cols[1], pa.int64()),
                "foreigner": pa.array(cols[2], pa.int64()),
                "activity": text(cols[3]),
                "label": text(cols[4]),
                "time_local": pa.array(cols[5], pa.string()),
                "fault": text(cols[6]),
            }
        )
        if self.row_writer is None:
            self.row_writer = pq.ParquetWriter(self.out / "truth" / "rows.parquet", table.schema)
        self.row_writer.write_table(table)
        for col in cols:
            col.clear()

    def person(self, f: Foreigner) -> None:
        """Queue the per-foreigner ground-truth row of ``f``."""
        row = people_row(f.truth)
        for name in FAULT_COLUMNS:
            row[name] = int(f.truth.get(name, 0))
        self.people.append(row)
        if len(self.people) >= BATCH:
            self._flush_people()

    def _flush_people(self) -> None:
        if not self.people:
            return
        table = pa.Table.from_pylist(self.people, schema=PEOPLE_SCHEMA)
        if self.people_writer is None:
            path = self.out / "truth" / "foreigners.parquet"
            self.people_writer = pq.ParquetWriter(path, table.schema)
        self.people_writer.write_table(table)
        self.people.clear()

    def close(self) -> None:
        self._flush_rows()
        self._flush_people()
        for writer in (self.row_writer, self.people_writer):
            if writer is not None:
                writer.close()
