"""``miner explore``: the real server (a `miner explore` process on uvicorn) driven by a real
Chromium. Counts are checked against `miner stats` with the same filter, the export against the
counts, the token and the loopback binding against real connections."""

from __future__ import annotations

import csv
import io
import json
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from miner.cli import main
from tests.conftest import reallog

LAUNCH = "import sys; from miner.cli import main; sys.exit(main())"


class Running:
    """A `miner explore` process and the URL it printed."""

    def __init__(self, log: Path, *extra: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, "explore", str(log), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        for _ in range(5):
            line = self.process.stdout.readline()
            found = re.search(r"(http://127\.0\.0\.1:(\d+)/\?token=([\w-]+)&lang=\w+)", line)
            if found:
                self.url, self.port, self.token = found[1], int(found[2]), found[3]
                break
        else:
            self.process.kill()
            error = self.process.stderr.read() if self.process.stderr else ""
            self.stop()
            raise AssertionError(f"no URL printed: {error}")

    def api(self, path: str, **query: Any) -> Any:
        query = {"token": self.token, **{k: v if isinstance(v, str) else json.dumps(v)
                                         for k, v in query.items()}}
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}?"
                                    + urllib.parse.urlencode(query), timeout=30) as response:
            body = response.read().decode("utf-8")
        return json.loads(body) if path != "/api/export" else body

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=20)
        finally:
            for pipe in (self.process.stdout, self.process.stderr):
                if pipe is not None:
                    pipe.close()


@pytest.fixture(scope="module")
def receipt() -> Iterator[Running]:
    running = Running(reallog("receipt.xes"), "--lang", "en")
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.stop()


def settled(page: Any, view_contains: str) -> None:
    """Wait until the page has drawn a view whose state holds ``view_contains``."""
    page.wait_for_function("(part) => (document.body.dataset.view || '').includes(part)",
                           arg=view_contains)


