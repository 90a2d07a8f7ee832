"""Every export row is in the ground truth, and every planted phenomenon counted in the ground truth
equals a direct count of the partner exports (read as an analyst would: own formats, own codes).
"""

from __future__ import annotations

import csv
import difflib
import json
import tomllib
from datetime import datetime
from functools import cache
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from miner.simulation import SimulationResult

CHAIN = Path(__file__).parents[2] / "miner" / "data" / "scenarios" / "chain.toml"
# export -> (file, record-id column, V-nummer column, code column, timestamp column)
LAYOUT = {
    "indigo": (
        "ind/indigo_zaakhistorie.csv",
        "Mutatienummer",
        "V-nummer",
        "Handelingcode",
        "Datum",
    ),
    "pshv": ("politie/pshv_registraties.jsonl", "mutatie_id", "vnummer", "handeling", "tijdstip"),
    "smartflow": ("politie/smartflow_2021.xlsx", "SF-nummer", "V-nummer", None, "Registratiedatum"),
    "coa": ("coa/bewonersregistratie.csv", "regelnummer", "v_nummer", None, "startdatum"),
    "dtv": ("dtv/vertrekdossiers.csv", "registratie_id", "vnummer", "gebeurtenis", "datum_tijd"),
    "kmar": ("kmar/kmar_registraties.csv", "VOLGNR", "VNR", "ACTIVITEIT", "DATUM"),
}
FORMATS = {
    "indigo": "%d-%m-%Y",
    "pshv": "%Y-%m-%dT%H:%M:%S",
    "dtv": "%Y-%m-%dT%H:%M:%S%z",
    "kmar": "%Y%m%d",
}


def elfproef(value: str) -> bool:
    """The V-nummer check: 10 digits, weights 10..1, sum divisible by 11."""
    return (
        len(value) == 10
        and value.isdigit()
        and sum(int(d) * w for d, w in zip(value, range(10, 0, -1), strict=True)) % 11 == 0
    )


@cache
def valid_codes() -> dict[str, set[str]]:
    codes: dict[str, set[str]] = {}
    for act in tomllib.loads(CHAIN.read_text("utf-8"))["activity"]:
        for key in act["exports"]:
            codes.setdefault(key, set()).add(act["code"])
        for key, code in act.get("also", {}).items():
            codes.setdefault(key, set()).add(code)
    return codes


def corrected(code: str, export: str) -> str:
    """A misspelt code read as the closest valid code, as an analyst's mapping would."""
    valid = valid_codes()[export]
    if code in valid:
        return code
    return max(sorted(valid), key=lambda v: difflib.SequenceMatcher(None, code, v).ratio())


@cache
def _read(out: str, key: str) -> pd.DataFrame:
    path = Path(out) / LAYOUT[key][0]
    if key == "indigo":
        return pd.read_csv(path, sep=";", encoding="cp1252", dtype=str, keep_default_na=False)
    if key == "pshv":
        with open(path, encoding="utf-8") as fh:
            return pd.DataFrame([json.loads(line) for line in fh])
    if key == "smartflow":
        wb = load_workbook(path, read_only=True)
        rows = list(wb.active.iter_rows(values_only=True))
        wb.close()
        frame = pd.DataFrame(rows[1:], columns=rows[0])
        frame["V-nummer"] = frame["V-nummer"].fillna("").astype(str)
        return frame
    sep = {"coa": ",", "dtv": "|", "kmar": ","}[key]
    enc = "utf-8-sig" if key == "kmar" else "utf-8"
    return pd.read_csv(path, sep=sep, encoding=enc, dtype=str, keep_default_na=False)


def read(run: SimulationResult, key: str) -> pd.DataFrame:
    return _read(str(run.out), key)


