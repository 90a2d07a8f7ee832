"""The recorder: turns true events into partner export rows, plants data faults, and writes the
ground truth (one row per export row, one row per foreigner) as it goes, so memory stays flat.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, time
from pathlib import Path
from typing import Any

from miner.simulation._chain import Activity, Foreigner, read_catalogue
from miner.simulation._exports import HHMM, HM, Clock, Day, WriterPool, impossible, misspellings
from miner.simulation._people import typo
from miner.simulation._truth import TruthWriter
from miner.simulation.scenario import Scenario

# timestamps of these activities carry no headline figure, so only they get timestamp faults
TIMESTAMP_FAULTABLE = frozenset(
    "A02 A05 A06 A07 A11 R03 R05 R06 R07 R08 P01 P03 P05 P07 V02 V03 V04 V05 V06 V07 V09 V10 "  # noqa: SIM905
    "V11 V12 V13 V15 V16 V17 V18 V21".split()
)
# exports whose V-nummer is typed by hand or copied, so it may be missing or mistyped
VNR_FAULTABLE = frozenset({"smartflow", "coa", "dtv", "kmar"})
FAULTS = (
    "duplicate_row",
    "missing_timestamp",
    "impossible_timestamp",
    "misspelt_code",
    "missing_vnummer",
    "typo_vnummer",
    "coa_late_update",
    "coa_missing_end",
)
SITE_NAME = {"ter_apel": "Ter Apel", "budel": "Budel", "": ""}
SITE_CODE = {"ter_apel": "TA", "budel": "BD", "": "AVIM"}
SPOOR = {"spoor1": "Spoor 1", "spoor2": "Spoor 2", "spoor4": "Spoor 4", "hasa": "HASA", "": ""}


class Recorder:
    """Writes every export row with its ground-truth row; see docs/simulation.md for the columns."""

    def __init__(self, out: Path, scenario: Scenario, seed: int) -> None:
        self.out = out
        self.sc = scenario
        self.rng = random.Random(f"faults-{seed}")
        self.clock = Clock(datetime.combine(scenario.start, time()))
        self.catalogue = read_catalogue()
        (out / "truth").mkdir(parents=True, exist_ok=True)
        self.writers = WriterPool(out)
        self.rates = {k: scenario.prob("faults", k) for k in scenario.data["faults"]}
        self.seq: Counter[str] = Counter()
        self.truth = TruthWriter(out)
        self.flows: Counter[tuple[str, str]] = Counter()
        self.stocks: Counter[tuple[str, str]] = Counter()
        self.counts: Counter[str] = Counter()
        codes: dict[str, list[str]] = {}
        for act in self.catalogue.values():
            for key in act.exports:
                codes.setdefault(key, []).append(act.code)
            for key, code in act.also.items():
                codes.setdefault(key, []).append(code)
        self.misspelt = {
            (key, code): misspellings(code, sorted(set(cs)))
            for key, cs in codes.items()
            for code in cs
        }
        (out / "truth").mkdir(parents=True, exist_ok=True)

    # ids ---------------------------------------------------------------------------------------
    def new_id(self, kind: str, fmt: str) -> str:
        n = self.seq[kind] = self.seq[kind] + 1
        return fmt % n

    def pid(self, f: Foreigner, key: str) -> str:
        if key not in f.ids:
            fmt = {
                "pshv": "PSH%08d",
                "smartflow": "SF-%07d",
                "coa": "B%07d",
                "dtv": "DTV%07d",
                "kmar": "KM-%06d",
            }[key]
            f.ids[key] = self.new_id(key, fmt)
        return f.ids[key]

    # events ------------------------------------------------------------------------------------
    def event(
        self,
        f: Foreigner,
        act_id: str,
        t: float,
        *,
        exports: tuple[str, ...] | None = None,
        result: str = "",
        source: str = "",
        how: str = "",
    ) -> None:
        """Record one true event of ``f``; write it to the exports that record the activity."""
        act = self.catalogue[act_id]
        self.counts[act_id] += 1
        for key in act.exports if exports is None else exports:
            self._row(f, act, key, t, result, source, how)

    def _row(
        self, f: Foreigner, act: Activity, key: str, t: float, result: str, source: str, how: str
    ) -> None:
        rates = self.rates
        u = self.rng.random()
        fault = ""
        first = key not in f.seen
        f.seen.add(key)
        acc = rates["duplicate_row"]
        if u < acc:
            fault = "duplicate_row"
        elif act.id in TIMESTAMP_FAULTABLE and u < (acc := acc + rates["missing_timestamp"]):
            fault = "missing_timestamp"
        elif act.id in TIMESTAMP_FAULTABLE and u < (acc := acc + rates["impossible_timestamp"]):
            fault = "impossible_timestamp"
        elif key != "smartflow" and u < (acc := acc + rates["misspelt_code"]):
            fault = "misspelt_code" if self.misspelt[(key, act.also.get(key, act.code))] else ""
        elif key in VNR_FAULTABLE and (key == "smartflow" or not first):
            if u < (acc := acc + rates["missing_vnummer"]):
                fault = "missing_vnummer"
            elif u < acc + rates["typo_vnummer"]:
                fault = "typo_vnummer"
        code = act.also.get(key, act.code) if act.also else act.code
        if fault == "misspelt_code":
            options = self.misspelt[(key, code)]
            code = options[self.rng.randrange(len(options))]
        vnr = f.vnr
        if fault == "missing_vnummer":
            vnr = ""
        elif fault == "typo_vnummer":
            vnr = typo(vnr, self.rng)
        d, m = self.clock.parts(t)
        day = self.clock.day(d)
        cells = self._cells(f, key, code, t, day, m, fault, vnr, result, source, how)
        writer = self.writers
        stamp = f"{day.ymd}T{HM[m]}"
        if fault == "duplicate_row":
            name, row = writer.write(key, cells, day.date.year)
            self.truth.row(name, row, f.fid, act, stamp, "")
        name, row = writer.write(key, cells, day.date.year)
        self.truth.row(name, row, f.fid, act, stamp, fault)
        if fault:
            f.truth[f"f_{fault}"] = f.truth.get(f"f_{fault}", 0) + 1

    def _cells(
        self,
        f: Foreigner,
        key: str,
        code: str,
        t: float,
        day: Day,
        m: int,
        fault: str,
        vnr: str,
        result: str,
        source: str,
        how: str,
    ) -> list[Any]:
        nat = f.nat
        gone = fault == "missing_timestamp"
        odd = impossible(key, self.clock.dt(t)) if fault == "impossible_timestamp" else None
        if key == "indigo":
            return [
                f.zaak,
                vnr,
                f.family_up,
                f.given,
                f.dob_dmy,
                nat["name"],
                SITE_NAME[f.site],
                SPOOR[f.spoor],
                code,
                "" if gone else odd or day.dmy,
                "" if gone else HM[m],
                result,
                self.new_id("indigo", "M%09d"),
            ]
        if key == "pshv":
            ts = "" if gone else odd or f"{day.ymd}T{HM[m]}:00"
            return [
                self.pid(f, "pshv"),
                vnr,
                f.family_up,
                f.given,
                f.dob_ymd,
                nat["iso3"],
                SITE_CODE[f.site if how != "avim" else ""],
                code,
                ts,
                self.new_id("pshv_m", "%010d"),
            ]
        if key == "smartflow":
            return [
                self.pid(f, "smartflow"),
                vnr,
                f.family_v,
                f.given_v,
                f.dob,
                nat["name"],
                SITE_NAME[f.site],
                None if gone else odd or self.clock.dt(t),
                "Afgerond",
            ]
        if key == "dtv":
            ts = "" if gone else odd or self.clock.offset_iso(t, day, m)
            return [
                self.pid(f, "dtv"),
                vnr,
                f"{f.given_v} {f.family}",
                f.dob_ymd,
                nat["name"],
                source,
                code,
                ts,
                how,
                self.new_id("dtv_r", "R%08d"),
            ]
        if key == "kmar":
            return [
                self.pid(f, "kmar"),
                vnr,
                f"{f.family_up}/{f.given.upper()}",
                f.dob_compact,
                nat["iso2"],
                code,
                "" if gone else odd or day.compact,
                "" if gone or odd else HHMM[m],
                self.new_id("kmar_v", "%07d"),
            ]
        raise KeyError(key)

    # COA stays -----------------------------------------------------------------------------------
    def move(self, f: Foreigner, act_id: str, modality: str, location: str, t: float) -> None:
        """Close the current COA stay of ``f`` at ``t`` and open a new one."""
        self.leave(f, t)
        f.stay = (act_id, modality, location, t)
        self.stocks[("Bezetting COA", modality)] += 1
        self.counts[act_id] += 1

    def leave(self, f: Foreigner, t: float, reason: str = "") -> None:
        """Close the current COA stay of ``f`` (if any) at ``t``."""
        if f.stay is None:
            return
        self._stay_row(f, f.stay, t, reason)
        if f.stay[1] == "col":
            f.truth["col_days"] = round(t - f.stay[3], 4)
        self.stocks[("Bezetting COA", f.stay[1])] -= 1
        f.stay = None

    def _stay_row(
        self, f: Foreigner, stay: tuple[str, str, str, float], end: float | None, reason: str
    ) -> None:
        act_id, modality, location, start = stay
        u = self.rng.random()
        rates = self.rates
        fault = ""
        first = "coa" not in f.seen
        f.seen.add("coa")
        if u < (acc := rates["duplicate_row"]):
            fault = "duplicate_row"
        elif u < (acc := acc + rates["coa_late_update"]):
            fault = "coa_late_update"
        elif end is not None and u < (acc := acc + rates["coa_missing_end"]):
            fault = "coa_missing_end"
        elif not first and u < (acc := acc + rates["missing_vnummer"]):
            fault = "missing_vnummer"
        elif not first and u < acc + rates["typo_vnummer"]:
            fault = "typo_vnummer"
        vnr = (
            ""
            if fault == "missing_vnummer"
            else typo(f.vnr, self.rng)
            if fault == "typo_vnummer"
            else f.vnr
        )
        # a normal update is entered within a day; a late one 3 to 30 days after the move
        lag = (
            self.rng.uniform(3.0, 30.0)
            if fault == "coa_late_update"
            else self.rng.uniform(0.0, 0.9)
        )
        fmt = "%Y-%m-%d %H:%M"
        cells = [
            self.pid(f, "coa"),
            vnr,
            f"{f.given_v} {f.family}",
            f"{f.dob.day}-{f.dob.month}-{f.dob.year}",
            f.nat["name"],
            modality,
            location,
            self.clock.dt(start).strftime(fmt),
            "" if end is None or fault == "coa_missing_end" else self.clock.dt(end).strftime(fmt),
            reason,
            self.clock.dt(start + lag).strftime(fmt),
            self.new_id("coa_r", "%08d"),
        ]
        year = self.clock.dt(start).year
        copies = 2 if fault == "duplicate_row" else 1
        for n in range(copies):
            name, row = self.writers.write("coa", cells, year)
            self.truth.row(
                name,
                row,
                f.fid,
                self.catalogue[act_id],
                self.clock.iso(start),
                fault if n == 1 or copies == 1 else "",
            )
        if fault:
            f.truth[f"f_{fault}"] = f.truth.get(f"f_{fault}", 0) + 1

    # KMI+ ----------------------------------------------------------------------------------------
    def flow(self, indicator: str, category: str, n: int = 1) -> None:
        self.flows[(indicator, category)] += n

    def month_end(self, period: str, t: float) -> None:
        """Write the KMI+ rows of one month: its flows and the stocks at its end."""
        rows = sorted(self.flows.items()) + sorted(
            (k, v) for k, v in self.stocks.items() if k[0] != "_"
        )
        for (indicator, category), value in rows:
            name, row = self.writers.write("kmi", [period, indicator, category, value], 0)
            kmi = Activity("KMI", f"{indicator}/{category}", "APM", ("kmi",), "", False)
            self.truth.row(name, row, -1, kmi, self.clock.iso(t), "")
        self.flows.clear()

    # ground truth ------------------------------------------------------------------------------
    def finish(self, f: Foreigner) -> None:
        """Write the per-foreigner ground-truth row of ``f``."""
        self.truth.person(f)

    def close(self) -> dict[str, int]:
        """Flush everything; returns the number of data rows per export file."""
        files = self.writers.close()
        self.truth.close()
        return files
