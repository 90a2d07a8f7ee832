"""The activity taxonomy: what each catalogue activity is *for*, and what one performance costs.

A **purpose** is the aim an activity serves for the foreigner's case (registratie,
identiteitsonderzoek, gehoor, …). Two activities with the same purpose do the same work, whoever
performs them: that is what the duplicate-work analysis (:mod:`miner.analysis.duplicates`) looks
for. A purpose is ``duplicate = true`` when a repeat for the same foreigner is duplicate work, and
false when its activities form a series by design (stays, the lawyer's conversations, successive
decisions).

**Effort** (``effort_hours``) is the default hours of work of one performance of an activity; the
seeds give none, so the shipped values are assumptions ([I]) for users to replace.

The **window** (``window_days``) of a purpose is the longest gap between two of its occurrences for
one foreigner that still makes the later one a repeat of the earlier. A purpose's own
``window_days`` wins over the default in ``[settings]``; with neither, the window is the whole
journey (no limit), and so is ``inf``. The shipped taxonomy sets none.

A **finding** is a named kind of duplicate work the audit describes (double registration, double
entry, triple identity check, …): a purpose and the occurrences that must all be present, each
given by any of ``organisation``, ``source`` (the system that recorded it) and ``activity``.

The shipped taxonomy is ``miner/data/taxonomy.toml`` (its header documents the format). A user file
with the same sections overrides it: ``[settings]`` keys, ``[purpose.<name>]`` and ``[activity]``
entries key by key, ``[[finding]]`` tables by ``id`` (a new id adds a finding). Every problem raises
:class:`~miner.errors.SchemaError` naming the file and the key.
"""

from __future__ import annotations

import copy
import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from miner.catalogue import chain_catalogue
from miner.errors import SchemaError, UnknownNameError

SHIPPED = "miner/data/taxonomy.toml"
_TOP = ("settings", "purpose", "activity", "finding")
_NUM = (int, float)
_KEYS: dict[str, dict[str, tuple[type, ...]]] = {
    "settings": {"session_hours": _NUM, "window_days": _NUM},
    "purpose": {"duplicate": (bool,), "description": (str,), "seed": (str,),
                "window_days": _NUM},
    "activity": {"purpose": (str,), "effort_hours": _NUM},
    "finding": {"id": (str,), "name": (str,), "purpose": (str,), "requires": (list,),
                "description": (str,), "seed": (str,)},
    "requires": {"organisation": (str,), "source": (str,), "activity": (str,)},
}
_REQUIRED = {
    "settings": ("session_hours",),
    "purpose": ("duplicate",),
    "activity": ("purpose", "effort_hours"),
    "finding": ("id", "name", "purpose", "requires"),
}


@dataclass(frozen=True)
class Purpose:
    """One purpose: ``name``, whether repeats are ``duplicate`` work, ``description``, ``seed``,
    and its ``window_days`` (its own, else the ``[settings]`` default; None = the whole journey)."""

    name: str
    duplicate: bool
    description: str = ""
    seed: str = ""
    window_days: float | None = None


@dataclass(frozen=True)
class Requirement:
    """One occurrence a finding needs: by this ``organisation``, in this ``source`` system, holding
    this ``activity`` (None = any)."""

    organisation: str | None = None
    source: str | None = None
    activity: str | None = None

    def text(self) -> str:
        given = (("organisation", self.organisation), ("source", self.source),
                 ("activity", self.activity))
        return ", ".join(f"{k}={v}" for k, v in given if v)


@dataclass(frozen=True)
class Finding:
    """A named kind of duplicate work (see the module docstring)."""

    id: str
    name: str
    purpose: str
    requires: tuple[Requirement, ...]
    description: str = ""
    seed: str = ""


@dataclass(frozen=True)
class Taxonomy:
    """A checked taxonomy: ``purposes`` by name, ``activities`` (catalogue id → (purpose,
    effort_hours)), ``findings`` in file order, ``session_hours``, the ``path``(s) read and the
    default ``window_days`` of ``[settings]`` (None = the whole journey)."""

    purposes: dict[str, Purpose]
    activities: dict[str, tuple[str, float]]
    findings: tuple[Finding, ...]
    session_hours: float
    path: str = SHIPPED
    window_days: float | None = None

    def finding(self, finding_id: str) -> Finding:
        for f in self.findings:
            if f.id == finding_id:
                return f
        raise UnknownNameError("finding", finding_id, [f.id for f in self.findings])

    def duplicate_activities(self) -> dict[str, tuple[str, float]]:
        """The activities whose purpose is ``duplicate = true``."""
        return {a: pe for a, pe in self.activities.items() if self.purposes[pe[0]].duplicate}


