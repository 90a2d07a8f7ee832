"""A synthetic case-centric log of N events, for benchmarks: a Markov chain over 20 activities.

Cases have 2–18 events (mean about 10); gaps between events are exponential (mean 6 hours).
Deterministic for a given N and seed. Written as Parquet (case_id, activity, timestamp). Logs of up
to ``CHUNK`` events are generated in one piece; larger ones (10^8 for the out-of-core benchmark) are
written chunk by chunk, so memory stays that of one chunk. With ``resources=True`` each event also
has an ``org:resource`` (one of ``RESOURCES``, uniform), drawn from a generator of its own, so the
other three columns are byte-identical to those of the log without resources.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ACTIVITIES = [f"Activity {chr(65 + i)}" for i in range(20)]
CHUNK = 10_000_000
RESOURCES = [f"R{i:02d}" for i in range(1, 31)]
SCHEMA = pa.schema([("case_id", pa.string()), ("activity", pa.string()),
                    ("timestamp", pa.timestamp("us", tz="UTC"))])
RESOURCE_SCHEMA = SCHEMA.append(pa.field("org:resource", pa.string()))
#: Mixed into the seed of the resource generator ("res"): a stream apart from the other columns'.
_RESOURCE_STREAM = 0x726573


def _resource_rng(seed: int, *chunk: int) -> np.random.Generator:
    return np.random.default_rng([seed, *chunk, _RESOURCE_STREAM])


def synthetic_log(n_events: int, path: Path, *, seed: int = 7, resources: bool = False) -> Path:
    """Write a synthetic log of exactly ``n_events`` events to ``path`` (Parquet); an existing file
    of the right size and schema is reused. ``resources``: add the ``org:resource`` column (give
    such a log a file name of its own)."""
    schema = RESOURCE_SCHEMA if resources else SCHEMA
    if path.exists():
        found = pq.ParquetFile(path)
        if found.metadata.num_rows == n_events and found.schema_arrow.equals(schema):
            return path
    if n_events <= CHUNK:
        resource_rng = _resource_rng(seed) if resources else None
        pq.write_table(_chunk(n_events, np.random.default_rng(seed), 0, resource_rng), path)
        return path
    partial = path.with_name(".partial-" + path.name)
    cases = 0
    with pq.ParquetWriter(partial, schema) as writer:
        for i, start in enumerate(range(0, n_events, CHUNK)):
            resource_rng = _resource_rng(seed, i) if resources else None
            table = _chunk(min(CHUNK, n_events - start), np.random.default_rng([seed, i]), cases,
                           resource_rng)
            cases += len(pc.unique(table.column("case_id")))
            writer.write_table(table, row_group_size=1_000_000)
    partial.rename(path)
    return path


def _chunk(n_events: int, rng: np.random.Generator, first_case: int,
           resource_rng: np.random.Generator | None = None) -> pa.Table:
    """``n_events`` events in whole cases numbered from ``first_case``; with ``resource_rng``, an
    ``org:resource`` column drawn from it."""
    lengths = rng.integers(2, 19, size=n_events // 2 + 2)
    cumulative = np.cumsum(lengths)
    cases = int(np.searchsorted(cumulative, n_events)) + 1
    lengths = lengths[:cases]
    lengths[-1] -= int(cumulative[cases - 1] - n_events)
    lengths = lengths[lengths > 0]
    case_of_event = np.repeat(np.arange(len(lengths)), lengths) + first_case
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    position = np.arange(n_events) - np.repeat(starts, lengths)
    # Each activity has a preferred successor; 70 % follow it, 30 % jump at random.
    preferred = rng.permutation(len(ACTIVITIES))
    acts = np.empty(n_events, dtype=np.int64)
    jump = rng.random(n_events) < 0.3
    random_act = rng.integers(0, len(ACTIVITIES), size=n_events)
    first = position == 0
    acts[first] = rng.integers(0, 3, size=int(first.sum()))
    for i in range(1, int(lengths.max())):
        at = np.flatnonzero(position == i)
        acts[at] = np.where(jump[at], random_act[at], preferred[acts[at - 1]])
    gaps = rng.exponential(6 * 3600, size=n_events).astype(np.int64)
    gaps[first] = rng.integers(0, 3 * 365 * 86400, size=int(first.sum()))
    case_start = np.repeat(np.add.reduceat(gaps * first, starts), lengths)
    within = gaps * ~first
    offset = np.cumsum(within) - np.repeat(np.cumsum(within)[starts], lengths)
    seconds = 1_577_836_800 + case_start + offset
    case_ids = pc.binary_join_element_wise("case-", pc.cast(pa.array(case_of_event), pa.string()), "")
    names = pa.DictionaryArray.from_arrays(pa.array(acts.astype(np.int32)), pa.array(ACTIVITIES))
    columns = {
        "case_id": case_ids,
        "activity": pc.cast(names, pa.string()),
        "timestamp": pa.array(seconds * 1_000_000, pa.timestamp("us", tz="UTC")),
    }
    if resource_rng is None:
        return pa.table(columns, schema=SCHEMA)
    drawn = resource_rng.integers(0, len(RESOURCES), size=n_events).astype(np.int32)
    who = pa.DictionaryArray.from_arrays(pa.array(drawn), pa.array(RESOURCES))
    columns["org:resource"] = pc.cast(who, pa.string())
    return pa.table(columns, schema=RESOURCE_SCHEMA)
