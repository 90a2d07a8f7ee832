"""Adopting a log: giving an in-memory copy of any log the shape the chain analyses read.

The chain analyses read a workspace made by ``miner ingest`` (:mod:`miner.analysis.journey`): each
event linked by the E2O qualifier ``vreemdeling`` to an object of type ``vreemdeling`` (the
foreigner, a pseudonym), its catalogue id in the event attribute ``activity_id``, who performed it
in ``organisation``, whose system recorded it in ``partner``. :func:`adopt` writes exactly that into
a log read from a file, following a :class:`~miner.adopt.profile.LogProfile`:

* the **case notion** (the profile's object type) becomes the foreigner: its objects get the type
  ``vreemdeling`` and their links the qualifier ``vreemdeling`` (one link per event and case);
* **activities**: a label equal to a catalogue label (exact Dutch) is that activity; the profile
  maps other labels. The log is a **chain log** when most events (at least
  :data:`CHAIN_SHARE`) carry a catalogue activity, or the profile says so; then unmapped labels
  are listed with the closest catalogue label. Otherwise it is a **generic log**: every label is
  its own step (``activity_id`` = the label) and only the analyses that need no catalogue run;
* **organisation** from the attribute or object the profile names (or the first of
  :data:`~miner.adopt.profile.ORGANISATION_ATTRIBUTES` present); **partner** from its attribute,
  else the organisation;
* **pseudonyms**: with ``identifiers = "v-nummers"`` each case id is replaced by the keyed
  pseudonym ingest gives a V-nummer, and every attribute value equal to a raw id is dropped;
  otherwise the ids are used as they are, and ids that look like raw V-nummers are refused.

What was decided is kept in the table ``adopted_log`` (key, value) and the unmapped labels in
``adopted_unmapped``; :func:`log_facts` reads them back.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from miner.adopt.profile import ORGANISATION_ATTRIBUTES, LogProfile
from miner.catalogue import chain_catalogue
from miner.errors import SchemaError, UnknownNameError
from miner.model.filters import attribute_text, sql_literal
from miner.model.log import Log, first_row

if TYPE_CHECKING:
    from miner.ingest.pseudonyms import PseudonymKey

FOREIGNER = "vreemdeling"
#: share of events with a catalogue activity from which a log is read as a chain log ("auto")
CHAIN_SHARE = 0.5
#: share of case ids of ten digits from which they are taken for raw V-nummers
V_NUMMER_SHARE = 0.9
_TEXT = attribute_text("a")


@dataclass(frozen=True)
class UnmappedLabel:
    """An activity label of a chain log that is no catalogue activity, with its closest label."""

    label: str
    events: int
    closest: str | None


@dataclass(frozen=True)
class LogFacts:
    """What :func:`adopt` decided (or, for an ingested workspace, what ingest guarantees).

    ``kind``: ``ingested``, ``chain`` or ``generic``; ``case_type``: the object type read as the
    foreigner; ``organisation``: where the organisation came from (None: the log has none);
    ``catalogue_share``: share of events with a catalogue activity; ``sources``: the distinct
    source systems of the events; ``profile``: the profile file (None: defaults); ``file``: the
    log file adopted."""

    kind: str
    case_type: str
    organisation: str | None
    catalogue_share: float
    sources: int
    profile: str | None
    unmapped: tuple[UnmappedLabel, ...] = ()
    file: str | None = None

    @property
    def chain(self) -> bool:
        """Whether the chain catalogue applies (an ingested workspace or a chain log)."""
        return self.kind in ("ingested", "chain")


def adopt(log: Log, profile: LogProfile, *, object_type: str | None = None,
          key_file: str | None = None, key: PseudonymKey | None = None,
          name: str = "the log") -> LogFacts:
    """Give the writable in-memory ``log`` the chain shape (see the module docstring); ``name``
    (the file it was read from) is named in errors. Raw V-nummers are pseudonymised with ``key``,
    else with the key of ``key_file`` (else ``MINER_PSEUDONYM_KEY``).

    Raises:
        SchemaError: the case notion, the organisation or an activity mapping of the profile does
            not fit the log (the message names the profile, what was found and the fix).
    """
    con = log.con
    case_type = _case_notion(log, profile, object_type, name)
    _foreigners(log, case_type, profile, key or key_file, name)
    share, unmapped = _activities(log, profile)
    use = profile.catalogue if profile.catalogue != "auto" else (
        "chain" if share >= CHAIN_SHARE else "none")
    kind = "chain" if use == "chain" else "generic"
    if kind == "generic":
        con.execute("DELETE FROM event_attributes WHERE name = 'activity_id'")
        _add_attribute(log, "activity_id", "SELECT event_id, event_type FROM events")
        unmapped = []
    organisation = _organisation(log, profile)
    _copy_attribute(log, profile.partner_attribute, "partner")
    if not _has_attribute(log, "partner") and organisation is not None:
        _add_attribute(log, "partner", "SELECT a.event_id, a.value_string FROM event_attributes a "
                                       "WHERE a.name = 'organisation'")
    if profile.source_attribute is not None:
        _require_attribute(log, profile, profile.source_attribute, "[organisation] source")
        con.execute(f"""
            UPDATE events SET source = s.value FROM (
                SELECT a.event_id, any_value({_TEXT}) AS value FROM event_attributes a
                WHERE a.name = {sql_literal(profile.source_attribute)} GROUP BY 1) s
            WHERE events.event_id = s.event_id""")
    _copy_attribute(log, profile.spoor_attribute, "spoor")
    _locations(log, profile)
    _nationality(log, profile)
    from miner.ingest.store import create_ingest_tables
    create_ingest_tables(con)
    sources = first_row(con.execute("SELECT count(DISTINCT source) FROM events"))
    facts = LogFacts(kind, case_type, organisation, share, int(sources[0]) if sources else 0,
                     profile.path, tuple(unmapped), name)
    _save(log, facts)
    from miner.model.case_index import build_case_index
    build_case_index(log)
    return facts


def log_facts(log: Log) -> LogFacts:
    """The facts of an adopted log, or of an ingested workspace (kind ``ingested``)."""
    con = log.con
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "adopted_log" in tables:
        values = dict(con.execute("SELECT key, value FROM adopted_log").fetchall())
        unmapped = tuple(UnmappedLabel(*r) for r in con.execute(
            "SELECT label, events, closest FROM adopted_unmapped ORDER BY events DESC, label"
        ).fetchall())
        return LogFacts(values["kind"], values["case_type"], values.get("organisation"),
                        float(values["catalogue_share"]), int(values["sources"]),
                        values.get("profile"), unmapped, values.get("file"))
    sources = first_row(con.execute("SELECT count(DISTINCT source) FROM events"))
    return LogFacts("ingested", FOREIGNER, "organisation", 1.0,
                    int(sources[0]) if sources else 0, None)


def _save(log: Log, facts: LogFacts) -> None:
    con = log.con
    con.execute("CREATE OR REPLACE TABLE adopted_log (key VARCHAR, value VARCHAR)")
    values = {"kind": facts.kind, "case_type": facts.case_type, "organisation": facts.organisation,
              "catalogue_share": repr(facts.catalogue_share), "sources": str(facts.sources),
              "profile": facts.profile, "file": facts.file}
    con.executemany("INSERT INTO adopted_log VALUES (?, ?)",
                    [(k, v) for k, v in values.items() if v is not None])
    con.execute("CREATE OR REPLACE TABLE adopted_unmapped (label VARCHAR, events BIGINT, "
                "closest VARCHAR)")
    if facts.unmapped:
        con.executemany("INSERT INTO adopted_unmapped VALUES (?, ?, ?)",
                        [(u.label, u.events, u.closest) for u in facts.unmapped])


def _case_notion(log: Log, profile: LogProfile, object_type: str | None, name: str) -> str:
    types = log.object_types()
    wanted = object_type or profile.object_type
    if wanted is None:
        if FOREIGNER in types:
            wanted = FOREIGNER
        elif len(types) == 1:
            wanted = types[0]
        else:
            raise SchemaError(
                f"{name}: which objects are the foreigners (or cases)? The log has "
                f"{len(types)} object types ({', '.join(types) or 'none'}); give --object-type T "
                f"or [case] object_type = \"T\" in a log profile (docs/bring-your-own-log.md).")
    if wanted not in types:
        raise UnknownNameError(f"object type (the case notion, {profile.where})", wanted, types)
    if wanted != FOREIGNER and FOREIGNER in types:
        raise SchemaError(
            f"{name}: the case notion is '{wanted}', but the log also has "
            f"'{FOREIGNER}' objects; choose --object-type {FOREIGNER} or rename them.")
    con = log.con
    if wanted != FOREIGNER:
        con.execute("UPDATE objects SET object_type = ? WHERE object_type = ?", [FOREIGNER, wanted])
        con.execute("UPDATE object_types SET object_type = ? WHERE object_type = ?",
                    [FOREIGNER, wanted])
    # one link per event and case, qualified as ingest qualifies it
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _adopt_links AS
        SELECT eo.event_id, eo.object_id, min(eo.seq) AS seq FROM event_objects eo
        JOIN objects o ON o.object_id = eo.object_id AND o.object_type = '{FOREIGNER}'
        GROUP BY ALL""")
    con.execute(f"DELETE FROM event_objects WHERE object_id IN "
                f"(SELECT object_id FROM objects WHERE object_type = '{FOREIGNER}')")
    con.execute(f"INSERT INTO event_objects (event_id, object_id, qualifier, seq) "
                f"SELECT event_id, object_id, '{FOREIGNER}', seq FROM _adopt_links")
    con.execute("DROP TABLE _adopt_links")
    return wanted


