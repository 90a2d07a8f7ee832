"""Mapping files: how one partner export becomes events, objects and attributes, without code.

A mapping is a TOML file (documented with a worked example in ``docs/ingest.md``). Its sections:

* ``[source]`` — the export: ``name`` (unique; event ids start with it), ``partner`` (the
  organisation that recorded the rows), ``system``, ``files`` (glob patterns that find the export
  in a folder), ``table`` (its name in a database), ``kind`` (``events``, or ``figures`` for
  aggregate extracts such as KMI+), ``encoding``, ``delimiter``, ``sheet``, ``timezone`` (of local
  times; times with an offset keep theirs) and ``record_id`` (the export's own row id).
* ``[person]`` — the identifying fields: ``v_nummer``, ``name`` (one or more columns), ``date_of_birth``
  (+ ``date_of_birth_format``), ``nationality`` (+ ``nationality_code``: ``name_nl``, ``iso3`` or
  ``iso2``), and ``partner_id`` (+ ``partner_id_type``), the partner's own person or case number.
  These values are used for identity linking and then replaced by keyed pseudonyms; they are
  never stored.
* ``[[events]]`` — one or more events per row: ``activity`` (a column holding a code, translated by
  the ``codes`` table named) or ``activity_id`` (a fixed catalogue id), ``time`` (one or more
  columns joined with a space) parsed with ``time_format`` (``strptime`` codes; a list tries each), ``lifecycle``,
  ``required`` (a row without this time is quarantined; when false, no event is made) and ``when``
  (``{column, equals}``: only rows where the column has that value). The event's *organisation*
  (who performed the step) is the source's ``partner`` unless ``organisation`` fixes another, or
  ``organisation_codes`` names a ``[codes.<table>]`` of activity code → organisation (a step the
  partner records but another organisation performs, e.g. the lawyer's talks in INDiGO).
  ``performed_by = {column, codes, unknown}`` is for an event by which the partner registers the
  *result* of another organisation's step (DT&V records the arrival of the overdrachtsdossier that
  the IND, the Politie or the KMar sent, V01): for the activity codes listed, the event's
  *performer* attribute is read from the column (DT&V's ``bron``), an empty cell or a value in
  ``unknown`` (``overig``) giving ``''`` (not named). The organisation stays the recording one, so
  the hand-off analysis still measures the transfer at its receipt; the conformance lane check
  judges the performer (who did the modelled step).
* ``[[objects]]`` — other objects a row refers to: ``column``, ``type``, ``qualifier``.
* ``[attributes]`` — event attribute name = column. Columns the mapping does not use are carried
  through as attributes under their own name, except identifying ones.
* ``[checks]`` — data-quality checks: ``late_registration`` (``column``, ``format``, ``of``,
  ``max_days``) and ``missing_end`` (``end``, ``reason``, per ``partner_id``).
* ``[codes.<table>]`` — partner code → catalogue id (``miner/data/scenarios/chain.toml``).
* ``[figures]`` — for ``kind = "figures"``: the ``period``, ``indicator``, ``category`` and ``value``
  columns.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from miner.catalogue import chain_catalogue
from miner.errors import SchemaError, UnknownNameError

_STR = (str,)
_KEYS: dict[str, dict[str, tuple[type, ...]]] = {
    "source": {
        "name": _STR, "partner": _STR, "system": _STR, "description": _STR, "files": (list,),
        "table": _STR, "kind": _STR, "encoding": _STR, "delimiter": _STR, "sheet": _STR,
        "timezone": _STR, "record_id": _STR,
    },
    "person": {
        "v_nummer": _STR, "name": (str, list), "date_of_birth": _STR,
        "date_of_birth_format": (str, list), "nationality": _STR, "nationality_code": _STR,
        "partner_id": _STR, "partner_id_type": _STR,
    },
    "events": {
        "activity": _STR, "codes": _STR, "activity_id": _STR, "time": (str, list),
        "time_format": (str, list), "lifecycle": _STR, "required": (bool,), "when": (dict,),
        "organisation": _STR, "organisation_codes": _STR, "performed_by": (dict,),
    },
    "objects": {"column": _STR, "type": _STR, "qualifier": _STR},
    "figures": {"period": _STR, "indicator": _STR, "category": _STR, "value": _STR},
    "checks": {"late_registration": (dict,), "missing_end": (dict,)},
}
_TOP = ("source", "person", "events", "objects", "attributes", "checks", "codes", "figures")
_NATIONALITY_CODES = ("name_nl", "iso3", "iso2")
_KINDS = ("events", "figures")
_LIFECYCLES = ("start", "complete")


@dataclass(frozen=True)
class EventSpec:
    """How one event is made from a row (see the module docstring)."""

    time: tuple[str, ...]
    time_format: tuple[str, ...]
    activity: str | None = None
    codes: str | None = None
    activity_id: str | None = None
    lifecycle: str = "complete"
    required: bool = True
    when: tuple[str, str] | None = None
    organisation: str | None = None
    organisation_codes: str | None = None
    performed_by: tuple[str, tuple[str, ...], tuple[str, ...]] | None = None  # column, codes, unknown


@dataclass(frozen=True)
class ObjectSpec:
    """A non-person object a row refers to."""

    column: str
    type: str
    qualifier: str


@dataclass(frozen=True)
class PersonSpec:
    """The identifying columns of an export (all optional)."""

    v_nummer: str | None = None
    name: tuple[str, ...] = ()
    date_of_birth: str | None = None
    date_of_birth_format: tuple[str, ...] = ("%Y-%m-%d",)
    nationality: str | None = None
    nationality_code: str = "iso3"
    partner_id: str | None = None
    partner_id_type: str | None = None

    def columns(self) -> tuple[str, ...]:
        """Every identifying column: never stored, never carried through as an attribute."""
        single = (self.v_nummer, self.date_of_birth, self.nationality, self.partner_id)
        return tuple(c for c in (*single, *self.name) if c)


@dataclass(frozen=True)
class Mapping:
    """A parsed, checked mapping file."""

    path: str
    name: str
    partner: str
    system: str = ""
    description: str = ""
    files: tuple[str, ...] = ()
    table: str | None = None
    kind: str = "events"
    encoding: str = "utf-8"
    delimiter: str | None = None
    sheet: str | None = None
    timezone: str = "Europe/Amsterdam"
    record_id: str | None = None
    person: PersonSpec = PersonSpec()
    events: tuple[EventSpec, ...] = ()
    objects: tuple[ObjectSpec, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    figures: dict[str, str] = field(default_factory=dict)

    def used_columns(self) -> set[str]:
        """Every source column the mapping reads."""
        used = set(self.person.columns()) | set(self.attributes.values()) | set(self.figures.values())
        used |= {o.column for o in self.objects}
        for e in self.events:
            used |= set(e.time) | {c for c in (e.activity,) if c}
            if e.performed_by:
                used.add(e.performed_by[0])
            if e.when:
                used.add(e.when[0])
        for check in self.checks.values():
            used |= {v for k, v in check.items() if k in ("column", "of", "end", "reason")}
        if self.record_id:
            used.add(self.record_id)
        return used


def _fail(path: str, key: str, problem: str, fix: str) -> SchemaError:
    return SchemaError(f"{path}: key '{key}' {problem}. {fix}")


def _check_keys(path: str, section: str, table: dict[str, Any], where: str) -> None:
    allowed = _KEYS[section]
    for key, value in table.items():
        if key not in allowed:
            hint = UnknownNameError("key", key, allowed).args[0].split(". Known:")[1]
            raise _fail(path, f"{where}.{key}", "is unknown", f"Known:{hint}")
        if not isinstance(value, allowed[key]):
            kinds = " or ".join(t.__name__ for t in allowed[key])
            raise _fail(path, f"{where}.{key}", f"is {value!r}", f"Expected a {kinds}.")


def _columns(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def _require(path: str, table: dict[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise _fail(path, f"{where}.{key}", "is missing", "Add it; docs/ingest.md lists every key.")
    return table[key]


def parse_mapping(data: dict[str, Any], path: str) -> Mapping:
    """Check a mapping's keys, types and code tables and build a :class:`Mapping`.

    Every problem raises :class:`SchemaError` naming the file and the key.
    """
    for key in data:
        if key not in _TOP:
            hint = UnknownNameError("section", key, _TOP).args[0].split(". Known:")[1]
            raise _fail(path, key, "is not a section", f"Known:{hint}")
    source = data.get("source")
    if not isinstance(source, dict):
        raise _fail(path, "source", "is missing", "Every mapping starts with a [source] table.")
    _check_keys(path, "source", source, "source")
    kind = source.get("kind", "events")
    if kind not in _KINDS:
        raise _fail(path, "source.kind", f"is {kind!r}", f"Use one of {', '.join(_KINDS)}.")
    person_raw = data.get("person", {})
    _check_keys(path, "person", person_raw, "person")
    if person_raw.get("nationality_code", "iso3") not in _NATIONALITY_CODES:
        raise _fail(path, "person.nationality_code", f"is {person_raw['nationality_code']!r}",
                    f"Use one of {', '.join(_NATIONALITY_CODES)}.")
    person_values: dict[str, Any] = {
        k: (_columns(v) if k in ("name", "date_of_birth_format") else v)
        for k, v in person_raw.items()}
    person = PersonSpec(**person_values)
    codes = _parse_codes(path, data.get("codes", {}))
    events = tuple(
        _parse_event(path, e, i, codes) for i, e in enumerate(data.get("events", []), start=1)
    )
    if kind == "events" and not events:
        raise _fail(path, "events", "is missing", "An events mapping needs one [[events]] table.")
    objects = []
    for i, o in enumerate(data.get("objects", []), start=1):
        _check_keys(path, "objects", o, f"objects[{i}]")
        objects.append(ObjectSpec(*(str(_require(path, o, k, f"objects[{i}]"))
                                    for k in ("column", "type", "qualifier"))))
    figures = data.get("figures", {})
    _check_keys(path, "figures", figures, "figures")
    if kind == "figures":
        for key in _KEYS["figures"]:
            _require(path, figures, key, "figures")
    checks = data.get("checks", {})
    _check_keys(path, "checks", checks, "checks")
    attributes = data.get("attributes", {})
    for name, column in attributes.items():
        if not isinstance(column, str):
            raise _fail(path, f"attributes.{name}", f"is {column!r}", "Give the column name.")
    return Mapping(
        path=path,
        name=str(_require(path, source, "name", "source")),
        partner=str(_require(path, source, "partner", "source")),
        system=source.get("system", ""),
        description=source.get("description", ""),
        files=tuple(source.get("files", ())),
        table=source.get("table"),
        kind=kind,
        encoding=source.get("encoding", "utf-8"),
        delimiter=source.get("delimiter"),
        sheet=source.get("sheet"),
        timezone=source.get("timezone", "Europe/Amsterdam"),
        record_id=source.get("record_id"),
        person=person,
        events=events,
        objects=tuple(objects),
        attributes=dict(attributes),
        checks={k: dict(v) for k, v in checks.items()},
        codes=codes,
        figures=dict(figures),
    )


def _parse_codes(path: str, codes: dict[str, Any]) -> dict[str, dict[str, str]]:
    catalogue = chain_catalogue()
    parsed: dict[str, dict[str, str]] = {}
    for table, entries in codes.items():
        if not isinstance(entries, dict):
            raise _fail(path, f"codes.{table}", "is not a table", "Write code = \"A01\" lines.")
        for code, target in entries.items():
            if table.startswith("activit") and target not in catalogue:
                close = UnknownNameError("id", str(target), catalogue).args[0].split(". Known:")[1]
                raise _fail(path, f"codes.{table}.{code}", f"names catalogue id {target!r}, "
                            "which does not exist", f"Ids are in chain.toml.{close.split('…')[-1]}")
        parsed[table] = {str(k): str(v) for k, v in entries.items()}
    return parsed


def _parse_event(
    path: str, raw: dict[str, Any], index: int, codes: dict[str, dict[str, str]]
) -> EventSpec:
    where = f"events[{index}]"
    _check_keys(path, "events", raw, where)
    if ("activity" in raw) == ("activity_id" in raw):
        raise _fail(path, where, "needs exactly one of 'activity' (a column) or 'activity_id'",
                    "Name the code column with its codes table, or a fixed catalogue id.")
    if "activity" in raw and raw.get("codes") not in codes:
        raise _fail(path, f"{where}.codes", f"names table {raw.get('codes')!r}, which is not "
                    "under [codes]", f"Tables: {', '.join(codes) or 'none'}.")
    if "activity_id" in raw and raw["activity_id"] not in chain_catalogue():
        raise _fail(path, f"{where}.activity_id", f"is {raw['activity_id']!r}, not a catalogue id",
                    "Ids are in miner/data/scenarios/chain.toml.")
    if raw.get("lifecycle", "complete") not in _LIFECYCLES:
        raise _fail(path, f"{where}.lifecycle", f"is {raw['lifecycle']!r}",
                    f"Use one of {', '.join(_LIFECYCLES)}.")
    when = raw.get("when")
    if when is not None and set(when) != {"column", "equals"}:
        raise _fail(path, f"{where}.when", f"is {when!r}", "Write when = {column = ..., equals = ...}.")
    performed = raw.get("performed_by")
    if performed is not None and (
            not {"column", "codes"} <= set(performed) <= {"column", "codes", "unknown"}
            or not isinstance(performed["codes"], list)
            or not isinstance(performed.get("unknown", []), list)):
        raise _fail(path, f"{where}.performed_by", f"is {performed!r}",
                    'Write performed_by = {column = "...", codes = ["..."], unknown = ["..."]}.')
    return EventSpec(
        time=_columns(_require(path, raw, "time", where)),
        time_format=_columns(_require(path, raw, "time_format", where)),
        activity=raw.get("activity"),
        codes=raw.get("codes"),
        activity_id=raw.get("activity_id"),
        lifecycle=raw.get("lifecycle", "complete"),
        required=raw.get("required", True),
        when=(str(when["column"]), str(when["equals"])) if when else None,
        organisation=raw.get("organisation"),
        organisation_codes=raw.get("organisation_codes"),
        performed_by=(str(performed["column"]), tuple(map(str, performed["codes"])),
                      tuple(map(str, performed.get("unknown", [])))) if performed else None,
    )


def read_mapping(path: str | Path) -> Mapping:
    """Read and check one mapping file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SchemaError(f"{path}: mapping file not found. Check the path.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(f"{path}: not valid TOML ({exc}). Fix the file at that position.") from exc
    return parse_mapping(data, str(path))


def shipped_mappings() -> list[Mapping]:
    """The mappings shipped for the simulated chain's exports (``miner/data/mappings``)."""
    folder = resources.files("miner") / "data" / "mappings"
    found = sorted((p for p in folder.iterdir() if p.name.endswith(".toml")), key=lambda p: p.name)
    return [
        parse_mapping(tomllib.loads(p.read_text("utf-8")), f"miner/data/mappings/{p.name}")
        for p in found
    ]
