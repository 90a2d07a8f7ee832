"""The log profile: how a log that `miner ingest` did not make is read as a chain log.

A profile is a small TOML file (``docs/bring-your-own-log.md`` has the reference and a worked
example). Every key is optional; without a file the defaults below apply:

=================  =================================================================  ==============
key                meaning                                                            default
=================  =================================================================  ==============
[case]
object_type        the case notion: the object type whose objects are the foreigners  ``vreemdeling``,
                   (or the cases of a one-organisation log); an XES log's traces are  else the only
                   the type ``case``                                                  object type
identifiers        ``pseudonyms`` (the object ids are used as they are) or            ``pseudonyms``
                   ``v-nummers`` (raw V-nummers, pseudonymised on the way in with
                   the key file)
[organisation]
attribute          the event attribute that names the organisation that performed     ``organisation``,
                   the event                                                          ``org:group``,
                                                                                      ``org:resource``
object_type        or: the type of the object related to the event that is the
                   organisation (its id, without a ``type:`` prefix, is the name)
qualifier          or: the E2O qualifier of that object
partner            the event attribute naming the partner whose system recorded it   the organisation
source             the event attribute naming the system the event comes from        the events' source
[activities]
"<label in log>"   the catalogue label or id it stands for (exact catalogue labels
                   need no entry)
[attributes]
spoor              the event attribute holding the spoor (procedure track)
location           the event attribute holding the location (becomes a ``locatie`` object)
nationality        the case object's attribute holding the nationality
[columns]          for a CSV or Parquet event table only
activity           the column of the activity label (required for a table)
timestamp          the column of the time (required for a table)
case               the column of the case (its values become objects of [case] object_type,
                   default ``case``)
event_id, timestamp_format, timezone, delimiter: as :class:`miner.formats.tables.ColumnMapping`
[catalogue]
use                ``auto`` (the chain catalogue when most events carry its labels),  ``auto``
                   ``chain`` or ``none`` (the generic analyses only)
=================  =================================================================  ==============
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from miner.errors import SchemaError, UnknownNameError
from miner.formats.tables import ColumnMapping

#: event attributes tried in this order for the organisation when the profile names none
ORGANISATION_ATTRIBUTES = ("organisation", "org:group", "org:resource")
Identifiers = Literal["pseudonyms", "v-nummers"]
CatalogueUse = Literal["auto", "chain", "none"]

_SECTIONS: dict[str, tuple[str, ...]] = {
    "case": ("object_type", "identifiers"),
    "organisation": ("attribute", "object_type", "qualifier", "partner", "source"),
    "activities": (),
    "attributes": ("spoor", "location", "nationality"),
    "catalogue": ("use",),
    "columns": ("activity", "timestamp", "case", "event_id", "timestamp_format", "timezone",
                "delimiter"),
}


@dataclass(frozen=True)
class LogProfile:
    """A parsed profile (see the module docstring); ``path`` is the file it came from, if any."""

    object_type: str | None = None
    identifiers: Identifiers = "pseudonyms"
    organisation_attribute: str | None = None
    organisation_object_type: str | None = None
    organisation_qualifier: str | None = None
    partner_attribute: str | None = None
    source_attribute: str | None = None
    activities: dict[str, str] = field(default_factory=dict)
    spoor_attribute: str | None = None
    location_attribute: str | None = None
    nationality_attribute: str | None = None
    catalogue: CatalogueUse = "auto"
    columns: dict[str, str] = field(default_factory=dict)
    path: str | None = None

    def column_mapping(self, file: Path) -> ColumnMapping:
        """The :class:`ColumnMapping` of a CSV/Parquet ``file`` from ``[columns]``."""
        missing = [k for k in ("activity", "timestamp", "case") if k not in self.columns]
        if missing:
            raise SchemaError(
                f"{file}: an event table needs [columns] {', '.join(missing)} in a log profile "
                "(--profile FILE.toml): which columns hold the activity, the time and the case; "
                "see docs/bring-your-own-log.md.")
        c = self.columns
        return ColumnMapping(
            activity=c["activity"], timestamp=c["timestamp"],
            objects={c["case"]: self.object_type or "case"}, event_id=c.get("event_id"),
            timestamp_format=c.get("timestamp_format"), timezone=c.get("timezone", "UTC"),
            delimiter=c.get("delimiter"))

    @property
    def where(self) -> str:
        return self.path or "the default profile"


def _fail(path: str, where: str, found: object, fix: str) -> SchemaError:
    return SchemaError(f"{path}: {where} is {found!r}; {fix}")


def _string(path: str, section: str, table: dict[str, Any], key: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _fail(path, f"[{section}] {key}", value, "give a non-empty string")
    return value


def parse_profile(data: dict[str, Any], path: str = "<profile>") -> LogProfile:
    """A :class:`LogProfile` from the parsed TOML ``data``; unknown sections and keys are refused
    with the closest known name."""
    for section, table in data.items():
        if section not in _SECTIONS:
            raise UnknownNameError(f"section of the log profile {path}", section, _SECTIONS)
        if not isinstance(table, dict):
            raise _fail(path, f"[{section}]", table, "a section is a table of key = value lines")
        if section != "activities":
            for key in table:
                if key not in _SECTIONS[section]:
                    raise UnknownNameError(f"key of [{section}] in {path}", key, _SECTIONS[section])
    case = data.get("case", {})
    org = data.get("organisation", {})
    attrs = data.get("attributes", {})
    identifiers = case.get("identifiers", "pseudonyms")
    if identifiers not in ("pseudonyms", "v-nummers"):
        raise _fail(path, "[case] identifiers", identifiers,
                    "give 'pseudonyms' (ids used as they are) or 'v-nummers' (pseudonymised)")
    use = data.get("catalogue", {}).get("use", "auto")
    if use not in ("auto", "chain", "none"):
        raise _fail(path, "[catalogue] use", use, "give 'auto', 'chain' or 'none'")
    activities = data.get("activities", {})
    for label, target in activities.items():
        if not isinstance(target, str) or not target:
            raise _fail(path, f"[activities] \"{label}\"", target,
                        "give the catalogue label or id (A01 …) this log label stands for")
    ways = [k for k in ("attribute", "object_type", "qualifier") if org.get(k) is not None]
    if len(ways) > 1:
        raise _fail(path, "[organisation]", ways,
                    "name the organisation one way: attribute, object_type or qualifier")
    return LogProfile(
        object_type=_string(path, "case", case, "object_type"),
        identifiers=identifiers,
        organisation_attribute=_string(path, "organisation", org, "attribute"),
        organisation_object_type=_string(path, "organisation", org, "object_type"),
        organisation_qualifier=_string(path, "organisation", org, "qualifier"),
        partner_attribute=_string(path, "organisation", org, "partner"),
        source_attribute=_string(path, "organisation", org, "source"),
        activities=dict(activities),
        spoor_attribute=_string(path, "attributes", attrs, "spoor"),
        location_attribute=_string(path, "attributes", attrs, "location"),
        nationality_attribute=_string(path, "attributes", attrs, "nationality"),
        catalogue=use,
        columns={k: str(v) for k, v in data.get("columns", {}).items()},
        path=path,
    )


def load_profile(path: str | Path | None) -> LogProfile:
    """The profile in the TOML file ``path``, or the defaults when ``path`` is None."""
    if path is None:
        return LogProfile()
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text("utf-8"))
    except OSError as exc:
        raise SchemaError(f"{file}: cannot read the log profile ({exc.strerror}).") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(f"{file}: not valid TOML ({exc}); see docs/bring-your-own-log.md."
                          ) from exc
    return parse_profile(data, str(file))
