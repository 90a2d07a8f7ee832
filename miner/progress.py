"""Progress bars for long work, shown on a terminal only.

A bar appears when stderr is a terminal and the work has run for a second; scripts, pipes and CI see
nothing. Readers report progress in bytes of the input file consumed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Progress(Protocol):
    def __call__(self, done: int) -> None:
        """Report that ``done`` units (bytes of input) are complete so far."""


def _silent(done: int) -> None:
    return None


@contextmanager
def progress_bar(
    description: str, total: int | None, *, enabled: bool | None = None
) -> Iterator[Progress]:
    """A callback that updates a transient rich progress bar after the first second of work."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield _silent
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.progress import (
        Progress as RichProgress,
    )

    started = time.monotonic()
    bar = RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        transient=True,
    )
    task = bar.add_task(description, total=total)
    shown = False

    def update(done: int) -> None:
        nonlocal shown
        if not shown and time.monotonic() - started >= 1.0:
            bar.start()
            shown = True
        bar.update(task, completed=done)

    try:
        yield update
    finally:
        if shown:
            bar.stop()


@contextmanager
def spinner(description: str, *, enabled: bool | None = None) -> Iterator[None]:
    """A transient spinner for work whose size is unknown (a long query); terminal only, and only
    once the work has run for a second."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield
        return
    import threading

    from rich.console import Console

    done = threading.Event()
    console = Console(stderr=True)

    def show() -> None:
        if done.wait(1.0):
            return
        with console.status(description):
            done.wait()

    thread = threading.Thread(target=show, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
