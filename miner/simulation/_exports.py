"""Partner export files, each in the shape its own system delivers: file type, encoding, column names,
identifiers, activity codes and date formats differ per partner. Rows are streamed to disk.

Row numbers in the ground truth are 1-based data rows: the first row after the header is row 1 (for
the Excel sheet: sheet row 2; for JSON lines: line 1).
"""

from __future__ import annotations

import csv
import json
import math
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

AMS = ZoneInfo("Europe/Amsterdam")
FIXED_ZIP_TIME = (2000, 1, 1, 0, 0, 0)
FIXED_DOC_TIME = datetime(2000, 1, 1)


@dataclass(frozen=True)
class ExportSpec:
    """One partner export: ``key`` names it in the ground truth; ``columns`` in delivery order."""

    key: str
    partner: str
    system: str
    path: str
    kind: str  # csv | jsonl | xlsx
    columns: tuple[str, ...]
    encoding: str = "utf-8"
    delimiter: str = ","
    per_year: bool = False


# fmt: off
SPECS: dict[str, ExportSpec] = {
    "indigo": ExportSpec(
        "indigo", "IND", "INDiGO", "ind/indigo_zaakhistorie.csv", "csv",
        ("Zaaknummer", "V-nummer", "Achternaam", "Voornaam", "Geboortedatum", "Nationaliteit",
         "Aanmeldcentrum", "Spoor", "Handelingcode", "Datum", "Tijd", "Resultaat", "Mutatienummer"),
        encoding="cp1252", delimiter=";"),
    "pshv": ExportSpec(
        "pshv", "Politie", "PSH-V", "politie/pshv_registraties.jsonl", "jsonl",
        ("registratienummer", "vnummer", "achternaam", "voornamen", "geboortedatum",
         "nationaliteit", "locatie", "handeling", "tijdstip", "mutatie_id")),
    "smartflow": ExportSpec(
        "smartflow", "Politie", "Smartflow", "politie/smartflow_{year}.xlsx", "xlsx",
        ("SF-nummer", "V-nummer", "Achternaam", "Voornaam", "Geboortedatum", "Nationaliteit",
         "Locatie", "Registratiedatum", "Status"), per_year=True),
    "coa": ExportSpec(
        "coa", "COA", "bewonersregistratie", "coa/bewonersregistratie.csv", "csv",
        ("bewonersnummer", "v_nummer", "naam", "geboortedatum", "nationaliteit", "modaliteit",
         "locatie", "startdatum", "einddatum", "reden_einde", "mutatiedatum", "regelnummer")),
    "dtv": ExportSpec(
        "dtv", "DT&V", "vertrekdossier", "dtv/vertrekdossiers.csv", "csv",
        ("dossiernummer", "vnummer", "naam", "geboortedatum", "land_van_herkomst", "bron",
         "gebeurtenis", "datum_tijd", "vertrekwijze", "registratie_id"), delimiter="|"),
    "kmar": ExportSpec(
        "kmar", "KMar", "KMar registraties", "kmar/kmar_registraties.csv", "csv",
        ("KMAR_ZAAK", "VNR", "NAAM", "GEBDAT", "NAT", "ACTIVITEIT", "DATUM", "TIJD", "VOLGNR"),
        encoding="utf-8-sig"),
    "kmi": ExportSpec(
        "kmi", "APM", "KMI+", "kmi/kmi_maandcijfers.csv", "csv",
        ("Periode", "Indicator", "Categorie", "Waarde"), delimiter=";"),
}
# fmt: on


