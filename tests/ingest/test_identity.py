"""Identity linking (miner.ingest.identity) on hand-made tables, one per method and edge case. The
oracle test on the simulated year is in test_ingest_simulated.py (through the real ingest)."""

from __future__ import annotations

import json
import random
from datetime import date
from typing import Any

import duckdb
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from miner.ingest.identity import (
    METHODS,
    LinkCounts,
    LinkSettings,
    link_identities,
    normalise_name,
    vnummer_valid,
)
from miner.simulation._people import make_vnummer, typo
from miner.simulation._people import vnummer_valid as sim_vnummer_valid

COLUMNS = ("source", "row", "partner_id", "v_nummer", "full_name", "date_of_birth", "nationality")

# valid V-nummers of the simulator's first foreigners
V1, V2, V3, V4 = (make_vnummer(n) for n in range(1, 5))
DOB = date(1990, 5, 17)


def _table(con: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]], name: str = "r") -> str:
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["row"] = frame["row"].astype("int64")
    con.register("_frame", frame)
    con.execute(
        f"""CREATE OR REPLACE TABLE {name} AS SELECT CAST(source AS VARCHAR) AS source,
            CAST("row" AS BIGINT) AS "row", CAST(partner_id AS VARCHAR) AS partner_id,
            CAST(v_nummer AS VARCHAR) AS v_nummer, CAST(full_name AS VARCHAR) AS full_name,
            CAST(date_of_birth AS DATE) AS date_of_birth, CAST(nationality AS VARCHAR) AS nationality
            FROM _frame"""
    )
    con.unregister("_frame")
    return name


def _link(
    rows: list[tuple[Any, ...]], settings: LinkSettings | None = None
) -> tuple[LinkCounts, dict[tuple[str, int], dict[str, Any]]]:
    con = duckdb.connect()
    _table(con, rows)
    counts = (
        link_identities(con, "r", "o")
        if settings is None
        else link_identities(con, "r", "o", settings)
    )
    cur = con.execute("SELECT * FROM o")
    names = [d[0] for d in cur.description]
    out = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    got = {(r["source"], int(r["row"])): r for r in out}
    assert len(got) == len(out) == len(rows)
    return counts, got


def _known(source: str = "ind", first: int = 1) -> list[tuple[Any, ...]]:
    """Four persons with a valid V-nummer; V3 and V4 share name, date of birth and nationality
    except for one letter (a hard case)."""
    return [
        (source, first, "Z1", V1, "HADDAD Omar", DOB, "SYR"),
        (source, first + 1, "Z2", V2, "YILMAZ Mehmet", date(1985, 1, 2), "TUR"),
        (source, first + 2, "Z3", V3, "KARIMI Reza", date(2000, 3, 4), "AFG"),
        (source, first + 3, "Z4", V4, "KARIMA Reza", date(2000, 3, 4), "AFG"),
    ]


# --- validator and names -------------------------------------------------------------------------
def test_vnummer_valid_garbage() -> None:
    assert (
        vnummer_valid(V1) and vnummer_valid(f"  {V1} ") and vnummer_valid(f"{V1[:4]}\u00a0{V1[4:]}")
    )
    for bad in (
        None,
        "",
        "   ",
        "abcdefghij",
        V1[:9],
        V1 + "0",
        "0" + V1,
        V1[:9] + "x",
        typo(V1, random.Random(3)),
        "0000000000",
        "１" * 10,
    ):
        assert not vnummer_valid(bad), bad


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_vnummer_valid_matches_simulator(value: str) -> None:
    assert vnummer_valid(value) == (sim_vnummer_valid(value) and value != "0000000000")


def test_sql_validator_matches_python() -> None:
    cells = [
        None,
        "",
        " ",
        "\t",
        "abc",
        V1,
        f" {V1}\u00a0",
        V1[:9],
        V1 + "1",
        "0000000000",
        "12345678x0",
        V2,
        typo(V2, random.Random(1)),
        "1" * 10,
    ]
    rows = [("s", i, None, c, None, None, None) for i, c in enumerate(cells)]
    _, got = _link(rows)
    for i, cell in enumerate(cells):
        assert (got[("s", i)]["method"] == "vnummer") == vnummer_valid(cell), cell