def _fail(path: str, key: str, problem: str, fix: str) -> SchemaError:
    return SchemaError(f"{path}: key '{key}' {problem}. {fix}")


def _hint(what: str, found: str, known: list[str]) -> str:
    return str(UnknownNameError(what, found, known).args[0]).split(". Known:")[1].strip()


def window(days: float | None, what: str) -> float | None:
    """A window in days as given (None or ``inf``: the whole journey, returned as None); ``what``
    names it in the ValueError raised for a negative or NaN value."""
    if days is None or days == math.inf:
        return None
    if math.isnan(days) or days < 0:
        raise ValueError(f"{what} is {days!r}; give a number of days >= 0 (or inf: the whole "
                         "journey)")
    return days


def _window(path: str, key: str, days: float | None) -> float | None:
    try:
        return window(days, key)
    except ValueError:
        raise _fail(path, key, f"is {days!r}", "Give a number of days >= 0, or leave the key out "
                    "(or write inf) for the whole journey.") from None


def _check_table(path: str, section: str, table: Any, where: str, *, partial: bool) -> None:
    if not isinstance(table, dict):
        raise _fail(path, where, f"is {table!r}", "Expected a table.")
    allowed = _KEYS[section]
    for key, value in table.items():
        if key not in allowed:
            raise _fail(path, f"{where}.{key}", "is unknown",
                        f"Known: {_hint('key', key, list(allowed))}")
        wrong_bool = isinstance(value, bool) and bool not in allowed[key]
        if not isinstance(value, allowed[key]) or wrong_bool:
            kinds = " or ".join(dict.fromkeys("number" if t in _NUM else t.__name__
                                              for t in allowed[key]))
            raise _fail(path, f"{where}.{key}", f"is {value!r}", f"Expected a {kinds}.")
    if not partial:
        for key in _REQUIRED.get(section, ()):
            if key not in table:
                raise _fail(path, f"{where}.{key}", "is missing",
                            f"Add it; {SHIPPED} shows every key.")


def _check_shape(data: dict[str, Any], path: str, *, partial: bool) -> None:
    """Sections, keys and types of one file (``partial``: a user file may give only some keys)."""
    for key in data:
        if key not in _TOP:
            raise _fail(path, key, "is not a section",
                        f"Known: {_hint('section', key, list(_TOP))}")
    _check_table(path, "settings", data.get("settings", {}), "settings", partial=partial)
    for name, table in _table(path, data, "purpose").items():
        _check_table(path, "purpose", table, f"purpose.{name}", partial=partial)
    for act, table in _table(path, data, "activity").items():
        _check_table(path, "activity", table, f"activity.{act}", partial=partial)
    findings = data.get("finding", [])
    if not isinstance(findings, list):
        raise _fail(path, "finding", "is not an array of tables", "Write [[finding]] tables.")
    for i, table in enumerate(findings, start=1):
        _check_table(path, "finding", table, f"finding[{i}]", partial=False)
        for j, req in enumerate(table["requires"], start=1):
            _check_table(path, "requires", req, f"finding[{i}].requires[{j}]", partial=False)


def _table(path: str, data: dict[str, Any], section: str) -> dict[str, Any]:
    table = data.get(section, {})
    if not isinstance(table, dict):
        raise _fail(path, section, f"is {table!r}", "Expected a table.")
    return table