def _stats(capsys: pytest.CaptureFixture[str], *filters: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["stats", str(reallog("receipt.xes")), "--json", *filters]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_a_request_without_the_token_is_refused(receipt: Running) -> None:
    for path in ("/", "/api/info", "/static/explore.js", "/api/map"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{receipt.port}{path}", timeout=10)
        assert refused.value.code == 403
        refused.value.close()
    wrong = f"http://127.0.0.1:{receipt.port}/api/info?token=" + "x" * len(receipt.token)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(wrong, timeout=10)
    assert refused.value.code == 403
    refused.value.close()
    assert receipt.api("/api/info") == {"name": "receipt.xes", "object_type": "case",
                                        "object_types": ["case"], "lanes": False,
                                        "cases": 1434, "events": 8577, "activities": 27}


def test_the_server_is_not_reachable_on_another_interface(receipt: Running) -> None:
    addresses = {"127.0.0.2"}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            addresses.add(probe.getsockname()[0])
        except OSError:
            pass
    for address in addresses - {"127.0.0.1"}:
        with socket.socket() as client:
            client.settimeout(5)
            assert client.connect_ex((address, receipt.port)) != 0, address
    with socket.create_connection(("127.0.0.1", receipt.port), timeout=5):
        pass


def test_filter_counts_equal_miner_stats_and_the_export_reads_back_with_them(
        receipt: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    filters = [{"kind": "activity", "values": ["T02 Check confirmation of receipt"]},
               {"kind": "attribute", "name": "org:group", "values": ["Group 1"], "level": "event"}]
    result = receipt.api("/api/map", f=filters)
    first = _stats(capsys, "--with-activity", "T02 Check confirmation of receipt")
    both = _stats(capsys, "--with-activity", "T02 Check confirmation of receipt",
                  "--where", "org:group=Group 1")
    assert result["chips"][0] == {"cases": first["cases"], "events": first["case_events"]}
    assert result["chips"][1] == {"cases": both["cases"], "events": both["case_events"]}
    assert both["cases"] < first["cases"] < 1434
    rows = list(csv.DictReader(io.StringIO(receipt.api("/api/export", format="csv", f=filters))))
    assert len(rows) == both["case_events"]
    assert len({r["case"] for r in rows}) == both["cases"]
    assert {r["activity"] for r in rows} <= {n["id"] for n in result["nodes"]}
    # the OCEL 2.0 and XES exports read back with the same counts
    import miner
    for fmt in ("jsonocel", "xes"):
        written = tmp_path / f"filtered.{fmt}"
        written.write_text(receipt.api("/api/export", format=fmt, f=filters), "utf-8")
        back = miner.read(written)
        try:
            stats = miner.log_statistics(back, case_notion=miner.flatten(back, object_type="case"))
            assert (stats.cases, stats.case_events) == (both["cases"], both["case_events"]), fmt
        finally:
            back.close()


def test_a_slider_changes_the_map_and_a_click_filters_its_cases(
        receipt: Running, page: Any, capsys: pytest.CaptureFixture[str]) -> None:
    page.goto(receipt.url)
    page.wait_for_selector("body[data-ready]")
    svg = page.locator("#map")
    assert int(svg.get_attribute("data-nodes")) == 27
    full_edges = int(svg.get_attribute("data-edges"))
    page.locator("#slider-activities").fill("20")
    settled(page, '"a":0.2')
    assert int(svg.get_attribute("data-nodes")) == 6  # ceil(20 % of 27)
    assert int(svg.get_attribute("data-edges")) < full_edges
    assert page.locator("#map .node").count() == 6
    # clicking an activity adds a chip whose counts are those of `miner stats --with-activity`
    page.locator("#map .node[data-activity='T02 Check confirmation of receipt']").click()
    settled(page, '"kind":"activity"')
    counts = page.locator(".chip .chip-counts").first
    expected = _stats(capsys, "--with-activity", "T02 Check confirmation of receipt")
    assert int(counts.get_attribute("data-cases")) == expected["cases"]
    assert int(counts.get_attribute("data-events")) == expected["case_events"]
    # the view is in the URL: reopening it shows the same chip and slider
    reopened = page.context.new_page()
    reopened.goto(page.url)
    reopened.wait_for_selector("body[data-ready]")
    assert reopened.locator(".chip").count() == 1
    assert reopened.locator("#slider-activities").input_value() == "20"
    reopened.close()
    # removing the chip brings the whole log back
    page.locator(".chip-remove").click()
    settled(page, '"f":[]')
    assert page.locator("#counts").get_attribute("data-cases") == "1434"
    assert not page.errors
    assert all(r.startswith(f"http://127.0.0.1:{receipt.port}/") for r in page.requests)


def test_an_activity_name_with_a_script_payload_is_shown_as_text(
        tmp_path: Path, page: Any) -> None:
    payload = '<img src=x onerror="document.title=\'owned\'">'
    log = tmp_path / "payload.xes"
    log.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><log xes.version="1.0">'
        '<trace><string key="concept:name" value="c1"/>'
        f'<event><string key="concept:name" value="{payload.replace("<", "&lt;").replace(chr(34), "&quot;")}"/>'
        '<date key="time:timestamp" value="2021-01-01T10:00:00+00:00"/></event>'
        '<event><string key="concept:name" value="done"/>'
        '<date key="time:timestamp" value="2021-01-02T10:00:00+00:00"/></event>'
        '</trace></log>', "utf-8")
    running = Running(log)
    try:
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(running.url)
        page.wait_for_selector("body[data-ready]")
        node = page.locator("#map .node").first
        assert page.locator("#map img").count() == 0 and page.locator("img").count() == 0
        assert payload[:33] in node.locator(".node-label").text_content()
        assert page.locator("#tab-variants .sequence").first.text_content().startswith(payload)
        assert page.title() != "owned" and not dialogs
    finally:
        assert running.stop() == 0  # Ctrl-C stops it cleanly


def test_an_object_centric_log_is_explored_on_each_object_type(
        page: Any, capsys: pytest.CaptureFixture[str]) -> None:
    log = reallog("order-management.json.gz")
    running = Running(log, "--object-type", "orders")
    try:
        info = running.api("/api/info", ot="items")
        assert info["object_type"] == "items" and "orders" in info["object_types"]
        for object_type in ("orders", "items"):
            capsys.readouterr()
            assert main(["stats", str(log), "--object-type", object_type, "--json",
                         "--min-duration", "1d"]) == 0
            expected = json.loads(capsys.readouterr().out)
            found = running.api("/api/map", ot=object_type, f=[{"kind": "duration", "min_s": 86400}])
            assert found["chips"] == [{"cases": expected["cases"],
                                       "events": expected["case_events"]}], object_type
        page.goto(running.url)
        page.wait_for_selector("body[data-ready]")
        assert page.locator("#object-type").input_value() == "orders"
        page.locator("#object-type").select_option("items")
        page.wait_for_selector("""body[data-view*='"ot":"items"']""")
        assert page.locator("#counts").get_attribute("data-cases") == str(
            running.api("/api/info", ot="items")["cases"])
    finally:
        assert running.stop() == 0