class Writer:
    """Streams the rows of one export to disk. The Excel export has one workbook a year; rows of
    two years interleave around New Year, so every file stays open until :meth:`close`.
    """

    def __init__(self, spec: ExportSpec, out: Path) -> None:
        self.spec = spec
        self.out = out
        self._targets: dict[str, Any] = {}  # file name -> csv writer, text file or worksheet
        self._handles: list[tuple[str, Any]] = []  # (file name, file handle or workbook)

    def write(self, name: str, cells: list[Any]) -> None:
        """Write one row to the export file ``name``."""
        target = self._targets.get(name)
        if target is None:
            target = self._targets[name] = self._open(name)
        if self.spec.kind == "csv":
            target.writerow(cells)
        elif self.spec.kind == "jsonl":
            record = dict(zip(self.spec.columns, cells, strict=True))
            target.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        else:
            target.append(cells)

    def _open(self, name: str) -> Any:
        path = self.out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.spec.kind == "xlsx":
            from openpyxl import Workbook

            wb = Workbook(write_only=True)
            sheet = wb.create_sheet("Registraties")
            sheet.append(list(self.spec.columns))
            self._handles.append((name, wb))
            return sheet
        # kept open across calls: rows are streamed until close(); cp1252 turns what it cannot
        # encode into '?', as the partner's own export does
        fh = open(path, "w", encoding=self.spec.encoding, errors="replace", newline="")  # noqa: SIM115
        self._handles.append((name, fh))
        if self.spec.kind == "jsonl":
            return fh
        eol = "\r\n" if self.spec.encoding == "cp1252" else "\n"
        target = csv.writer(fh, delimiter=self.spec.delimiter, lineterminator=eol)
        target.writerow(self.spec.columns)
        return target

    def close(self) -> None:
        for name, handle in self._handles:
            if self.spec.kind != "xlsx":
                handle.close()
                continue
            handle.properties.creator = "Smartflow"
            handle.properties.created = FIXED_DOC_TIME
            handle.properties.modified = FIXED_DOC_TIME
            handle.save(self.out / name)
            _fix_zip_times(self.out / name)
        self._handles.clear()
        self._targets.clear()


class WriterPool:
    """Numbers the rows of every export and hands them, in batches, to a writer process.

    Formatting an Excel sheet and encoding CSV/JSON is as costly as the simulation itself, so a
    second process does the disk work; row numbers are decided here, so the result is the same.
    """

    def __init__(self, out: Path) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self.queue: Any = ctx.Queue(maxsize=8)
        self.proc = ctx.Process(target=_serve, args=(str(out), self.queue), daemon=True)
        self.proc.start()
        self.rows: dict[str, int] = {}
        self.names = {key: spec.path for key, spec in SPECS.items() if not spec.per_year}
        self.batch: list[tuple[str, str, list[Any]]] = []

    def write(self, key: str, cells: list[Any], year: int) -> tuple[str, int]:
        """Queue one row; returns (file, 1-based data row number)."""
        name = self.names.get(key) or SPECS[key].path.format(year=year)
        n = self.rows[name] = self.rows.get(name, 0) + 1
        self.batch.append((key, name, cells))
        if len(self.batch) >= 20_000:
            self._put(self.batch)
            self.batch = []
        return name, n

    def _put(self, item: Any) -> None:
        """Queue ``item`` for the writer; fail, not hang, when the writer process has died."""
        import queue

        while True:
            if not self.proc.is_alive():
                self._writer_died("stopped")
            try:
                self.queue.put(item, timeout=1.0)
                return
            except queue.Full:
                continue

    def _writer_died(self, how: str) -> None:
        """Raise for a writer process that is gone. Nothing reads the queue any more, so its feeder
        thread is released first: otherwise the interpreter waits at exit for it to flush what no
        one will take, and hangs."""
        from miner.errors import MinerError

        self.queue.cancel_join_thread()
        self.queue.close()
        raise MinerError(f"the export writer process {how} (exit code {self.proc.exitcode}) "
                         "before all rows were written")

    def close(self) -> dict[str, int]:
        """Flush, wait for the writer process; returns the data rows per file."""
        if self.batch:
            self._put(self.batch)
            self.batch = []
        self._put(None)
        self.proc.join()
        if self.proc.exitcode != 0:
            self._writer_died("failed")
        return dict(sorted(self.rows.items()))


def _serve(out: str, queue: Any) -> None:
    writers = {key: Writer(spec, Path(out)) for key, spec in SPECS.items()}
    while True:
        batch = queue.get()
        if batch is None:
            break
        for key, name, cells in batch:
            writers[key].write(name, cells)
    for writer in writers.values():
        writer.close()