def _merge(base: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    merged.setdefault("settings", {}).update(user.get("settings", {}))
    for section in ("purpose", "activity"):
        target = merged.setdefault(section, {})
        for name, table in user.get(section, {}).items():
            target[name] = {**target.get(name, {}), **table}
    findings = merged.setdefault("finding", [])
    for table in user.get("finding", []):
        at = [i for i, f in enumerate(findings) if f.get("id") == table["id"]]
        if at:
            findings[at[0]] = table
        else:
            findings.append(table)
    return merged


def parse_taxonomy(data: dict[str, Any], path: str = SHIPPED) -> Taxonomy:
    """Check a complete taxonomy (shape and meaning) and build a :class:`Taxonomy`."""
    _check_shape(data, path, partial=False)
    session = float(_table(path, data, "settings").get("session_hours", 0) or 0)
    if "settings" not in data or session <= 0:
        raise _fail(path, "settings.session_hours", f"is {session!r}" if "settings" in data
                    else "is missing", "Give a number of hours > 0.")
    default = _window(path, "settings.window_days",
                      _table(path, data, "settings").get("window_days"))
    purposes = {
        name: Purpose(name, t["duplicate"], t.get("description", ""), t.get("seed", ""),
                      _window(path, f"purpose.{name}.window_days", t["window_days"])
                      if "window_days" in t else default)
        for name, t in _table(path, data, "purpose").items()}
    catalogue = chain_catalogue()
    activities: dict[str, tuple[str, float]] = {}
    for act, t in _table(path, data, "activity").items():
        if act not in catalogue:
            raise _fail(path, f"activity.{act}", "is not a catalogue id",
                        "Ids are in miner/data/scenarios/chain.toml. "
                        f"Known: {_hint('id', act, list(catalogue))}")
        if t["purpose"] not in purposes:
            raise _fail(path, f"activity.{act}.purpose", f"is {t['purpose']!r}, not a [purpose.*] "
                        "table", f"Known: {_hint('purpose', t['purpose'], list(purposes))}")
        if t["effort_hours"] < 0:
            raise _fail(path, f"activity.{act}.effort_hours", f"is {t['effort_hours']!r}",
                        "Give a number of hours >= 0.")
        activities[act] = (t["purpose"], float(t["effort_hours"]))
    missing = [a for a in catalogue if a not in activities]
    if missing:
        raise _fail(path, f"activity.{missing[0]}", "is missing",
                    f"Every catalogue activity needs a purpose; missing: {', '.join(missing)}.")
    findings = tuple(_finding(path, t, purposes, activities) for t in data.get("finding", []))
    ids = [f.id for f in findings]
    for fid in ids:
        if ids.count(fid) > 1:
            raise _fail(path, f"finding[{fid}].id", "is used twice",
                        "Give each finding its own id.")
    return Taxonomy(purposes, activities, findings, session, path, default)


def _finding(path: str, t: dict[str, Any], purposes: dict[str, Purpose],
             activities: dict[str, tuple[str, float]]) -> Finding:
    where = f"finding[{t['id']}]"
    if not t["id"].replace("_", "").isalnum():
        raise _fail(path, f"{where}.id", f"is {t['id']!r}", "Use letters, digits and '_' only.")
    purpose = purposes.get(t["purpose"])
    if purpose is None:
        raise _fail(path, f"{where}.purpose", f"is {t['purpose']!r}, not a [purpose.*] table",
                    f"Known: {_hint('purpose', t['purpose'], list(purposes))}")
    if not purpose.duplicate:
        raise _fail(path, f"{where}.purpose", f"is {purpose.name!r}, which has duplicate = false",
                    "Name a purpose whose repeats are duplicate work.")
    requires = tuple(Requirement(**r) for r in t["requires"])
    if len(requires) < 2 or len(set(requires)) < len(requires):
        raise _fail(path, f"{where}.requires", f"has {len(requires)} entries, "
                    f"{len(set(requires))} distinct", "Give at least two different entries.")
    for j, r in enumerate(requires, start=1):
        if not (r.organisation or r.source or r.activity):
            raise _fail(path, f"{where}.requires[{j}]", "is empty",
                        "Give organisation, source and/or activity.")
        if r.activity is not None and activities.get(r.activity, ("",))[0] != purpose.name:
            raise _fail(path, f"{where}.requires[{j}].activity", f"is {r.activity!r}, which is not "
                        f"an activity of purpose {purpose.name!r}",
                        "Name a catalogue id listed under [activity] with that purpose.")
    return Finding(t["id"], t["name"], purpose.name, requires, t.get("description", ""),
                   t.get("seed", ""))


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SchemaError(f"{path}: taxonomy file not found. Check the path.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(
            f"{path}: not valid TOML ({exc}). Fix the file at that position.") from exc


def shipped_data() -> dict[str, Any]:
    """The shipped taxonomy file as parsed TOML."""
    text = (resources.files("miner") / "data" / "taxonomy.toml").read_text("utf-8")
    return tomllib.loads(text)


def load_taxonomy(user: str | Path | None = None) -> Taxonomy:
    """The shipped taxonomy, overridden by the ``user`` file when one is given (see the module
    docstring); errors in the user file name that file."""
    data = shipped_data()
    if user is None:
        return parse_taxonomy(data)
    path = Path(user)
    extra = _read(path)
    _check_shape(extra, str(path), partial=True)
    return parse_taxonomy(_merge(data, extra), f"{path} (over {SHIPPED})")
