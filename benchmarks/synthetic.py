"""A synthetic case-centric log of N events, for benchmarks: a Markov chain over 20 activities.

Cases have 2–30 events (mean about 10); gaps between events are exponential (mean 6 hours).
Deterministic for a given N and seed. Written as Parquet (case_id, activity, timestamp).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ACTIVITIES = [f"Activity {chr(65 + i)}" for i in range(20)]


def synthetic_log(n_events: int, path: Path, *, seed: int = 7) -> Path:
    """Write a synthetic log of exactly ``n_events`` events to ``path`` (Parquet)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, 19, size=n_events // 2 + 2)
    cumulative = np.cumsum(lengths)
    cases = int(np.searchsorted(cumulative, n_events)) + 1
    lengths = lengths[:cases]
    lengths[-1] -= int(cumulative[cases - 1] - n_events)
    lengths = lengths[lengths > 0]
    case_of_event = np.repeat(np.arange(len(lengths)), lengths)
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
    table = pa.table(
        {
            "case_id": pa.array([f"case-{c}" for c in case_of_event.tolist()], pa.string()),
            "activity": pa.array(np.array(ACTIVITIES, dtype=object)[acts].tolist(), pa.string()),
            "timestamp": pa.array(seconds * 1_000_000, pa.timestamp("us", tz="UTC")),
        }
    )
    pq.write_table(table, path)
    return path
