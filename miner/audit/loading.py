"""Reading a conformance result saved by ``miner conformance`` (:func:`read_conformance_dir`), so the
audit can be made without checking the workspace again.

``conformance.json`` holds every figure but only a sample of the deviations; the full lists are in
``deviations.parquet`` (findings first, then accepted ones, then those read away by an accepted
reading of the model, each in the result's order; ``status`` tells which). The two
together give back the :class:`~miner.conformance.check.Conformance` that was saved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from miner.conformance.check import Conformance
from miner.conformance.cli import DEVIATION_COLUMNS, STATUSES
from miner.errors import InputError
from miner.ingest.sources import file_sha256

__all__ = ["file_sha256", "read_conformance_dir"]


def read_conformance_dir(folder: str | Path) -> Conformance:
    """The :class:`Conformance` saved in ``folder`` by ``miner conformance`` (``conformance.json``
    and the deviations file it names).

    Raises:
        InputError: a file is missing or unreadable, or the deviations file does not hold the
            number of deviations the counts in ``conformance.json`` add up to.
    """
    import pyarrow.parquet as pq

    folder = Path(folder)
    summary_file = folder / "conformance.json"
    try:
        summary: dict[str, Any] = json.loads(summary_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{summary_file}: cannot read a conformance result ({exc}); give the "
                         "folder written by `miner conformance --out DIR`") from exc
    if not isinstance(summary, dict) or summary.get("kind") != "conformance":
        raise InputError(f"{summary_file}: not a conformance result (kind 'conformance')")
    table_file = folder / str(summary.get("deviations_file") or "deviations.parquet")
    try:
        table = pq.read_table(table_file, columns=list(DEVIATION_COLUMNS))
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{table_file}: cannot read the deviations ({exc})") from exc
    lists: dict[str, list[dict[str, Any]]] = {s: [] for s in STATUSES}
    for i, row in enumerate(table.to_pylist(), start=1):
        if row["status"] not in lists:
            raise InputError(f"{table_file}: row {i}, column status: {row['status']!r} is not one "
                             f"of {', '.join(STATUSES)}; write the folder again with `miner "
                             "conformance`")
        lists[row["status"]].append(_deviation(row))
    findings, accepted, read = lists["finding"], lists["accepted"], lists["read"]
    counts = summary.get("counts", [])
    want = (sum(c["deviations"] for c in counts), sum(c["accepted"] for c in counts))
    if (len(findings), len(accepted)) != want or len(read) != summary.get("read_total", 0):
        raise InputError(
            f"{table_file}: holds {len(findings)} findings, {len(accepted)} accepted and "
            f"{len(read)} read deviations, but {summary_file.name} counts {want[0]}, {want[1]} "
            f"and {summary.get('read_total', 0)}; the two files "
            "are not from one run of `miner conformance`")
    try:
        return Conformance.from_dict({**summary, "deviations": findings, "accepted": accepted,
                                      "read": read})
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{summary_file}: not a conformance result this miner reads ({exc})"
                         ) from exc


def _deviation(row: dict[str, Any]) -> dict[str, Any]:
    """A deviations-file row as a :meth:`Deviation.to_dict`-shaped dict (evidence split on ``;``)."""
    parts = [(row[c] or "").split(";") if row[c] else []
             for c in ("event_ids", "sources", "source_rows", "times")]
    evidence = [{"event_id": e, "source": s, "source_row": int(r), "ts": t}
                for e, s, r, t in zip(*parts, strict=True)]
    return {**{c: row[c] for c in (*DEVIATION_COLUMNS[:10], "reading")}, "evidence": evidence}
