"""``miner explore``: an interactive process explorer in the browser, on any log and on the chain.

:func:`open_explorer` opens the log (a workspace read-only, a file into memory) on its case
notion; :func:`serve` runs the web application (:mod:`miner.explore.server`) on 127.0.0.1 until
Ctrl-C. What the page shows is computed on the server (:mod:`miner.explore.queries`).
"""

from __future__ import annotations

import secrets
import socket
import threading
from pathlib import Path

from miner.explore.server import Explorer, create_app, lanes_of
from miner.model.flatten import EventLog

__all__ = ["Explorer", "create_app", "open_explorer", "serve"]


def open_explorer(source: str | Path, *, object_type: str | None = None) -> Explorer:
    """The explorer of ``source``: a ``.duckdb`` workspace opened read-only, or a log file read
    into memory; the case notion ``object_type`` (default ``vreemdeling`` where the log has it,
    else the only object type)."""
    from miner.formats import WORKSPACE_EXTENSION, extension, read
    from miner.formats._input import check_file
    from miner.model.log import connect

    path = Path(source)
    check_file(path)
    log = (connect(path, read_only=True) if extension(path) == WORKSPACE_EXTENSION
           else read(path))
    try:
        types = log.object_types()
        chosen = object_type or ("vreemdeling" if "vreemdeling" in types else None)
        base = EventLog(log, log.resolve_object_type(chosen))
        return Explorer(base, path.name, lanes_of(base), threading.Lock())
    except BaseException:
        log.close()
        raise


def serve(explorer: Explorer, *, port: int = 0, lang: str = "nl", token: str | None = None,
          ready: threading.Event | None = None, announce: bool = True) -> None:
    """Serve ``explorer`` on 127.0.0.1:``port`` (0: a free port) until interrupted; prints the
    URL with its token. ``ready`` is set once the server listens (for tests)."""
    import uvicorn

    token = token or secrets.token_urlsafe(24)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)  # connections wait in the backlog from now on, before uvicorn accepts them
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/?token={token}&lang={lang}"
    if announce:
        print(f"miner explore: {explorer.name} ({explorer.base.object_type}) at\n    {url}\n"
              "Open it in a browser on this machine; Ctrl-C stops the explorer.", flush=True)
    config = uvicorn.Config(create_app(explorer, token), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    if ready is not None:
        threading.Thread(target=_signal_when_started, args=(server, ready), daemon=True).start()
    server.run(sockets=[sock])


def _signal_when_started(server: object, ready: threading.Event) -> None:
    import time

    while not getattr(server, "started", False):
        time.sleep(0.01)
    ready.set()
