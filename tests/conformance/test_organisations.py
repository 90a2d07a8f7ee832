"""Organisation names matched through case folding and the aliases of
miner/data/reference/organisations.toml; names that match nothing are listed, not guessed."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from miner.conformance.check import Conformance, check_conformance
from miner.conformance.deviations import Deviation
from miner.conformance.organisations import aliases, match_organisations
from miner.model.log import connect
from miner.simulation import SimulationResult
from tests.conftest import ingest_run

AS_OF = date(2026, 1, 1)
LANES = {"Politie", "IND", "COA", "gemeenten", "rechtspraak", "KMar"}


def test_names_match_by_case_and_alias_and_the_rest_is_listed() -> None:
    matched, unmatched = match_organisations(
        ["gemeente", "Rechtspraak", "Koninklijke  marechaussee", "IND", "politie",
         "Gemeente Utrecht", "C.O.A."], LANES)
    assert matched == {"gemeente": "gemeenten", "Rechtspraak": "rechtspraak",
                       "Koninklijke  marechaussee": "KMar", "IND": "IND", "politie": "Politie"}
    assert unmatched == ("C.O.A.", "Gemeente Utrecht")
    # a model that spells its lane otherwise is matched the same way
    assert match_organisations(["gemeenten"], {"Gemeente"})[0] == {"gemeenten": "Gemeente"}


def test_every_alias_belongs_to_one_organisation() -> None:
    names = aliases()
    assert names["dienst terugkeer en vertrek"] == "DT&V"
    assert names["raad voor de rechtspraak"] == "rechtspraak"
    assert len(set(names.values())) == 12


@pytest.fixture(scope="module")
def short_workspaces(short_run: SimulationResult, tmp_path_factory: pytest.TempPathFactory
                     ) -> tuple[Path, Path]:
    """Two weeks ingested, and a copy whose organisation names are spelt as another log would:
    Politie in lower case, the IND in full, and the COA as a name no alias knows."""
    root = tmp_path_factory.mktemp("orgs")
    plain = ingest_run(short_run, root / "plain.duckdb").workspace
    spelt = root / "spelt.duckdb"
    shutil.copy(plain, spelt)
    con = duckdb.connect(str(spelt))
    for old, new in (("Politie", "politie"), ("IND", "Immigratie- en Naturalisatiedienst"),
                     ("COA", "C.O.A.")):
        con.execute("UPDATE event_attributes SET value_string = ? WHERE value_string = ? "
                    "AND name IN ('organisation', 'performer')", [new, old])
    con.close()
    return plain, spelt


def _check(path: Path) -> Conformance:
    log = connect(path, read_only=True)
    try:
        return check_conformance(log, as_of=AS_OF, workers=1)
    finally:
        log.close()


def test_other_spellings_give_the_same_findings_and_unknown_names_are_listed(
        short_workspaces: tuple[Path, Path]) -> None:
    plain, spelt = (_check(p) for p in short_workspaces)
    con = duckdb.connect(str(short_workspaces[0]), read_only=True)
    coa_events = {e for (e,) in con.execute("""
        SELECT DISTINCT e.event_id FROM events e
        JOIN event_attributes a ON a.event_id = e.event_id AND a.name = 'organisation'
        JOIN event_objects eo ON eo.event_id = e.event_id AND eo.qualifier = 'vreemdeling'
        WHERE a.value_string = 'COA'""").fetchall()}
    assert coa_events and plain.unmatched_organisations == ()
    (listed,) = spelt.unmatched_organisations
    assert listed.name == "C.O.A." and 0 < listed.events <= len(coa_events)

    def key(d: Deviation) -> tuple[object, ...]:
        org = "COA" if d.organisation == "C.O.A." else d.organisation
        return (d.foreigner, d.category, d.activity, org,
                tuple(e.event_id for e in d.evidence))

    def new_lane(d: Deviation) -> bool:
        """A finding the unknown name makes: its step in no lane, its hand-offs unexpected."""
        return (d.category == "wrong_lane" and d.organisation == "C.O.A.") or (
            d.category == "unexpected_handoff" and "C.O.A." in (d.detail or ""))
    # Politie and IND spelt otherwise change nothing; the COA's findings stay, and every COA step
    # of the model is now in no lane
    assert sorted(key(d) for d in spelt.deviations if not new_lane(d)) == sorted(
        key(d) for d in plain.deviations
        if not (d.category == "unexpected_handoff" and "COA" in (d.detail or "")))
    assert sum(d.category == "wrong_lane" and d.organisation == "C.O.A."
               for d in spelt.deviations) == listed.events
