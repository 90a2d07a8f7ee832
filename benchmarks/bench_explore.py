"""The explorer's speed: a scripted session of 50 interactions replayed against its HTTP API.

``python benchmarks/bench_explore.py --events N`` makes the workspace of the synthetic log with
resources (``benchmarks/synthetic.py``, as ``bench_questions.py``), starts ``miner explore`` on it
as its own process (the real server), and replays a session an analyst would click through: the
first map, slider moves, metric changes, filters added one by one (activity present, time window
in its three modes, resource attribute, variant, duration, follows, start activity) and removed,
the variants, statistics and case lists of each view, and a case. One interaction is what the page
requests for it (a map with the chips' counts; a variants, statistics or cases list); its time is
from the request to the last byte. Prints every interaction, p50 / p95 / max, and the target
(p95 <= 150 ms at 10^6 events, <= 1 s at 10^7), and appends a row to benchmarks/out/results.jsonl.
Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
OUT = HERE / "out"
LAUNCH = "import sys; from miner.cli import main; sys.exit(main())"


def workspace(n: int) -> Path:
    sys.path.insert(0, str(HERE))
    from bench_questions import mapping
    from synthetic import synthetic_log

    import miner

    OUT.mkdir(exist_ok=True)
    parquet = synthetic_log(n, OUT / f"synthetic-{n}-res.parquet", resources=True)
    path = OUT / f"explore-{n}.duckdb"
    if not path.exists():
        miner.read(parquet, workspace=path, mapping=mapping()).close()
    return path


def session(activities: list[str], first_case: str) -> list[tuple[str, str, dict[str, Any]]]:
    """The 50 interactions: (label, path, query without the token)."""
    a, b, c = activities[:3]
    steps: list[tuple[str, str, dict[str, Any]]] = []
    filters: list[dict[str, Any]] = []

    def view(label: str, **extra: Any) -> None:
        steps.append((label, "/api/map", {"f": list(filters), "activities": 1, "paths": 0.3,
                                           "metric": "frequency", **extra}))

    def lists(label: str) -> None:
        steps.append((f"{label}: variants", "/api/variants", {"f": list(filters), "top": 50}))
        steps.append((f"{label}: statistics", "/api/stats", {"f": list(filters)}))

    view("first map")
    lists("first view")
    for share in (0.2, 0.5, 0.8):
        view(f"activities slider {share:.0%}", activities=share)
    for share in (0.1, 0.6, 1.0):
        view(f"paths slider {share:.0%}", paths=share)
    for metric in ("mean", "median", "p90", "total"):
        view(f"metric {metric}", metric=metric)
    added = [
        ("activity present", {"kind": "activity", "values": [a]}),
        ("time window, events", {"kind": "time", "start": "2021-02-01T00:00:00+00:00",
                                 "end": "2021-10-01T00:00:00+00:00", "mode": "events"}),
        ("resource attribute", {"kind": "attribute", "name": "org:resource",
                                "values": ["R01", "R02", "R03", "R04", "R05"], "level": "event"}),
        ("follows", {"kind": "follows", "source": a, "target": b, "directly": False}),
        ("start activity", {"kind": "endpoint", "activities": [a, b], "side": "start"}),
    ]
    for label, spec in added:
        filters.append(spec)
        view(f"+ {label}")
        lists(f"+ {label}")
        steps.append((f"+ {label}: cases", "/api/cases", {"f": list(filters)}))
    while filters:
        filters.pop()
        view(f"- filter ({len(filters)} left)")
    for mode in ("contained", "intersecting"):
        filters[:] = [{"kind": "time", "start": "2021-03-01T00:00:00+00:00",
                       "end": "2021-06-01T00:00:00+00:00", "mode": mode}]
        view(f"time window, {mode}")
        lists(f"time window, {mode}")
    filters[:] = [{"kind": "duration", "min_s": 86400, "max_s": 30 * 86400}]
    view("case duration 1-30 d")
    filters[:] = [{"kind": "activity", "values": [c], "retain": False}]
    view("activity absent")
    lists("activity absent")
    filters[:] = []
    steps.append(("one case", "/api/case", {"id": first_case}))
    view("back to the whole log")
    return steps[:50]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    path = workspace(args.events)
    process = subprocess.Popen([sys.executable, "-c", LAUNCH, "explore", str(path)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = ""
    while "token=" not in line:
        line = process.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=([\w-]+)", line)
    assert found, line
    port, token = found[1], found[2]

    def get(route: str, query: dict[str, Any]) -> tuple[float, int]:
        encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in query.items()}
        url = f"http://127.0.0.1:{port}{route}?" + urllib.parse.urlencode({"token": token, **encoded})
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=600) as response:
            body = response.read()
        return time.perf_counter() - started, len(body)

    try:
        get("/api/info", {})
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/stats?token={token}&f=[]") as r:
            activities = [a["activity"] for a in json.loads(r.read())["activities"]]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/cases?token={token}&f=[]") as r:
            first_case = json.loads(r.read())[0]["case"]
        times = []
        for label, route, query in session(activities, first_case):
            seconds, size = get(route, query)
            times.append(seconds)
            print(f"{label:<42} {1000 * seconds:8.1f} ms {size / 1024:8.1f} KiB", flush=True)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    ordered = sorted(times)
    p50 = ordered[len(ordered) // 2]
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    target = 0.150 if args.events <= 1_000_000 else 1.0
    print(f"\n{len(times)} interactions at {args.events:,} events: p50 {1000 * p50:.0f} ms, "
          f"p95 {1000 * p95:.0f} ms, max {1000 * ordered[-1]:.0f} ms; target p95 <= "
          f"{1000 * target:.0f} ms: {'met' if p95 <= target else 'MISSED'}")
    OUT.mkdir(exist_ok=True)
    with (OUT / "results.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps({"bench": "explore", "events": args.events, "p50_s": p50, "p95_s": p95,
                            "max_s": ordered[-1], "interactions": len(times),
                            "machine": platform.platform()}) + "\n")


if __name__ == "__main__":
    main()