def dedup(run: SimulationResult, key: str) -> pd.DataFrame:
    """The export without exact duplicate rows (same record id), codes read as the closest valid."""
    frame = read(run, key)
    frame = frame[~frame[LAYOUT[key][1]].duplicated()].copy()
    code_col = LAYOUT[key][3]
    if code_col is not None:
        frame["code"] = [corrected(c, key) for c in frame[code_col]]
    return frame


@cache
def _truth_rows(out: str) -> pd.DataFrame:
    return pd.read_parquet(Path(out) / "truth" / "rows.parquet")


@cache
def _people(out: str) -> pd.DataFrame:
    return pd.read_parquet(Path(out) / "truth" / "foreigners.parquet")


def test_every_export_row_is_mapped_once_in_the_ground_truth(default_run: SimulationResult) -> None:
    truth = _truth_rows(str(default_run.out))
    assert set(truth["file"]) == set(default_run.files)
    for name, n in default_run.files.items():
        rows = truth.loc[truth["file"] == name, "row"].sort_values().tolist()
        assert rows == list(range(1, n + 1)), name
    for key, (name, *_rest) in LAYOUT.items():
        assert len(read(default_run, key)) == default_run.files[name], key
    with open(default_run.out / "kmi" / "kmi_maandcijfers.csv", encoding="utf-8") as fh:
        assert (
            sum(1 for _ in csv.reader(fh, delimiter=";")) - 1
            == default_run.files["kmi/kmi_maandcijfers.csv"]
        )
    people = set(_people(str(default_run.out))["foreigner"])
    mapped = set(truth.loc[truth["activity"] != "KMI", "foreigner"])
    assert mapped <= people and -1 not in mapped


@pytest.mark.parametrize("key", sorted(LAYOUT))
def test_export_rows_carry_the_v_nummer_of_their_foreigner(
    default_run: SimulationResult, key: str
) -> None:
    name, _, vcol, _, _ = LAYOUT[key]
    truth = _truth_rows(str(default_run.out))
    truth = truth[truth["file"] == name].sort_values("row")
    vnr = _people(str(default_run.out)).set_index("foreigner")["v_nummer"]
    expected = vnr.reindex(truth["foreigner"]).to_numpy()
    found = read(default_run, key)[vcol].to_numpy()
    fault = truth["fault"].to_numpy()
    ok = fault == ""
    assert (found[ok] == expected[ok]).all()
    assert (found[fault == "missing_vnummer"] == "").all()
    typos = found[fault == "typo_vnummer"]
    assert not any(elfproef(v) for v in typos)
    assert all(elfproef(v) for v in found[ok])


def _timestamp_faults(run: SimulationResult) -> tuple[int, int]:
    missing = impossible = 0
    for key, fmt in FORMATS.items():
        values = read(run, key)[LAYOUT[key][4]]
        missing += int((values == "").sum())
        parsed = pd.to_datetime(values[values != ""], format=fmt, errors="coerce", utc=key == "dtv")
        impossible += int(parsed.isna().sum())
    stamps = read(run, "smartflow")["Registratiedatum"]
    missing += int(stamps.isna().sum())
    impossible += int(stamps.map(lambda v: isinstance(v, str)).sum())
    return missing, impossible