def _fix_zip_times(path: Path) -> None:
    """Rewrite an .xlsx so that zip entry times and docProps times are fixed (byte-identical runs)."""
    with zipfile.ZipFile(path) as zin:
        items = [(info.filename, zin.read(info.filename)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in items:
            if name == "docProps/core.xml":
                data = _fixed_core(data)
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(info, data)


def _fixed_core(data: bytes) -> bytes:
    import re

    text = data.decode("utf-8")
    for tag in ("dcterms:created", "dcterms:modified"):
        text = re.sub(rf"(<{tag}[^>]*>)[^<]*(</{tag}>)", r"\g<1>2000-01-01T00:00:00Z\g<2>", text)
    return text.encode("utf-8")


HM = tuple(f"{m // 60:02d}:{m % 60:02d}" for m in range(1440))
HHMM = tuple(h.replace(":", "") for h in HM)


@dataclass(frozen=True)
class Day:
    """One calendar day in the formats the partners use (cached: formatting is the hot path)."""

    date: date
    dmy: str  # dd-mm-yyyy
    ymd: str  # yyyy-mm-dd
    compact: str  # yyyymmdd
    offset: str  # UTC offset at noon, "+01:00" or "+02:00"
    dst_change: bool


class Clock:
    """Converts simulation time (days since the start date, local wall clock) to partner formats."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self._days: dict[int, Day] = {}

    @staticmethod
    def parts(t: float) -> tuple[int, int]:
        """(day index, minute of the day) of ``t``, rounded to the minute."""
        return divmod(math.floor(t * 1440 + 0.5), 1440)

    def day(self, d: int) -> Day:
        info = self._days.get(d)
        if info is None:
            when = (self.start + timedelta(days=d)).date()
            noon = datetime(when.year, when.month, when.day, 12, tzinfo=AMS)
            mid = datetime(when.year, when.month, when.day, 0, tzinfo=AMS)
            off = noon.strftime("%z")
            info = Day(
                when,
                when.strftime("%d-%m-%Y"),
                when.isoformat(),
                when.strftime("%Y%m%d"),
                f"{off[:3]}:{off[3:]}",
                mid.utcoffset() != noon.utcoffset(),
            )
            self._days[d] = info
        return info

    def dt(self, t: float) -> datetime:
        return self.start + timedelta(minutes=math.floor(t * 1440 + 0.5))

    def iso(self, t: float) -> str:
        d, m = self.parts(t)
        return f"{self.day(d).ymd}T{HM[m]}"

    def offset_iso(self, t: float, info: Day | None = None, m: int = 0) -> str:
        if info is None:
            d, m = self.parts(t)
            info = self.day(d)
        if info.dst_change:
            return self.dt(t).replace(tzinfo=AMS).isoformat(timespec="seconds")
        return f"{info.ymd}T{HM[m]}:00{info.offset}"


def impossible(kind: str, dt: datetime) -> str | datetime:
    """A timestamp that cannot exist (31st of a 30-day month, or 30 February), in the export's format."""
    month = (2, 4, 6, 9, 11)[dt.day % 5]
    day = 30 if month == 2 else 31
    hh, mm, yy = dt.hour, dt.minute, dt.year
    return {
        "indigo": f"{day:02d}-{month:02d}-{yy}",
        "pshv": f"{yy}-{month:02d}-{day:02d}T{hh:02d}:{mm:02d}:00",
        "smartflow": f"{day:02d}-{month:02d}-{yy} {hh:02d}:{mm:02d}",
        "coa": f"{yy}-{month:02d}-{day:02d} {hh:02d}:{mm:02d}",
        "dtv": f"{yy}-{month:02d}-{day:02d}T{hh:02d}:{mm:02d}:00+01:00",
        "kmar": f"{yy}{month:02d}{day:02d}",
    }[kind]


def misspellings(code: str, others: list[str]) -> list[str]:
    """Misspelt variants of ``code`` whose closest valid code (difflib) is still ``code``."""
    import difflib

    cands: list[str] = []
    for i in range(len(code) - 1):
        cands.append(code[:i] + code[i + 1] + code[i] + code[i + 2 :])  # swapped letters
    for i in range(1, len(code)):
        cands.append(code[:i] + code[i + 1 :])  # dropped letter
    cands.append(code.lower())
    keep: list[str] = []
    for cand in dict.fromkeys(cands):
        if len(keep) >= 3:
            break
        if cand == code or cand in others:
            continue
        if difflib.get_close_matches(cand, others, n=1, cutoff=0.0) == [code]:
            best = difflib.SequenceMatcher(None, cand, code).ratio()
            rivals = [difflib.SequenceMatcher(None, cand, o).ratio() for o in others if o != code]
            if all(r < best for r in rivals):
                keep.append(cand)
    return keep