def test_normalise_name() -> None:
    assert normalise_name("HADDAD/OMAR") == normalise_name("Omar Haddad") == "haddad omar"
    assert normalise_name("  Çelik,  Ayşe ") == "ayse celik"
    assert normalise_name("Yılmaz Mehmet") == normalise_name("YILMAZ Mehmet")
    assert normalise_name("Al-Hassan Mariam") == normalise_name("Mariam Alhassan")
    assert normalise_name("Y?LMAZ Mehmet") == "mehmet ylmaz"  # '?': a letter cp1252 lacks
    assert normalise_name("Straße") == "strasse"
    assert normalise_name("O’Brien-Smith, Seán") == normalise_name("obriensmith sean")
    assert normalise_name(None) == "" and normalise_name("  / ") == ""


# --- methods on hand-made tables ----------------------------------------------------------------
def test_each_method() -> None:
    rows = [
        *_known(),
        # partner_id: V-nummer missing on a later row of a COA bewonersnummer
        ("coa", 1, "B1", V1, "Omar Haddad", DOB, "SYR"),
        ("coa", 2, "B1", None, "Omar Haddad", DOB, "SYR"),
        # fuzzy: Smartflow entry without V-nummer, other spelling
        ("smartflow", 1, "SF-1", None, "Hadad Umar", DOB, "SYR"),
        # unresolved: nobody with this date of birth
        ("smartflow", 2, "SF-2", None, "Nobody Known", date(1950, 1, 1), "SYR"),
    ]
    counts, got = _link(rows)
    assert got[("ind", 1)]["method"] == "vnummer" and got[("ind", 1)]["confidence"] == 1.0
    assert got[("coa", 2)]["method"] == "partner_id" and got[("coa", 2)]["v_nummer"] == V1
    assert got[("coa", 2)]["reason"] == "V-nummer missing; partner id carries one V-nummer"
    fz = got[("smartflow", 1)]
    assert fz["method"] == "fuzzy" and fz["v_nummer"] == V1 and fz["candidates"] == 1
    assert 0.7 < fz["confidence"] < 1.0
    un = got[("smartflow", 2)]
    assert un["method"] == "unresolved" and un["v_nummer"] is None and un["confidence"] == 0.0
    assert un["reason"].endswith("no candidate with this date of birth and nationality")
    assert counts == LinkCounts(
        rows=8, by_method={"vnummer": 5, "partner_id": 1, "fuzzy": 1, "unresolved": 1}, unresolved=1
    )
    assert json.loads(json.dumps(counts.to_dict())) == counts.to_dict()
    assert set(counts.by_method) == set(METHODS)


def test_partner_id_with_two_vnummers_is_not_used() -> None:
    rows = [
        *_known(),
        ("dtv", 1, "DTV1", V1, "Omar Haddad", DOB, "SYR"),
        ("dtv", 2, "DTV1", V2, "Mehmet Yilmaz", date(1985, 1, 2), "TUR"),
        # same dossier, no V-nummer: the dossier cannot tell; the name can
        ("dtv", 3, "DTV1", "", "Mehmet Yilmaz", date(1985, 1, 2), "TUR"),
        # ... and without a date of birth nothing can
        ("dtv", 4, "DTV1", None, "Mehmet Yilmaz", None, "TUR"),
    ]
    _, got = _link(rows)
    assert got[("dtv", 3)]["method"] == "fuzzy" and got[("dtv", 3)]["v_nummer"] == V2
    assert "partner id carries 2 different V-nummers" in got[("dtv", 3)]["reason"]
    un = got[("dtv", 4)]
    assert un["method"] == "unresolved" and un["v_nummer"] is None
    assert "partner id carries 2 different V-nummers" in un["reason"]
    assert "no date of birth" in un["reason"]


def test_partner_ids_are_per_source() -> None:
    rows = [*_known(), ("kmar", 1, "Z1", None, None, None, None)]  # "Z1" is an IND id
    _, got = _link(rows)
    assert got[("kmar", 1)]["method"] == "unresolved"


def test_ambiguous_fuzzy_is_unresolved() -> None:
    # KARIMI Reza and KARIMA Reza: same date of birth and nationality, names one letter apart
    rows = [*_known(), ("coa", 1, None, None, "Reza Karimu", date(2000, 3, 4), "AFG")]
    _, got = _link(rows)
    un = got[("coa", 1)]
    assert un["method"] == "unresolved" and un["v_nummer"] is None and un["candidates"] == 2
    assert "two candidates within margin: scores 90.9 and 90.9" in un["reason"]