def test_data_faults_in_the_ground_truth_equal_direct_counts(default_run: SimulationResult) -> None:
    counts = default_run.phenomena
    duplicates = sum(int(read(default_run, k)[LAYOUT[k][1]].duplicated().sum()) for k in LAYOUT)
    missing, impossible = _timestamp_faults(default_run)
    misspelt = sum(
        int((~read(default_run, k)[LAYOUT[k][3]].isin(valid_codes()[k])).sum())
        for k in LAYOUT
        if LAYOUT[k][3] is not None
    )
    vnrs = pd.concat([read(default_run, k)[LAYOUT[k][2]] for k in LAYOUT])
    coa = read(default_run, "coa")
    start = pd.to_datetime(coa["startdatum"], format="%Y-%m-%d %H:%M")
    entered = pd.to_datetime(coa["mutatiedatum"], format="%Y-%m-%d %H:%M")
    late = int(((entered - start) > pd.Timedelta(days=2)).sum())
    coa_d = coa[~coa["regelnummer"].duplicated()].assign(start=start)
    coa_d = coa_d.sort_values(["bewonersnummer", "start", "regelnummer"])
    last = ~coa_d["bewonersnummer"].duplicated(keep="last")
    missing_end = int(((coa_d["einddatum"] == "") & (~last | (coa_d["reden_einde"] != ""))).sum())
    direct = {
        "fault_duplicate_row": duplicates,
        "fault_missing_timestamp": missing,
        "fault_impossible_timestamp": impossible,
        "fault_misspelt_code": misspelt,
        "fault_missing_vnummer": int((vnrs == "").sum()),
        "fault_typo_vnummer": int(((vnrs != "") & ~vnrs.map(elfproef)).sum()),
        "fault_coa_late_update": late,
        "fault_coa_missing_end": missing_end,
    }
    assert direct == {k: counts[k] for k in direct}
    assert all(v > 0 for v in direct.values())


def _zaak_times(run: SimulationResult, code: str, result: str | None = None) -> pd.Series:
    ind = dedup(run, "indigo")
    rows = ind[ind["code"] == code]
    if result is not None:
        rows = rows[rows["Resultaat"] == result]
    stamp = pd.to_datetime(rows["Datum"] + " " + rows["Tijd"], format="%d-%m-%Y %H:%M")
    return stamp.groupby(rows["Zaaknummer"]).min()


def test_planted_phenomena_equal_direct_counts(default_run: SimulationResult) -> None:
    run = default_run
    counts = run.phenomena
    pshv, ind, dtv, coa = (dedup(run, k) for k in ("pshv", "indigo", "dtv", "coa"))
    sf = dedup(run, "smartflow")
    dtv_vnr = dtv[dtv["vnummer"].map(elfproef)].groupby("dossiernummer")["vnummer"].first()
    by_politie = set(pshv.loc[pshv["code"].isin(["IR-ID-INTAKE", "AVIM-AIO"]), "vnummer"])
    by_ind = set(ind.loc[ind["code"] == "ID-OND", "V-nummer"])
    by_dtv = set(dtv_vnr.reindex(dtv.loc[dtv["code"] == "ID-PROJ", "dossiernummer"]))
    photos = pshv[pshv["code"] == "IR-FOTO-VA"].groupby("registratienummer").size()
    reg = _zaak_times(run, "AANM-REG")
    med = _zaak_times(run, "MED-COL")
    spoor = _zaak_times(run, "SPOOR")
    heard = _zaak_times(run, "AG")
    regie2 = _zaak_times(run, "REGIE-2")
    day = (heard.dt.normalize() - reg.reindex(heard.index).dt.normalize()).dt.days + 1
    late_med = (med.dt.normalize() - reg.reindex(med.index).dt.normalize()).dt.days != 1
    noshow = ind[ind["code"] == "NVS"]
    budel = noshow[
        (noshow["Aanmeldcentrum"] == "Budel")
        & (noshow["Resultaat"] == "niet verschenen aanmeldgehoor")
        & (pd.to_datetime(noshow["Datum"], format="%d-%m-%Y") >= "2021-07-01")
    ]
    direct = {
        "double_registration": pshv.loc[
            pshv["code"] == "IR-REG-AFH", "registratienummer"
        ].nunique(),
        "smartflow_entry": sf["SF-nummer"].nunique(),
        "identity_politie_total": int(pshv["code"].isin(["IR-ID-INTAKE", "AVIM-AIO"]).sum()),
        "identity_ind_total": int((ind["code"] == "ID-OND").sum()),
        "identity_dtv_total": int((dtv["code"] == "ID-PROJ").sum()),
        "triple_identity": len(by_politie & by_ind & by_dtv),
        "regietafel_moments_total": int(ind["code"].isin(["REGIE-1", "REGIE-2"]).sum()),
        "regietafel2_politie": int(
            ((ind["code"] == "REGIE-2") & (ind["Resultaat"] == "Politie aanwezig")).sum()
        ),
        "nachtopvang": coa.loc[coa["modaliteit"] == "nachtopvang", "bewonersnummer"].nunique(),
        "pre_pol": coa.loc[coa["modaliteit"] == "pre-pol", "bewonersnummer"].nunique(),
        "aanmeldgehoor_not_on_dag_3": int((day != 3).sum()),
        "no_shows_total": len(noshow),
        "no_shows_budel_measure_total": len(budel),
        "dev_skipped_medical": len(regie2.index.difference(med.index)),
        "dev_late_medical": int(late_med.sum()),
        "dev_repeat_photo": int((photos > 1).sum()),
        "dev_spoor_after_hearing": int((spoor.reindex(heard.index) > heard).sum()),
        "dev_documents_by_politie": int((pshv["code"] == "IR-DOCOND").sum()),
        "appeals_total": int((ind["code"] == "BER-INST").sum()),
        "appeals_upheld_total": int(
            ((ind["code"] == "BER-UITSPR") & (ind["Resultaat"] == "gegrond")).sum()
        ),
        "kmar_escort": int((dedup(run, "kmar")["code"] == "BEGL").sum()),
        "departure_message": int((dedup(run, "kmar")["code"] == "BVER").sum()),
        "dublin_transfer": dtv.loc[
            (dtv["code"] == "VERTR-GEDW") & (dtv["vertrekwijze"] == "dublin"), "dossiernummer"
        ].nunique(),
    }
    assert direct == {k: counts[k] for k in direct}
    assert all(v > 0 for v in direct.values()), direct


