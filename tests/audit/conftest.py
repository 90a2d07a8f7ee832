"""Fixtures of the audit tests: the audit of the ingested year (``year_conformance``, no allowlist)
and the audit of the same result with an allowlist that accepts every wrong-lane deviation and has
one expired entry; each written once per session with :func:`miner.audit.write_audit`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from miner.audit import write_audit
from miner.conformance.allowlist import apply_allowlist, read_allowlist
from miner.conformance.check import CategoryCount, Conformance
from miner.conformance.deviations import CATEGORIES, Deviation
from tests.conftest import CONFORMANCE_AS_OF, Ingested

ALLOWLIST = """\
[[accept]]
category = "wrong_lane"
reason = "Ter Apel: <b>capacity</b> is short, agreed in the LKO"
expires = 2030-12-31

[[accept]]
category = "late"
activity = "Uitvoeren medische check (dag 2)"
reason = "weekend arrivals are checked on Monday"
expires = 2025-06-30
"""


@dataclass(frozen=True)
class Audit:
    """One written audit: the files, the conformance result it shows, its results."""

    html: Path
    annex: Path
    results_file: Path
    conformance: Conformance
    results: dict[str, Any]
    allowlist: Path | None = None


def _written(html: Path, conformance: Conformance, allowlist: Path | None = None) -> Audit:
    results_file = html.with_name(html.stem + ".results.json")
    return Audit(html, html.with_name(html.stem + "-annex.csv"), results_file, conformance,
                 json.loads(results_file.read_text(encoding="utf-8")), allowlist)


@pytest.fixture(scope="session")
def audit(ingested_year: Ingested, year_conformance: Conformance,
          tmp_path_factory: pytest.TempPathFactory) -> Audit:
    """The Dutch audit of the year, without allowlist."""
    html = tmp_path_factory.mktemp("audit") / "audit.html"
    assert write_audit(ingested_year.workspace, year_conformance, html) == html
    return _written(html, year_conformance)


def with_allowlist(c: Conformance, path: Path) -> Conformance:
    """``c`` as if checked with the allowlist ``path``: the deviations split again and the counts
    made anew. (The rates are left as they are: the audit shows what it is given, and a real
    second check of the year would cost 40 s.)"""
    every = sorted([*c.deviations, *c.accepted], key=lambda d: d.sort_key())
    findings, accepted, expired = apply_allowlist(
        [replace(d, accepted_by=None) for d in every], read_allowlist(path), CONFORMANCE_AS_OF)
    return replace(recount(c, findings, accepted), expired=expired)


def recount(c: Conformance, findings: Sequence[Deviation], accepted: Sequence[Deviation]
            ) -> Conformance:
    """``c`` with these findings and accepted deviations, and the counts made for them."""
    counts = tuple(CategoryCount(
        cat, sum(d.category == cat for d in findings),
        len({d.foreigner for d in findings if d.category == cat}),
        sum(d.category == cat for d in accepted)) for cat in CATEGORIES)
    return replace(c, deviations=tuple(findings), accepted=tuple(accepted), counts=counts)


@pytest.fixture(scope="session")
def allowed(ingested_year: Ingested, year_conformance: Conformance,
            tmp_path_factory: pytest.TempPathFactory) -> Audit:
    """The English audit of the year with :data:`ALLOWLIST` (wrong_lane accepted, entry 2
    expired)."""
    folder = tmp_path_factory.mktemp("allowed")
    allowlist = folder / "allow.toml"
    allowlist.write_text(ALLOWLIST, encoding="utf-8")
    conformance = with_allowlist(year_conformance, allowlist)
    html = folder / "allowed.html"
    write_audit(ingested_year.workspace, conformance, html, lang="en", allowlist=allowlist)
    return _written(html, conformance, allowlist)