def _foreigners(log: Log, case_type: str, profile: LogProfile,
                key_or_file: PseudonymKey | str | None, name: str) -> None:
    """Pseudonymise raw V-nummers (``identifiers = "v-nummers"``), refuse ids that look raw."""
    con = log.con
    row = first_row(con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE regexp_full_match("
        f"regexp_replace(object_id, '^[^:]*:', ''), '[0-9]{{10}}')) FROM objects "
        f"WHERE object_type = '{FOREIGNER}'"))
    total, raw = (int(row[0]), int(row[1])) if row else (0, 0)
    if profile.identifiers == "pseudonyms":
        if total and raw >= V_NUMMER_SHARE * total:
            raise SchemaError(
                f"{name}: {raw:,} of the {total:,} '{case_type}' ids are ten "
                "digits, like raw V-nummers. miner never keeps a raw V-nummer: set [case] "
                "identifiers = \"v-nummers\" in a log profile and give --key-file (the ingest key) "
                "to pseudonymise them on the way in, or, if they are not V-nummers, prefix them.")
        return
    from miner.ingest.pseudonyms import PseudonymKey

    key = (key_or_file if isinstance(key_or_file, PseudonymKey)
           else PseudonymKey.load(key_or_file))
    ids = [r[0] for r in con.execute(
        f"SELECT object_id FROM objects WHERE object_type = '{FOREIGNER}'").fetchall()]
    pairs = []
    for n, object_id in enumerate(ids, start=1):
        digits = object_id.rsplit(":", 1)[-1].replace(" ", "").replace(".", "")
        if not (len(digits) == 10 and digits.isdigit()):
            raise SchemaError(
                f"{name}: '{case_type}' object {n} (in read order) has an id that "
                "is not a V-nummer of ten digits ([case] identifiers = \"v-nummers\" says every id "
                "is one); fix the id or use identifiers = \"pseudonyms\".")
        pairs.append((object_id, f"{FOREIGNER}:{key.pseudonym('v_nummer', digits)}"))
    con.execute("CREATE OR REPLACE TEMP TABLE _adopt_ids (raw VARCHAR, pseudonym VARCHAR)")
    con.executemany("INSERT INTO _adopt_ids VALUES (?, ?)", pairs)
    for table, column in (("objects", "object_id"), ("event_objects", "object_id"),
                          ("object_attributes", "object_id"), ("object_objects", "source_id"),
                          ("object_objects", "target_id")):
        con.execute(f"UPDATE {table} SET {column} = i.pseudonym FROM _adopt_ids i "
                    f"WHERE {table}.{column} = i.raw")
    digits_sql = "regexp_replace(regexp_replace(raw, '^.*:', ''), '[ .]', '', 'g')"
    for table in ("event_attributes", "object_attributes"):
        con.execute(f"DELETE FROM {table} WHERE value_string IN "
                    f"(SELECT raw FROM _adopt_ids UNION SELECT {digits_sql} FROM _adopt_ids)")
    con.execute("DROP TABLE _adopt_ids")