def test_aa_queue_overtaking_equals_a_direct_count(default_run: SimulationResult) -> None:
    """A case overtook when someone who entered the AA queue (RVT in INDiGO) earlier started later."""
    entry = _zaak_times(default_run, "RVT-OPV")
    start = _zaak_times(default_run, "AA-D1-EG").reindex(entry.index)
    never = float("inf")  # still waiting at the end of the run
    epoch = pd.Timestamp("2000-01-01")
    frame = pd.DataFrame(
        {
            "entry": (entry - epoch).dt.total_seconds(),
            "start": (start - epoch).dt.total_seconds().fillna(never),
        }
    )
    latest = frame.groupby("entry")["start"].max().sort_index().cummax()
    before = frame["entry"].map(
        latest.shift(1, fill_value=-never)
    )  # latest start of earlier entries
    overtook = int(((frame["start"] != never) & (frame["start"] < before)).sum())
    assert overtook == default_run.phenomena["aa_overtook"] > 0


def test_kmi_monthly_applications_equal_the_indigo_registrations(
    default_run: SimulationResult,
) -> None:
    kmi = pd.read_csv(default_run.out / "kmi" / "kmi_maandcijfers.csv", sep=";")
    applications = int(kmi.loc[kmi["Indicator"] == "Aanmeldingen", "Waarde"].sum())
    reg = _zaak_times(default_run, "AANM-REG")
    assert applications == int((reg >= "2021-01-01").sum())
    assert set(kmi["Periode"]) == {f"2021-{m:02d}" for m in range(1, 13)}


def test_time_formats_are_local_amsterdam_time(default_run: SimulationResult) -> None:
    stamps = read(default_run, "dtv")["datum_tijd"]
    stamps = stamps[stamps.str.len() == 25]
    assert set(stamps.str[-6:]) == {"+01:00", "+02:00"}
    winter = stamps[stamps.str.startswith("2021-01-")]
    summer = stamps[stamps.str.startswith("2021-07-")]
    assert set(winter.str[-6:]) == {"+01:00"} and set(summer.str[-6:]) == {"+02:00"}
    assert datetime.strptime(read(default_run, "indigo")["Datum"].iloc[0], "%d-%m-%Y")