def test_typo_vnummer_breaks_a_tie() -> None:
    # the ambiguous name again, but the raw cell is one edit from V4: a digit changed, two
    # neighbours swapped, a digit dropped
    assert V4 == "2003484361"
    rows = [*_known()] + [
        ("coa", i, None, cell, "Reza Karimu", date(2000, 3, 4), "AFG")
        for i, cell in enumerate(("2003404361", "2003448361", "200348436"))
    ]
    _, got = _link(rows)
    for i in range(3):
        r = got[("coa", i)]
        assert r["method"] == "fuzzy" and r["v_nummer"] == V4 and r["candidates"] == 2, r
        assert r["reason"].endswith(
            "best of 2 candidates scores 100.9, runner-up 90.9 (+10: the mistyped V-nummer is one "
            "edit from the candidate's)"
        ), r


def test_typo_vnummer_without_date_of_birth() -> None:
    wrong = V2[:9] + str((int(V2[9]) + 3) % 10)
    rows = [*_known(), ("kmar", 1, None, wrong, "YILMAZ/MEHMET", None, None)]
    _, got = _link(rows)
    assert got[("kmar", 1)]["method"] == "fuzzy" and got[("kmar", 1)]["v_nummer"] == V2


def test_typo_vnummer_alone_is_not_enough() -> None:
    # one digit from V2 but another name and date of birth: never merged on the number alone
    wrong = V2[:9] + str((int(V2[9]) + 3) % 10)
    rows = [*_known(), ("kmar", 1, None, wrong, "OKAFOR/JOY", date(1985, 1, 2), "TUR")]
    _, got = _link(rows)
    assert got[("kmar", 1)]["method"] == "unresolved"
    assert "below the threshold" in got[("kmar", 1)]["reason"]


def test_garbage_cells() -> None:
    cells = ["", "   ", "onbekend", V1 + "7", V1[:9], "-"]
    rows = [*_known()] + [
        ("coa", i, None, cell, "Omar Haddad", DOB, "SYR") for i, cell in enumerate(cells)
    ]
    _, got = _link(rows)
    for i, cell in enumerate(cells):
        r = got[("coa", i)]
        assert r["method"] == "fuzzy" and r["v_nummer"] == V1, cell
    assert got[("coa", 0)]["reason"].startswith("V-nummer missing")
    assert got[("coa", 1)]["reason"].startswith("V-nummer missing")
    assert got[("coa", 2)]["reason"].startswith("V-nummer is not 10 digits")
    assert got[("coa", 3)]["reason"].startswith("V-nummer is not 10 digits")


def test_unicode_and_question_marks() -> None:
    rows = [
        ("smartflow", 1, "SF-1", V2, "Yılmaz Mehmet", date(1985, 1, 2), "TUR"),
        ("ind", 1, "Z9", V3, "ÇELIK Ayşe", date(1970, 7, 7), "TUR"),
        ("ind", 2, "Z8", None, "Y?LMAZ Mehmet", date(1985, 1, 2), "TUR"),  # cp1252 lost the ı
        ("kmar", 1, None, None, "CELIK/AYSE", date(1970, 7, 7), None),  # no nationality
        ("coa", 1, None, None, "Ayşe Çelik", date(1970, 7, 7), "SYR"),  # other nationality
    ]
    _, got = _link(rows)
    assert got[("ind", 2)]["method"] == "fuzzy" and got[("ind", 2)]["v_nummer"] == V2
    assert got[("kmar", 1)]["method"] == "fuzzy" and got[("kmar", 1)]["v_nummer"] == V3
    assert got[("coa", 1)]["method"] == "unresolved"


def test_settings_and_empty_input() -> None:
    rows = [*_known(), ("coa", 1, None, None, "Hadad Umar", DOB, "SYR")]
    _, got = _link(rows, LinkSettings(fuzzy_threshold=99.0))
    assert got[("coa", 1)]["method"] == "unresolved"
    with pytest.raises(ValueError):
        LinkSettings(margin=-1)
    counts, _ = _link([])
    assert counts.rows == 0 and counts.unresolved == 0