def _activities(log: Log, profile: LogProfile) -> tuple[float, list[UnmappedLabel]]:
    """Map the labels onto the catalogue; returns the share of events mapped and the rest."""
    con = log.con
    catalogue = chain_catalogue()
    by_label = {a.label: a for a in catalogue.values()}
    targets: dict[str, tuple[str, str]] = {}
    for label, target in profile.activities.items():
        activity = catalogue.get(target) or by_label.get(target)
        if activity is None:
            raise UnknownNameError(
                f"catalogue activity for the label {label!r} ([activities] in {profile.where})",
                target, [*by_label, *catalogue])
        targets[label] = (activity.id, activity.label)
    labels = dict(con.execute("SELECT event_type, count(*) FROM events GROUP BY 1").fetchall())
    mapping = {label: targets.get(label) or ((by_label[label].id, label) if label in by_label
                                             else None) for label in labels}
    pairs = [(label, m[0], m[1]) for label, m in mapping.items() if m is not None]
    con.execute("CREATE OR REPLACE TEMP TABLE _adopt_labels (label VARCHAR, id VARCHAR, "
                "catalogue_label VARCHAR)")
    if pairs:
        con.executemany("INSERT INTO _adopt_labels VALUES (?, ?, ?)", pairs)
    _add_attribute(log, "activity_id", "SELECT e.event_id, l.id FROM events e "
                                       "JOIN _adopt_labels l ON l.label = e.event_type")
    con.execute("UPDATE events SET event_type = l.catalogue_label FROM _adopt_labels l "
                "WHERE events.event_type = l.label AND l.label <> l.catalogue_label")
    con.execute("DROP TABLE _adopt_labels")
    total = sum(labels.values())
    mapped = sum(n for label, n in labels.items() if mapping[label] is not None)
    unmapped = [UnmappedLabel(label, n, next(iter(difflib.get_close_matches(
        label, list(by_label), n=1, cutoff=0.5)), None))
        for label, n in sorted(labels.items(), key=lambda x: (-x[1], x[0]))
        if mapping[label] is None]
    return (mapped / total if total else 0.0), unmapped


