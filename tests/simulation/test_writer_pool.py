"""The simulator's export writer runs in a second process; when that process dies, the simulation
must stop with a clear error instead of waiting forever on a full queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from miner.errors import MinerError
from miner.simulation._exports import SPECS, WriterPool


def test_a_dead_writer_process_is_an_error_not_a_hang(tmp_path: Path) -> None:
    pool = WriterPool(tmp_path)
    pool.proc.kill()
    pool.proc.join()
    key = next(k for k, spec in SPECS.items() if not spec.per_year)
    with pytest.raises(MinerError, match="writer process stopped"):
        for _ in range(20_000 * 12):  # more batches than the queue holds (8)
            pool.write(key, ["x"], 2021)
        pool.close()
