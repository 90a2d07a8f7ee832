"""Headline figures of a simulation run next to the seed figures they should reproduce, and the
count of each planted phenomenon in the ground truth.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from miner.simulation._record import FAULTS
from miner.simulation.scenario import Scenario

# (name, seed value or None, citation, unit)
SEED_FIGURES: tuple[tuple[str, float | None, str, str], ...] = (
    ("median_days_in_col", 12.0, "000:8276-8280; 11316-11317 'zo'n 12 dagen'", "days"),
    ("share_aanmeldgehoor_on_dag_3", None, "000:11319-11320 norm dag 3, no share given", "share"),
    ("nachtopvang_share", None, "000:11289-11300 causes named, no share given", "share"),
    ("weeks_to_decision", 50.0, "000:8176-8182; 11385-11387 'ongeveer 50 weken'", "weeks"),
    ("permit_holders_in_azc", 9000.0, "000:11585 'zo'n 9.000 inwoners in het azc'", "persons"),
    (
        "dtv_inflow_per_year",
        14600.0,
        "000:7829-7843 Instroom bij DT&V 2020 totaal",
        "dossiers/year",
    ),
    (
        "dtv_inflow_ind_share",
        0.668,
        "000:7733-7735 'grofweg twee derde' (2020: 9,750/14,600)",
        "share",
    ),
)
TOLERANCE = 0.15


@dataclass(frozen=True)
class Figure:
    """One headline figure: the simulated ``value`` and the ``seed`` value it should reproduce."""

    name: str
    value: float
    seed: float | None
    source: str
    unit: str

    @property
    def deviation(self) -> float | None:
        """Relative deviation from the seed figure, or None when the seed gives no figure."""
        if self.seed is None:
            return None
        return (self.value - self.seed) / self.seed

    def to_dict(self) -> dict[str, Any]:
        dev = self.deviation
        return {
            "name": self.name,
            "value": round(self.value, 4),
            "seed": self.seed,
            "source": self.source,
            "unit": self.unit,
            "deviation": None if dev is None else round(dev, 4),
            "within_15_percent": None if dev is None else abs(dev) <= TOLERANCE,
        }


@dataclass(frozen=True)
class Summary:
    """The headline figures of a run (``figures``), for ``scenario`` over ``years``."""

    scenario: str
    years: float
    figures: tuple[Figure, ...]

    def figure(self, name: str) -> Figure:
        for fig in self.figures:
            if fig.name == name:
                return fig
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "years": self.years,
            "figures": [f.to_dict() for f in self.figures],
        }

    def to_text(self) -> str:
        lines = [f"{'figure':32} {'simulated':>12} {'seed':>10}  source"]
        for f in self.figures:
            seed = "-" if f.seed is None else f"{f.seed:g}"
            lines.append(f"{f.name:32} {f.value:12.3f} {seed:>10}  {f.source}")
        return "\n".join(lines)


def summary(out: Path, *, scenario: Scenario, years: float) -> Summary:
    """The headline figures of the run written in ``out``; see :data:`SEED_FIGURES`."""
    people = pd.read_parquet(
        out / "truth" / "foreigners.parquet",
        columns=[
            "origin",
            "col_days",
            "hearing_day",
            "nachtopvang",
            "decision_track",
            "weeks_to_decision",
            "dtv_source",
        ],
    )
    applicants = people[people["origin"].isin(["first", "repeat"])]
    heard = applicants["hearing_day"].dropna()
    track = people[people["decision_track"] == "aa_va"]["weeks_to_decision"].dropna()
    start = scenario.start.isoformat()
    inflow = 0
    for batch in _batches(out, ["file", "activity", "fault", "time_local"]):
        keep = pc.and_(
            pc.and_(
                pc.equal(batch["activity"], "V01"),
                pc.equal(batch["file"], "dtv/vertrekdossiers.csv"),
            ),
            pc.and_(
                pc.not_equal(batch["fault"], "duplicate_row"),
                pc.greater_equal(batch["time_local"], start),
            ),
        )
        inflow += int(pc.sum(keep).as_py() or 0)
    from_ind = len(people[people["dtv_source"] == "IND"]) - int(
        (people["origin"] == "beginstand_dtv").sum()
    )
    stock = _monthly_stock(out / "kmi" / "kmi_maandcijfers.csv", "Vergunninghouders in azc")
    values = {
        "median_days_in_col": float(people["col_days"].dropna().median()),
        "share_aanmeldgehoor_on_dag_3": float((heard == 3).mean()) if len(heard) else 0.0,
        "nachtopvang_share": float(applicants["nachtopvang"].mean()) if len(applicants) else 0.0,
        "weeks_to_decision": float(track.mean()) if len(track) else 0.0,
        "permit_holders_in_azc": float(sum(stock) / len(stock)) if stock else 0.0,
        "dtv_inflow_per_year": inflow / years,
        "dtv_inflow_ind_share": from_ind / inflow if inflow else 0.0,
    }
    figures = tuple(Figure(n, values[n], s, src, unit) for n, s, src, unit in SEED_FIGURES)
    return Summary(scenario=scenario.name, years=years, figures=figures)


def _batches(out: Path, columns: list[str]) -> Any:
    """Record batches of ``truth/rows.parquet``: streamed, so memory does not grow with the run."""
    for batch in pq.ParquetFile(out / "truth" / "rows.parquet").iter_batches(columns=columns):
        yield pa.Table.from_batches([batch])


def _monthly_stock(path: Path, indicator: str) -> list[float]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [
            float(r["Waarde"])
            for r in csv.DictReader(fh, delimiter=";")
            if r["Indicator"] == indicator
        ]


PHENOMENA_COLUMNS = (
    "double_registration",
    "smartflow_entry",
    "triple_identity",
    "nachtopvang",
    "pre_pol",
    "aa_overtook",
    "budel_measure",
    "va",
    "permit",
    "housed",
    "dublin_transfer",
    "kmar_escort",
    "departure_message",
    "dev_skipped_medical",
    "dev_late_medical",
    "dev_repeat_photo",
    "dev_spoor_after_hearing",
    "dev_documents_by_politie",
    "regietafel2_politie",
)
PHENOMENA_SUMS = (
    "identity_politie",
    "identity_ind",
    "identity_dtv",
    "regietafel_moments",
    "no_shows",
    "no_shows_budel_measure",
    "appeals",
    "appeals_upheld",
)


def phenomena(out: Path) -> dict[str, int]:
    """Count every planted phenomenon in the ground truth of the run in ``out``.

    Person-level phenomena count foreigners with the flag; ``*_total`` sums per-foreigner counts;
    ``fault_*`` counts export rows carrying that fault (from ``truth/rows.parquet``).
    """
    # streamed by batch with only the columns needed: memory does not grow with the run
    counts: dict[str, int] = dict.fromkeys(
        [
            "foreigners",
            *PHENOMENA_COLUMNS,
            *(f"{c}_total" for c in PHENOMENA_SUMS),
            "nachtopvang_after_hours",
            "nachtopvang_ir_capacity",
            "aanmeldgehoor_not_on_dag_3",
        ],
        0,
    )
    columns = [*PHENOMENA_COLUMNS, *PHENOMENA_SUMS, "nachtopvang_cause", "hearing_day"]
    source = pq.ParquetFile(out / "truth" / "foreigners.parquet")
    for batch in source.iter_batches(columns=columns):
        people = batch.to_pandas()
        counts["foreigners"] += len(people)
        for col in PHENOMENA_COLUMNS:
            counts[col] += int(people[col].sum())
        for col in PHENOMENA_SUMS:
            counts[f"{col}_total"] += int(people[col].sum())
        cause = people["nachtopvang_cause"]
        counts["nachtopvang_after_hours"] += int((cause == "buiten_openingstijd_balie").sum())
        counts["nachtopvang_ir_capacity"] += int((cause == "ir_capaciteit").sum())
        heard = people["hearing_day"].dropna()
        counts["aanmeldgehoor_not_on_dag_3"] += int((heard != 3).sum())
    faults: dict[str, int] = {}
    for batch in _batches(out, ["fault"]):
        for item in pc.value_counts(batch["fault"]).to_pylist():
            faults[item["values"]] = faults.get(item["values"], 0) + int(item["counts"])
    for name in FAULTS:
        counts[f"fault_{name}"] = int(faults.get(name, 0))
    return dict(sorted(counts.items()))