def _organisation(log: Log, profile: LogProfile) -> str | None:
    """Fill the ``organisation`` attribute; returns where it came from (None: nowhere)."""
    con = log.con
    if profile.organisation_object_type or profile.organisation_qualifier:
        if profile.organisation_object_type:
            where, what = "o.object_type", profile.organisation_object_type
            found = con.execute("SELECT 1 FROM objects WHERE object_type = ? LIMIT 1", [what])
        else:
            where, what = "eo.qualifier", str(profile.organisation_qualifier)
            found = con.execute("SELECT 1 FROM event_objects WHERE qualifier = ? LIMIT 1", [what])
        if first_row(found) is None:
            raise SchemaError(f"{profile.where}: [organisation] names {what!r}, but no event is "
                              "related to such an object; check the object types and qualifiers "
                              "(`miner stats LOG`).")
        con.execute("DELETE FROM event_attributes WHERE name = 'organisation'")
        _add_attribute(log, "organisation", f"""
            SELECT eo.event_id, min(regexp_replace(eo.object_id, '^' || o.object_type || ':', ''))
            FROM event_objects eo JOIN objects o USING (object_id)
            WHERE {where} = {sql_literal(what)} GROUP BY 1""")
        return f"{'object type' if profile.organisation_object_type else 'qualifier'} {what}"
    if profile.organisation_attribute is not None:
        _require_attribute(log, profile, profile.organisation_attribute, "[organisation] attribute")
        chosen = profile.organisation_attribute
    else:
        present = [a for a in ORGANISATION_ATTRIBUTES if _has_attribute(log, a)]
        if not present:
            return None
        chosen = present[0]
    if chosen != "organisation":
        con.execute("DELETE FROM event_attributes WHERE name = 'organisation'")
        _copy_attribute(log, chosen, "organisation")
    return f"attribute {chosen}"


