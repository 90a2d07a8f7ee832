"""Opening input files: compressed streams close the file under them, bad gzip is refused."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from miner.errors import InputError
from miner.formats._input import open_binary


def test_closing_a_gz_stream_closes_the_file_under_it(tmp_path: Path) -> None:
    path = tmp_path / "log.xes.gz"
    path.write_bytes(gzip.compress(b"<log/>"))
    stream = open_binary(path)
    inner = stream.fileobj  # type: ignore[attr-defined]
    assert stream.read() == b"<log/>"
    stream.close()
    assert inner.closed


def test_a_gz_that_is_not_gzip_is_refused_and_closed(tmp_path: Path) -> None:
    path = tmp_path / "log.xes.gz"
    path.write_bytes(b"<log/> not compressed")
    with pytest.raises(InputError, match="not a readable gzip file"):
        open_binary(path)


def test_an_empty_gz_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "log.xes.gz"
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(InputError, match="holds no data"):
        open_binary(path)
