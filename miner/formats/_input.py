"""Opening input files safely: existence, emptiness, gzip, progress, and XML without entities."""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from lxml import etree

from miner.errors import InputError, UnsafeInputError
from miner.progress import Progress


class _CountingReader(io.RawIOBase):
    """Wraps a raw file and reports the bytes read so far to a progress callback."""

    def __init__(self, raw: IO[bytes], progress: Progress | None) -> None:
        self._raw = raw
        self._progress = progress
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.consumed += n
        if self._progress is not None:
            self._progress(self.consumed)
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def check_file(path: Path) -> None:
    """Raise :class:`InputError` if ``path`` is missing, a directory, or empty."""
    if not path.exists():
        raise InputError(f"{path}: no such file. Check the path (relative paths start at {Path.cwd()}).")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a log file.")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); nothing to read. Was the export cut off?")


def open_binary(path: Path, progress: Progress | None = None) -> IO[bytes]:
    """Open ``path`` for reading, decompressing ``.gz`` transparently; progress counts file bytes."""
    check_file(path)
    # The caller owns and closes the stream this returns.
    raw: IO[bytes] = io.BufferedReader(_CountingReader(open(path, "rb"), progress), 1 << 20)  # noqa: SIM115
    if path.suffix == ".gz":
        stream: IO[bytes] = _OwningGzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        try:
            head = stream.peek(1) if hasattr(stream, "peek") else b"x"
        except (OSError, EOFError, zlib.error) as exc:
            stream.close()
            raise InputError(f"{path}: not a readable gzip file ({exc}).") from exc
        if not head:
            stream.close()
            raise InputError(f"{path}: the compressed file holds no data.")
        return stream
    return raw


class _OwningGzipFile(gzip.GzipFile):
    """A GzipFile that also closes the file it reads from (``GzipFile`` leaves a ``fileobj`` open)."""

    def close(self) -> None:
        inner = self.fileobj
        try:
            super().close()
        finally:
            if isinstance(inner, io.IOBase):
                inner.close()


_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")


def check_xml_prolog(path: Path, head: bytes) -> None:
    """Refuse XML whose DOCTYPE declares entities (billion laughs, external entities).

    ``head`` is the start of the (decompressed) document. An OCEL or XES file never needs a DTD,
    so any entity declaration is refused before the parser sees it.
    """
    doctype = _DOCTYPE.search(head)
    if doctype is None:
        return
    body = _FIRST_ELEMENT.search(head, doctype.end())
    if _ENTITY.search(head, doctype.end(), body.start() if body else len(head)) or body is None:
        line = head[: doctype.start()].count(b"\n") + 1
        raise UnsafeInputError(
            f"{path}: line {line}: the document type declaration defines entities. miner refuses "
            "XML entity declarations (they allow entity-expansion bombs and reading other files); "
            "event logs never need them. Remove the <!DOCTYPE ...> block."
        )


def iterparse(path: Path, stream: IO[bytes], **kwargs: Any) -> Iterator[tuple[str, Any]]:
    """``lxml.etree.iterparse`` with entities, DTDs and the network off; errors name file and line.

    The caller must clear elements it has handled to keep memory flat.
    """
    buffered: Any = stream if hasattr(stream, "peek") else io.BufferedReader(stream)
    head = buffered.peek(1 << 16)[: 1 << 16]
    if not head.strip():
        raise InputError(f"{path}: the document is empty (only whitespace).")
    check_xml_prolog(path, head)
    parser = etree.iterparse(
        buffered,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        **kwargs,
    )
    try:
        yield from parser
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (None, None)
        raise InputError(
            f"{path}: line {line}, column {column}: malformed XML ({exc.msg}). The file may be "
            "truncated or not XML; nothing was imported."
        ) from exc
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: cannot read the file ({exc}); it may be truncated.") from exc