def _locations(log: Log, profile: LogProfile) -> None:
    name = profile.location_attribute
    if name is None:
        return
    _require_attribute(log, profile, name, "[attributes] location")
    con = log.con
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _adopt_loc AS
        SELECT a.event_id, 'locatie:' || {_TEXT} AS object_id FROM event_attributes a
        WHERE a.name = {sql_literal(name)}""")
    con.execute("""
        INSERT INTO objects (object_id, object_type, seq)
        SELECT object_id, 'locatie', (SELECT coalesce(max(seq), -1) FROM objects)
               + row_number() OVER (ORDER BY object_id)
        FROM (SELECT DISTINCT object_id FROM _adopt_loc
              WHERE object_id NOT IN (SELECT object_id FROM objects))""")
    con.execute("""
        INSERT INTO event_objects (event_id, object_id, qualifier, seq)
        SELECT event_id, object_id, 'locatie', (SELECT coalesce(max(seq), -1) FROM event_objects)
               + row_number() OVER (ORDER BY event_id) FROM _adopt_loc""")
    con.execute("DROP TABLE _adopt_loc")


def _nationality(log: Log, profile: LogProfile) -> None:
    name = profile.nationality_attribute
    if name is None or name == "nationaliteit":
        return
    con = log.con
    if first_row(con.execute("SELECT 1 FROM object_attributes WHERE name = ? LIMIT 1", [name])) is None:
        raise SchemaError(f"{profile.where}: [attributes] nationality = {name!r}, but no object "
                          "has that attribute; name an attribute of the case objects.")
    con.execute(f"""
        INSERT INTO object_attributes
        SELECT object_id, 'nationaliteit', time, type, value_string, value_integer, value_float,
               value_boolean, value_time,
               (SELECT coalesce(max(seq), -1) FROM object_attributes) + row_number() OVER ()
        FROM object_attributes WHERE name = {sql_literal(name)}""")


def _has_attribute(log: Log, name: str) -> bool:
    return first_row(log.con.execute(
        "SELECT 1 FROM event_attributes WHERE name = ? LIMIT 1", [name])) is not None


def _require_attribute(log: Log, profile: LogProfile, name: str, key: str) -> None:
    if not _has_attribute(log, name):
        known = [r[0] for r in log.con.execute(
            "SELECT DISTINCT name FROM event_attributes ORDER BY 1").fetchall()]
        raise UnknownNameError(f"event attribute ({key} in {profile.where})", name, known)


def _copy_attribute(log: Log, source: str | None, target: str) -> None:
    """Add ``target`` rows (text) from attribute ``source`` to every event that has no ``target``."""
    if source is None or source == target:
        return
    _add_attribute(log, target, f"SELECT a.event_id, {_TEXT} FROM event_attributes a "
                                f"WHERE a.name = {sql_literal(source)}")


def _add_attribute(log: Log, name: str, select: str) -> None:
    """Insert string attribute ``name`` from ``select`` (event_id, value) where the event lacks it."""
    log.con.execute(f"""
        INSERT INTO event_attributes (event_id, name, type, value_string, seq)
        SELECT s.event_id, {sql_literal(name)}, 'string', s.value,
               (SELECT coalesce(max(seq), -1) FROM event_attributes)
               + row_number() OVER (ORDER BY s.event_id)
        FROM ({select}) s(event_id, value)
        WHERE s.value IS NOT NULL AND s.event_id NOT IN (
            SELECT event_id FROM event_attributes WHERE name = {sql_literal(name)})""")


def facts_dict(facts: LogFacts) -> dict[str, Any]:
    """JSON-safe form of :class:`LogFacts` (for the results bundle)."""
    data: dict[str, Any] = json.loads(json.dumps({
        "kind": facts.kind, "case_type": facts.case_type, "organisation": facts.organisation,
        "catalogue_share": facts.catalogue_share, "sources": facts.sources,
        "profile": facts.profile, "file": facts.file,
        "unmapped": [{"label": u.label, "events": u.events, "closest": u.closest}
                     for u in facts.unmapped]}))
    return data
