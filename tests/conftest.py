"""Shared fixtures: the real logs beside the project, pm4py as the oracle, the simulated default year
(one run per session), that year ingested (``ingested_year``), its conformance result
(``year_conformance``, computed once per session), a throwaway PostgreSQL server, and a Chromium
``browser``/``page`` for the tests of rendered HTML."""

from __future__ import annotations

import contextlib
import glob
import io
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

import miner
from miner.conformance.check import Conformance, check_conformance
from miner.ingest import IngestSummary, PseudonymKey, ingest
from miner.model.log import connect
from miner.simulation import SimulationResult, simulate


def _reallogs() -> Path:
    """``../shared/reallogs`` beside the project; for a clone made elsewhere (a temporary folder),
    beside the local repository it was cloned from; ``MINER_REALLOGS`` overrides both."""
    if os.environ.get("MINER_REALLOGS"):
        return Path(os.environ["MINER_REALLOGS"])
    project = Path(__file__).resolve().parents[1]
    beside = project.parent / "shared" / "reallogs"
    if beside.exists():
        return beside
    origin = subprocess.run(["git", "-C", str(project), "config", "--get", "remote.origin.url"],
                            capture_output=True, text=True, check=False).stdout.strip()
    if origin and Path(origin).is_dir():
        cloned_from = Path(origin).resolve().parent / "shared" / "reallogs"
        if cloned_from.exists():
            return cloned_from
    return beside


REALLOGS = _reallogs()


def reallog(name: str) -> Path:
    path = REALLOGS / name
    if not path.exists():
        pytest.fail(f"{path} is missing: the real logs live in ../shared/reallogs beside the project")
    return path


def import_pm4py() -> Any:
    """pm4py, imported with its welcome banner kept off stdout."""
    with contextlib.redirect_stdout(io.StringIO()):
        import pm4py
    return pm4py


#: sepsis.csv (a Disco export): semicolons, local Europe/Amsterdam times with milliseconds.
SEPSIS_MAPPING = miner.ColumnMapping(
    activity="Activity",
    timestamp="Complete Timestamp",
    objects={"Case ID": "case"},
    timestamp_format="%Y/%m/%d %H:%M:%S.%g",
    delimiter=";",
    timezone="Europe/Amsterdam",
)


@pytest.fixture(scope="session")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    """The default scenario (2021, one year), seed 1, simulated once per test session."""
    return simulate("default", seed=1, out=tmp_path_factory.mktemp("default"))


@pytest.fixture(scope="session")
def short_run(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    """Two weeks of the default scenario, seed 1."""
    return simulate("default", seed=1, years=0.04, out=tmp_path_factory.mktemp("short"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A throwaway PostgreSQL server in a temp dir, run as the ``postgres`` user; stopped at the end.

    Skips only when the Debian PostgreSQL binaries are absent (CI installs package ``postgresql``).
    """
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL server binaries not installed (/usr/lib/postgresql/*/bin/initdb)")
    bindir = Path(found[-1]).parent
    data = Path(tempfile.mkdtemp(prefix="miner-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(data, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run(
        [
            *as_postgres,
            str(bindir / "initdb"),
            "-D",
            str(data / "db"),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    opts = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [
            *as_postgres,
            str(bindir / "pg_ctl"),
            "-D",
            str(data / "db"),
            "-o",
            opts,
            "-l",
            str(data / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [
                *as_postgres,
                str(bindir / "pg_ctl"),
                "-D",
                str(data / "db"),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(data, ignore_errors=True)

#: The test key (never a real one). Re-identification in the tests uses it as an auditor would.
KEY = PseudonymKey(b"miner-tests-pseudonym-key-0001")
#: A fixed "now", so time_in_future does not depend on when the tests run.
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Ingested:
    """A workspace made by ingesting one simulated run, with its summary and the run."""

    workspace: Path
    summary: IngestSummary
    run: SimulationResult


def ingest_run(run: SimulationResult, workspace: Path) -> Ingested:
    log = connect(workspace)
    try:
        summary = ingest(log, [run.out], key=KEY, as_of=AS_OF)
    finally:
        log.close()
    return Ingested(workspace, summary, run)


@pytest.fixture(scope="session")
def ingested_year(default_run: SimulationResult, tmp_path_factory: pytest.TempPathFactory) -> Ingested:
    """The default year, all partners, ingested with the shipped mappings."""
    return ingest_run(default_run, tmp_path_factory.mktemp("ingest") / "year.duckdb")


#: The allowlist reference date of ``year_conformance`` (fixed, so its results do not age).
CONFORMANCE_AS_OF = date(2026, 1, 1)


@pytest.fixture(scope="session")
def year_conformance(ingested_year: Ingested) -> Conformance:
    """``check_conformance`` of the ingested year against the reference model, no allowlist, as of
    :data:`CONFORMANCE_AS_OF` (about 40 s; computed once per session, read-only)."""
    log = connect(ingested_year.workspace, read_only=True)
    try:
        return check_conformance(log, as_of=CONFORMANCE_AS_OF, workers=2)
    finally:
        log.close()


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """The Debian Chromium driven by playwright (skips when it is not installed)."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (Debian package 'chromium'; CI installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (own context: empty storage, downloads accepted) that records console errors
    (``page.errors``) and every request (``page.requests``)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    opened = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda e: errors.append(str(e)))
    opened.on("request", lambda r: requests.append(r.url))
    opened.errors, opened.requests = errors, requests
    try:
        yield opened
    finally:
        context.close()

