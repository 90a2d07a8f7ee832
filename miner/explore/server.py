"""The explorer's web application: a Starlette app on uvicorn, bound to 127.0.0.1.

Access is by a random token, as Jupyter does: the URL printed at start carries ``?token=…``; the
first page sets it as a cookie (HttpOnly, SameSite=Strict). Every request without the token, in
the query, the ``X-Miner-Token`` header or the cookie, is refused (403), the static assets
included: no token, no data. The page loads only assets shipped in the package (the layout
library dagre among them) and the Content-Security-Policy forbids any other origin.

The HTTP API (JSON; ``f`` is the filter list as JSON, see :mod:`miner.explore.queries`):

======================  =============================================================
``GET /api/info``       the log: name, case notion, object types, cases, events, activities,
                        whether it has lanes (every request takes ``ot``: the case notion)
``GET /api/map``        ``f``, ``activities`` and ``paths`` (shares 0..1), ``metric``;
                        the map and the counts each filter chip keeps
``GET /api/variants``   ``f``, ``top``: the most frequent variants
``GET /api/stats``      ``f``: events per month, case durations, the activity table
``GET /api/cases``      ``f``: the first cases of the view
``GET /api/case``       ``id``: one case's events, attributes and source rows
``GET /api/export``     ``f``, ``format`` (csv, jsonocel, xes): the filtered log as a file
======================  =============================================================

The log is opened once; a lock serialises the queries on its one DuckDB connection.
"""

from __future__ import annotations

import json
import secrets
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from miner.errors import MinerError
from miner.explore import queries
from miner.model.flatten import EventLog

COOKIE = "miner_token"
#: answers of the API kept for views asked again
ANSWERS_KEPT = 256
HEADER = "x-miner-token"
_STATIC = {"explore.js": "text/javascript", "explore.css": "text/css",
           "dagre.min.js": "text/javascript", "texts.json": "application/json"}
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@dataclass
class Explorer:
    """The state of one explorer: the base view (the log on its first case notion), its lanes and
    the lock on its connection. A request may choose another case notion (``ot``)."""

    base: EventLog
    name: str
    lanes: dict[str, str]
    lock: threading.Lock

    def base_for(self, request: Request) -> EventLog:
        """The log flattened on the request's object type (``ot``, default the first one)."""
        chosen = request.query_params.get("ot") or self.base.object_type
        if chosen == self.base.object_type:
            return self.base
        return EventLog(self.base.log, self.base.log.resolve_object_type(chosen))

    def view(self, request: Request) -> EventLog:
        text = request.query_params.get("f") or "[]"
        try:
            specs = json.loads(text)
        except ValueError as exc:
            raise MinerError(f"the filter list is not JSON: {exc}") from exc
        base = self.base_for(request)
        return base.narrowed(*queries.parse_filters(specs, base.log))


def _static(name: str) -> str:
    return (resources.files("miner.explore") / "static" / name).read_text("utf-8")


class TokenMiddleware(BaseHTTPMiddleware):
    """Refuse every request without the token; set the cookie on the first page."""

    def __init__(self, app: Any, token: str) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        given = (request.query_params.get("token") or request.headers.get(HEADER)
                 or request.cookies.get(COOKIE) or "")
        if not secrets.compare_digest(given.encode(), self.token.encode()):
            return PlainTextResponse("403: this explorer needs its token (the URL it printed)",
                                     status_code=403)
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = _CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        if request.query_params.get("token"):
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
        return response


def create_app(explorer: Explorer, token: str) -> Starlette:
    """The Starlette application of ``explorer``, guarded by ``token``."""

    totals: dict[str, tuple[dict[str, int], int]] = {}

    def whole(base: EventLog) -> tuple[dict[str, int], int]:
        """The whole log's cases and events, and its activities, on one case notion (kept)."""
        if base.object_type not in totals:
            totals[base.object_type] = (queries.counts(base), queries.activity_count(base))
        return totals[base.object_type]

    with explorer.lock:
        whole(explorer.base)
        object_types = explorer.base.log.object_types()

    answers: OrderedDict[tuple[str, str], Any] = OrderedDict()

    def api(compute: Callable[[Request], Any]) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            # the log is read-only, so an answer stays right: the same view asked again (a filter
            # removed, back to the whole log) is answered from the last ANSWERS_KEPT answers
            key = (request.url.path, "&".join(sorted(f"{k}={v}" for k, v in
                                                     request.query_params.items() if k != "token")))
            try:
                with explorer.lock:
                    if key not in answers:
                        answers[key] = compute(request)
                        if len(answers) > ANSWERS_KEPT:
                            answers.popitem(last=False)
                    answers.move_to_end(key)
                    return JSONResponse(answers[key])
            except MinerError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return endpoint

    def info(request: Request) -> dict[str, Any]:
        base = explorer.base_for(request)
        total, activities = whole(base)
        return {"name": explorer.name, "object_type": base.object_type,
                "object_types": object_types, "lanes": bool(explorer.lanes), **total,
                "activities": activities}

    def process_map(request: Request) -> dict[str, Any]:
        view = explorer.view(request)
        q = request.query_params
        result = queries.process_map(
            view, activity_share=float(q.get("activities", 1)), path_share=float(q.get("paths", 1)),
            metric=q.get("metric", "frequency"), lanes=explorer.lanes)
        return {**result, "total": whole(explorer.base_for(request))[0]}

    def variants(request: Request) -> dict[str, Any]:
        return queries.variant_list(explorer.view(request),
                                    top=int(request.query_params.get("top", 50)))

    def stats(request: Request) -> dict[str, Any]:
        return queries.statistics(explorer.view(request))

    def cases(request: Request) -> list[dict[str, Any]]:
        return queries.case_list(explorer.view(request))

    def case(request: Request) -> dict[str, Any]:
        return queries.case_detail(explorer.base_for(request), request.query_params.get("id", ""))

    def export(request: Request) -> Response:
        fmt = request.query_params.get("format", "csv")
        try:
            with explorer.lock, tempfile.TemporaryDirectory(prefix="miner-export-") as folder:
                file = queries.export_log(explorer.view(request), fmt, Path(folder))
                body = file.read_bytes()
        except MinerError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return Response(body, media_type=queries.EXPORTS[fmt][1], headers={
            "Content-Disposition": f'attachment; filename="{file.name}"'})

    def page(request: Request) -> Response:
        return Response(_static("index.html"), media_type="text/html")

    def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _STATIC:
            return PlainTextResponse("not found", status_code=404)
        return Response(_static(name), media_type=_STATIC[name])

    routes = [Route("/", page), Route("/static/{name}", static),
              Route("/api/info", api(info)), Route("/api/map", api(process_map)),
              Route("/api/variants", api(variants)), Route("/api/stats", api(stats)),
              Route("/api/cases", api(cases)), Route("/api/case", api(case)),
              Route("/api/export", export)]
    return Starlette(routes=routes, middleware=[Middleware(TokenMiddleware, token=token)])


def lanes_of(base: EventLog) -> dict[str, str]:
    """Activity → lane (the reference model's organisation) for the chain catalogue's activities
    of the log; empty for a log without them."""
    from miner.report.activities import activity_info

    rows = base.log.con.execute("SELECT DISTINCT event_type FROM events").fetchall()
    found = {str(a): activity_info(str(a)) for (a,) in rows}
    return {a: info.lane for a, info in found.items() if info.known}
