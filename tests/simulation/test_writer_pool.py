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


CLOSE_AFTER_DEATH = """
from pathlib import Path
import sys
from miner.errors import MinerError
from miner.simulation._exports import SPECS, WriterPool

if __name__ == "__main__":
    pool = WriterPool(Path(sys.argv[1]))
    pool.proc.kill()
    pool.proc.join()
    key = next(k for k, spec in SPECS.items() if not spec.per_year)
    for _ in range(15_000):  # one batch, under the automatic flush: close() sends it
        pool.write(key, ["x" * 40], 2021)
    try:
        pool.close()
    except MinerError as exc:
        print("raised:", exc)
"""


def test_closing_after_the_writer_died_raises_and_the_interpreter_exits(tmp_path: Path) -> None:
    """The batch close() sends is larger than a pipe holds: with the queue's feeder thread left
    waiting for a reader that is gone, the interpreter would hang at exit."""
    import subprocess
    import sys

    script = tmp_path / "close_after_death.py"
    script.write_text(CLOSE_AFTER_DEATH, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "out")], check=False,
                          timeout=120, capture_output=True, text=True,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    assert "raised: the export writer process stopped (exit code -9)" in done.stdout
