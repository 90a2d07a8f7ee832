"""Top-level operations that the command line mirrors one to one."""

from __future__ import annotations

from pathlib import Path

from miner.formats import WORKSPACE_EXTENSION, extension, read, write
from miner.formats.tables import ColumnMapping
from miner.model.log import Log


def convert(
    source: str | Path,
    target: str | Path,
    *,
    object_type: str | None = None,
    mapping: ColumnMapping | None = None,
) -> Log:
    """Convert ``source`` to ``target``, formats chosen by extension (see :mod:`miner.formats`).

    A ``.duckdb`` target is a workspace: the source is imported into it (appended when it exists).
    If the import fails, an existing workspace is left as it was and a new one is not left behind.
    Writing XES needs a case notion: ``object_type`` (optional when the log has one type).
    Returns the log read (in memory, or the workspace).
    """
    target = Path(target)
    if extension(target) == WORKSPACE_EXTENSION and extension(Path(source)) != WORKSPACE_EXTENSION:
        return read(source, workspace=target, mapping=mapping)
    log = read(source, mapping=mapping)
    write(log, target, object_type=object_type)
    return log
