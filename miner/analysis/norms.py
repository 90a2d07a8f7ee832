"""Norm adherence: how often the chain meets its day targets and statutory terms.

The norms are data (``miner/data/norms.toml``, read by :func:`load_norms`): dag 2 medical check,
dag 3 aanmeldgehoor, RVT of at least 6 days, the AA in 8 working days, the decision term of 6 months
(extendable) and the VA term. Each norm names the activity that starts the clock (``from``), the one
that stops it (``to``), a limit in calendar days, working days or months and a comparison.

Definitions (per norm; dates are local Europe/Amsterdam dates, see :mod:`miner.analysis.workdays`):

* **case**: a foreigner with a ``from`` event at or before the reference date ``as_of``; the clock
  starts at the first one. A case belongs to the month (and the ``period``) of that event.
* **in scope**: the case's ``scope`` attributes (read on the ``from`` event, else the latest value on
  the foreigner's other events of the norms' activities) take an allowed value.
* **last allowed day** / **first allowed day**: from the ``from`` day, the limit and the comparison
  (``on_day``: dag N; ``by_day``: up to dag N; ``at_most``: up to N units after; ``at_least``: from N
  units after); statutory terms (``atw``) ending on a Saturday, Sunday or feestdag move on to the next
  day that is none.
* **met**: the first ``to`` event at or after the start (and at or before ``as_of``) falls between
  the first and the last allowed day; **late**: after the last allowed day; **early**: before the
  first allowed day (``on_day`` and ``at_least`` norms).
* **ended without**: no ``to`` event, but an ``ended_by`` event after the start (the step was
  skipped, or the case left the procedure another way).
* **still open**: neither by ``as_of``. **Overdue**: the last allowed day has passed at ``as_of``;
  **at risk**: it has not, but it falls within ``at_risk_days`` days of ``as_of``; **open in time**:
  the rest (also every open case of an ``at_least`` norm, which has no last day).
* **met share**: met / (met + late + early + ended without), the cases whose outcome is known.
* **lateness**: for a late case, the units after the last allowed day (working days for working-day
  norms, calendar days otherwise); **earliness** likewise before the first allowed day.
* **within extension E**: late cases that would have met the norm with limit E.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from miner.analysis._result import SCHEMA_VERSION
from miner.analysis.journey import FOREIGNER_TYPE, create_journey
from miner.analysis.period import Period
from miner.analysis.workdays import CALENDAR, create_calendar, local_date, local_date_sql
from miner.catalogue import chain_catalogue
from miner.errors import SchemaError
from miner.model.filters import sql_literal
from miner.model.log import Log, first_row

UNITS = ("days", "working_days", "months")
COMPARISONS = ("on_day", "by_day", "at_most", "at_least")
STATUSES = ("met", "late", "early", "ended_without", "open_in_time", "at_risk", "overdue")
#: Lateness bins (lower edges; the last is open-ended): days for day norms, days for month norms.
BINS = {"days": (1, 2, 3, 4, 6, 11, 31), "months": (1, 8, 31, 92, 183, 366)}


@dataclass(frozen=True)
class ActivityRef:
    """An activity (catalogue id) with optional event attribute conditions (name, allowed values)."""

    activity: str
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class DatedLimit:
    """The limit for cases whose ``from`` day lies in ``[start, end)``."""

    start: date
    end: date
    limit: int
    seed: str


@dataclass(frozen=True)
class Norm:
    """One norm of ``norms.toml`` (see the file's header for the keys)."""

    id: str
    label: str
    description: str
    start: tuple[ActivityRef, ...]
    stop: tuple[ActivityRef, ...]
    ended_by: tuple[ActivityRef, ...]
    limit: int
    unit: str
    comparison: str
    at_risk_days: int
    scope: tuple[tuple[str, tuple[str, ...]], ...]
    atw: bool
    extensions: tuple[int, ...]
    dated_limits: tuple[DatedLimit, ...]
    seed: str


# ---------------------------------------------------------------------------------------- loader

_KEYS = {"id", "label", "description", "from", "to", "ended_by", "limit", "unit", "comparison",
         "at_risk_days", "scope", "atw", "extensions", "dated_limits", "seed"}
_REQUIRED = ("id", "label", "description", "from", "to", "limit", "unit", "comparison",
             "at_risk_days", "seed")


def _fail(source: str, key: str, problem: str, allowed: str) -> SchemaError:
    return SchemaError(f"{source}: key '{key}' {problem}. Allowed: {allowed}.")


def _unknown(source: str, where: str, table: dict[str, Any], known: set[str]) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" Did you mean '{where}{close[0]}'?" if close else ""
            allowed = ", ".join(f"'{where}{k}'" for k in sorted(known))
            raise SchemaError(f"{source}: key '{where}{key}' is unknown. Allowed: {allowed}.{hint}")


def _texts(source: str, key: str, value: Any) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise _fail(source, key, f"is {value!r}", "a string or a non-empty list of strings")
    return tuple(values)


def _conditions(source: str, key: str, value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise _fail(source, key, f"is {value!r}", "a table of attribute = value(s)")
    return tuple(sorted((k, _texts(source, f"{key}.{k}", v)) for k, v in value.items()))


def _refs(source: str, key: str, value: Any) -> tuple[ActivityRef, ...]:
    if not isinstance(value, list) or not value:
        raise _fail(source, key, f"is {value!r}", "a non-empty list of activity ids or tables")
    known = chain_catalogue()
    refs = []
    for i, item in enumerate(value):
        where: tuple[tuple[str, tuple[str, ...]], ...] = ()
        if isinstance(item, dict):
            _unknown(source, f"{key}[{i}].", item, {"activity", "where"})
            where = _conditions(source, f"{key}[{i}].where", item.get("where", {}))
            item = item.get("activity")
        if item not in known:
            close = difflib.get_close_matches(str(item), list(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _fail(source, f"{key}[{i}]", f"names activity {item!r}, not in the catalogue",
                        f"an id of miner/data/scenarios/chain.toml (A01 … X22){hint}")
        refs.append(ActivityRef(str(item), where))
    return tuple(refs)


def _int(source: str, key: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _fail(source, key, f"is {value!r}", f"a whole number >= {low}")
    return value


def _choice(source: str, key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise _fail(source, key, f"is {value!r}", ", ".join(repr(a) for a in allowed))
    return str(value)


def _norm(source: str, i: int, raw: Any) -> Norm:
    at = f"norm[{i}]."
    if not isinstance(raw, dict):
        raise _fail(source, f"norm[{i}]", f"is {raw!r}", "a table ([[norm]])")
    _unknown(source, at, raw, _KEYS)
    for key in _REQUIRED:
        if key not in raw:
            raise _fail(source, at + key, "is missing", "every norm needs " + ", ".join(_REQUIRED))
    for key in ("id", "label", "description", "seed"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise _fail(source, at + key, f"is {raw[key]!r}", "a non-empty string")
    unit = _choice(source, at + "unit", raw["unit"], UNITS)
    comparison = _choice(source, at + "comparison", raw["comparison"], COMPARISONS)
    if unit == "months" and comparison in ("on_day", "by_day"):
        raise _fail(source, at + "comparison", f"is {comparison!r} with unit 'months'",
                    "'at_most' or 'at_least' for a term in months")
    limit = _int(source, at + "limit", raw["limit"], 1)
    for key in ("extensions", "dated_limits"):
        if not isinstance(raw.get(key, []), list):
            raise _fail(source, at + key, f"is {raw[key]!r}", "a list")
    extensions = tuple(_int(source, f"{at}extensions[{j}]", e, limit + 1)
                       for j, e in enumerate(raw.get("extensions", [])))
    if extensions and comparison == "at_least":
        raise _fail(source, at + "extensions", "is given for an 'at_least' norm",
                    "extensions only for 'on_day', 'by_day' and 'at_most' norms")
    dated = []
    for j, d in enumerate(raw.get("dated_limits", [])):
        where = f"{at}dated_limits[{j}]."
        if not isinstance(d, dict):
            raise _fail(source, where[:-1], f"is {d!r}", "a table {from, until, limit, seed}")
        _unknown(source, where, d, {"from", "until", "limit", "seed"})
        for key in ("from", "until"):
            if not isinstance(d.get(key), date) or isinstance(d.get(key), datetime):
                raise _fail(source, where + key, f"is {d.get(key)!r}", "a TOML date (2022-09-27)")
        if not d["from"] < d["until"]:
            raise _fail(source, where + "until", f"is {d['until']} (not after 'from')",
                        "a date after 'from'")
        dated.append(DatedLimit(d["from"], d["until"], _int(source, where + "limit",
                                d.get("limit"), 1), str(d.get("seed", ""))))
    atw = raw.get("atw", False)
    if not isinstance(atw, bool):
        raise _fail(source, at + "atw", f"is {atw!r}", "true or false")
    if not raw["id"].replace("_", "").isalnum():
        raise _fail(source, at + "id", f"is {raw['id']!r}", "letters, digits and _")
    return Norm(
        id=raw["id"], label=raw["label"], description=raw["description"],
        start=_refs(source, at + "from", raw["from"]), stop=_refs(source, at + "to", raw["to"]),
        ended_by=_refs(source, at + "ended_by", raw["ended_by"]) if "ended_by" in raw else (),
        limit=limit, unit=unit, comparison=comparison,
        at_risk_days=_int(source, at + "at_risk_days", raw["at_risk_days"], 0),
        scope=_conditions(source, at + "scope", raw.get("scope", {})), atw=atw,
        extensions=extensions, dated_limits=tuple(dated), seed=raw["seed"])


def load_norms(path: Path | None = None) -> tuple[Norm, ...]:
    """The norms of ``path`` (default: the shipped ``miner/data/norms.toml``), validated strictly:
    an unknown key, a missing key, a wrong type, an unknown unit, comparison or activity raises
    :class:`~miner.errors.SchemaError` naming the key and the allowed values."""
    if path is None:
        source, text = "norms.toml", (resources.files("miner") / "data" / "norms.toml").read_text(
            "utf-8")
    else:
        source, text = str(path), Path(path).read_text("utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(f"{source}: not valid TOML: {exc}") from exc
    _unknown(source, "", data, {"schema_version", "norm"})
    if data.get("schema_version") != 1:
        raise _fail(source, "schema_version", f"is {data.get('schema_version')!r}", "1")
    raw = data.get("norm")
    if not isinstance(raw, list) or not raw:
        raise _fail(source, "norm", "is missing or empty", "one or more [[norm]] tables")
    norms = tuple(_norm(source, i, r) for i, r in enumerate(raw))
    seen: set[str] = set()
    for i, n in enumerate(norms):
        if n.id in seen:
            raise _fail(source, f"norm[{i}].id", f"repeats {n.id!r}", "a unique id per norm")
        seen.add(n.id)
    return norms


# ---------------------------------------------------------------------------------------- results

@dataclass(frozen=True)
class Bin:
    """``count`` cases with a lateness (earliness) in ``[low, high]``; ``high`` None: no upper end."""

    low: int
    high: int | None
    count: int


@dataclass(frozen=True)
class Spread:
    """The distribution of lateness (or earliness) over the late (early) cases, in ``unit``."""

    unit: str
    count: int
    mean: float | None
    median: float | None
    p90: float | None
    max: int | None
    bins: tuple[Bin, ...]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Spread:
        return cls(**{**d, "bins": tuple(Bin(**b) for b in d["bins"])})


@dataclass(frozen=True)
class Counts:
    """Cases of one norm by outcome (see the module docstring); ``met_share`` is None without any
    case of known outcome."""

    in_scope: int
    met: int
    late: int
    early: int
    ended_without: int
    open_in_time: int
    at_risk: int
    overdue: int
    met_share: float | None


@dataclass(frozen=True)
class MonthCounts:
    """The counts of the cases whose clock started in ``month`` (YYYY-MM, local time)."""

    month: str
    counts: Counts


@dataclass(frozen=True)
class ExtensionCount:
    """Late cases that were within the extended ``limit``."""

    limit: int
    late_within: int


@dataclass(frozen=True)
class Case:
    """One case (with ``cases=True``): the foreigner's pseudonym, the local day the clock started,
    the last allowed day (None without one), the outcome and its lateness or earliness."""

    foreigner: str
    start: str
    deadline: str | None
    status: str
    lateness: int | None
    earliness: int | None


@dataclass(frozen=True)
class NormResult:
    """One norm: its definition (id, Dutch label, description, unit, comparison, limit, scope as
    (attribute, allowed values), seed), the counts, the lateness and earliness distributions, the
    late cases within each extension, and the counts per month of the ``from`` event."""

    id: str
    label: str
    description: str
    unit: str
    comparison: str
    limit: int
    scope: tuple[tuple[str, tuple[str, ...]], ...]
    seed: str
    counts: Counts
    lateness: Spread
    earliness: Spread
    extensions: tuple[ExtensionCount, ...]
    by_month: tuple[MonthCounts, ...]
    cases: tuple[Case, ...] = ()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NormResult:
        return cls(**{
            **d, "scope": tuple((a, tuple(v)) for a, v in d["scope"]),
            "counts": Counts(**d["counts"]), "lateness": Spread.from_dict(d["lateness"]),
            "earliness": Spread.from_dict(d["earliness"]),
            "extensions": tuple(ExtensionCount(**e) for e in d["extensions"]),
            "by_month": tuple(MonthCounts(m["month"], Counts(**m["counts"]))
                              for m in d["by_month"]),
            "cases": tuple(Case(**c) for c in d.get("cases", ()))})


@dataclass(frozen=True)
class Norms:
    """Norm adherence at reference time ``as_of`` (ISO 8601, UTC) for the cases whose clock started
    in ``period`` (None: all)."""

    as_of: str
    period: str | None
    norms: tuple[NormResult, ...]

    def get(self, norm_id: str) -> NormResult:
        for n in self.norms:
            if n.id == norm_id:
                return n
        raise KeyError(norm_id)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": "norms", **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Norms:
        return cls(as_of=d["as_of"], period=d["period"],
                   norms=tuple(NormResult.from_dict(n) for n in d["norms"]))


# ---------------------------------------------------------------------------------------- analysis

def norms(log: Log, *, period: Period | None = None, as_of: datetime | None = None,
          definitions: tuple[Norm, ...] | None = None, cases: bool = False) -> Norms:
    """Adherence to each norm of ``definitions`` (default :func:`load_norms`) at ``as_of`` (an
    aware datetime; default the time of the workspace's last event), for the cases whose ``from``
    event lies in ``period`` (default all). Events after ``as_of`` are ignored. With ``cases`` each
    norm also lists its cases (by pseudonym), e.g. to follow up the overdue ones."""
    defs = load_norms() if definitions is None else definitions
    label = None if period is None else period.label
    con = log.con
    create_journey(log)
    if as_of is None:
        last = first_row(con.execute("SELECT max(timestamp) FROM events"))
        as_of = None if last is None else last[0]
    if as_of is None or not defs:
        return Norms(as_of="" if as_of is None else as_of.isoformat(), period=label, norms=())
    as_of = as_of.astimezone(UTC)
    as_of_day = local_date(as_of)
    attrs = sorted({a for n in defs for r in (*n.start, *n.stop, *n.ended_by) for a, _ in r.where}
                   | {a for n in defs for a, _ in n.scope})
    column = {a: f"attr_{i}" for i, a in enumerate(attrs)}
    try:
        _events(log, defs, attrs, column, as_of)
        span = first_row(con.execute("SELECT min(day), max(day) FROM norm_events"))
        first_day = span[0] if span and span[0] else as_of_day
        last_day = max(span[1] if span and span[1] else as_of_day, as_of_day)
        reach = max(_reach(n) for n in defs)
        create_calendar(con, first_day - timedelta(days=7), last_day + timedelta(days=reach))
        results = tuple(_one(log, n, column, period, as_of_day, cases) for n in defs)
    finally:
        for table in ("norm_events", "norm_attributes", "norm_case", "norm_foreigner"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return Norms(as_of=as_of.isoformat(), period=label, norms=results)


def _reach(n: Norm) -> int:
    """Calendar days after the ``from`` day that the bounds and the at-risk window can need."""
    top = max((n.limit, *n.extensions, *(d.limit for d in n.dated_limits)))
    per = {"days": 1, "working_days": 3, "months": 31}[n.unit]
    return top * per + n.at_risk_days + 40


def _events(log: Log, defs: tuple[Norm, ...], attrs: list[str], column: dict[str, str],
            as_of: datetime) -> None:
    """``norm_events``: the events of the norms' activities at or before ``as_of`` with their local
    day and the attributes the norms ask for (on the activities that need them); the same rows as
    the ``journey`` view, read straight from the canonical tables for speed."""
    con = log.con
    acts = sorted({r.activity for n in defs for r in (*n.start, *n.stop, *n.ended_by)})
    asked = sorted({r.activity for n in defs for r in (*n.start, *n.stop, *n.ended_by) if r.where}
                   | {r.activity for n in defs if n.scope for r in n.start})
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE norm_events AS
        WITH a AS (
            SELECT event_id, value_string AS activity_id FROM event_attributes
            WHERE name = 'activity_id' AND value_string IN ({", ".join(map(sql_literal, acts))}))
        SELECT eo.object_id AS foreigner, e.timestamp AS ts, e.seq, a.event_id, a.activity_id,
               {local_date_sql("e.timestamp")} AS day
        FROM a JOIN events e USING (event_id)
        JOIN event_objects eo ON eo.event_id = a.event_id AND eo.qualifier = {sql_literal(FOREIGNER_TYPE)}
        WHERE e.timestamp <= {sql_literal(as_of)}
    """)
    pivot = "".join(f", any_value(value_string) FILTER (WHERE name = {sql_literal(a)}) AS {column[a]}"
                    for a in attrs)
    wanted = ", ".join(map(sql_literal, attrs)) or "NULL"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE norm_attributes AS
        SELECT event_id{pivot} FROM event_attributes
        WHERE name IN ({wanted}) AND event_id IN (
            SELECT event_id FROM norm_events
            WHERE activity_id IN ({", ".join(map(sql_literal, asked)) or "NULL"}))
        GROUP BY event_id
    """)
    cols = "".join(f", a.{c}" for c in column.values())
    con.execute(f"CREATE OR REPLACE TEMP TABLE norm_events AS SELECT e.*{cols} "
                "FROM norm_events e LEFT JOIN norm_attributes a USING (event_id)")
    latest = "".join(f", arg_max({c}, ts) FILTER (WHERE {c} IS NOT NULL) AS {c}"
                     for c in column.values())
    con.execute(f"CREATE OR REPLACE TEMP TABLE norm_foreigner AS "
                f"SELECT foreigner{latest} FROM norm_events GROUP BY foreigner")


def _match(refs: tuple[ActivityRef, ...], column: dict[str, str], alias: str) -> str:
    parts = []
    for r in refs:
        conds = [f"{alias}.activity_id = {sql_literal(r.activity)}"]
        conds += [f"{alias}.{column[a]} IN ({', '.join(sql_literal(v) for v in vs)})"
                  for a, vs in r.where]
        parts.append("(" + " AND ".join(conds) + ")")
    return "(" + " OR ".join(parts) + ")"


def _bounds(n: Norm, limit: str) -> tuple[str | None, str | None]:
    """SQL for the first and the last allowed day of a case (None: unbounded), from its columns
    ``from_day``, ``idx_from`` (working-day index) and ``w_from`` (1 if a working day)."""
    def workday(index: str) -> str:
        return f"(SELECT day FROM {CALENDAR}_workday WHERE working_day_index = {index})"

    earliest = deadline = None
    if n.unit == "days":
        if n.comparison == "on_day":
            earliest = deadline = f"(from_day + ({limit}) - 1)"
        elif n.comparison == "by_day":
            deadline = f"(from_day + ({limit}) - 1)"
        elif n.comparison == "at_most":
            deadline = f"(from_day + ({limit}))"
        else:
            earliest = f"(from_day + ({limit}))"
    elif n.unit == "working_days":
        before = "(idx_from - w_from)"  # the working-day index just before dag 1
        if n.comparison in ("on_day", "by_day"):
            deadline = f"({workday(f'{before} + ({limit}) + 1')} - 1)"
            if n.comparison == "on_day":
                earliest = workday(f"{before} + ({limit})")
        elif n.comparison == "at_most":
            deadline = f"({workday(f'idx_from + ({limit}) + 1')} - 1)"
        else:
            earliest = workday(f"idx_from + ({limit})")
    elif n.comparison == "at_most":
        deadline = f"CAST(from_day + to_months({limit}) AS DATE)"
    else:
        earliest = f"CAST(from_day + to_months({limit}) AS DATE)"
    if deadline is not None and n.atw:
        deadline = f"(SELECT atw_end FROM {CALENDAR} WHERE day = {deadline})"
    return earliest, deadline


def _one(log: Log, n: Norm, column: dict[str, str], period: Period | None,
         as_of_day: date, cases: bool) -> NormResult:
    con = log.con
    scope = "".join(
        f" AND coalesce(f.{column[a]}, nf.{column[a]}) IN ({', '.join(sql_literal(v) for v in vs)})"
        for a, vs in n.scope)
    firsts = "".join(f", arg_min({c}, (ts, seq)) AS {c}" for a, c in column.items())
    limit = str(n.limit)
    for d in n.dated_limits:
        limit = (f"CASE WHEN from_day >= DATE '{d.start}' AND from_day < DATE '{d.end}' "
                 f"THEN {d.limit} ELSE {limit} END")
    earliest, deadline = _bounds(n, limit)
    extended = [_bounds(n, str(e))[1] for e in n.extensions]
    index = f"(SELECT working_day_index FROM {CALENDAR} WHERE day = %s)"
    if n.unit == "working_days":
        late = f"{index % 'to_day'} - {index % 'deadline'}"
        early = f"{index % 'earliest'} - {index % 'to_day'}"
    else:
        late, early = "to_day - deadline", "earliest - to_day"
    in_period = f" AND {period.sql_range('f.from_ts')}" if period is not None else ""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE norm_case AS
        WITH f AS (
            SELECT foreigner, min(ts) AS from_ts, arg_min(day, (ts, seq)) AS from_day{firsts}
            FROM norm_events e WHERE {_match(n.start, column, "e")} GROUP BY foreigner),
        s AS (
            SELECT f.foreigner, f.from_ts, f.from_day, c.working_day_index AS idx_from,
                   CAST(c.is_working_day AS INTEGER) AS w_from
            FROM f LEFT JOIN norm_foreigner nf USING (foreigner)
            JOIN {CALENDAR} c ON c.day = f.from_day
            WHERE TRUE{scope}{in_period}),
        t AS (
            SELECT s.foreigner, min(e.ts) AS to_ts, arg_min(e.day, e.ts) AS to_day
            FROM s JOIN norm_events e ON e.foreigner = s.foreigner AND e.ts >= s.from_ts
            WHERE {_match(n.stop, column, "e")} GROUP BY s.foreigner),
        x AS (
            SELECT s.foreigner, min(e.ts) AS end_ts
            FROM s JOIN norm_events e ON e.foreigner = s.foreigner AND e.ts >= s.from_ts
            WHERE {_match(n.ended_by, column, "e") if n.ended_by else "FALSE"} GROUP BY s.foreigner),
        b AS (
            SELECT s.*, t.to_ts, t.to_day, x.end_ts,
                   {earliest or "CAST(NULL AS DATE)"} AS earliest,
                   {deadline or "CAST(NULL AS DATE)"} AS deadline
                   {"".join(f", {e} AS ext_{i}" for i, e in enumerate(extended))}
            FROM s LEFT JOIN t USING (foreigner) LEFT JOIN x USING (foreigner)),
        o AS (SELECT *, CASE
            WHEN to_ts IS NOT NULL THEN CASE
                WHEN to_day < earliest THEN 'early' WHEN to_day > deadline THEN 'late'
                ELSE 'met' END
            WHEN end_ts IS NOT NULL THEN 'ended_without'
            WHEN deadline < DATE '{as_of_day}' THEN 'overdue'
            WHEN deadline <= DATE '{as_of_day}' + {n.at_risk_days} THEN 'at_risk'
            ELSE 'open_in_time' END AS status,
            strftime(timezone('Europe/Amsterdam', from_ts), '%Y-%m') AS month
            FROM b)
        SELECT *, CAST(CASE WHEN status = 'late' THEN {late} END AS INTEGER) AS lateness,
               CAST(CASE WHEN status = 'early' THEN {early} END AS INTEGER) AS earliness
        FROM o
    """)
    counted = ", ".join(f"count(*) FILTER (WHERE status = '{s}')" for s in STATUSES)
    rows = con.execute(f"SELECT month, count(*), {counted} FROM norm_case "
                       "GROUP BY GROUPING SETS ((month), ()) ORDER BY month NULLS FIRST").fetchall()
    totals = [_counts(r[1:]) for r in rows if r[0] is None]
    ext = tuple(ExtensionCount(e, int((first_row(con.execute(
        f"SELECT count(*) FROM norm_case WHERE status = 'late' AND to_day <= ext_{i}")) or (0,))[0]))
        for i, e in enumerate(n.extensions))
    unit = "working_days" if n.unit == "working_days" else "days"
    edges = BINS["months" if n.unit == "months" else "days"]
    return NormResult(
        id=n.id, label=n.label, description=n.description, unit=n.unit,
        comparison=n.comparison, limit=n.limit, scope=n.scope, seed=n.seed,
        counts=totals[0] if totals else _counts((0,) * 8),
        lateness=_spread(log, "lateness", unit, edges), earliness=_spread(log, "earliness", unit,
                                                                          edges),
        extensions=ext,
        by_month=tuple(MonthCounts(str(r[0]), _counts(r[1:])) for r in rows if r[0] is not None),
        cases=tuple(Case(f, s.isoformat(), d and d.isoformat(), st, la, ea) for f, s, d, st, la, ea
                    in con.execute("SELECT foreigner, from_day, deadline, status, lateness, "
                                   "earliness FROM norm_case ORDER BY foreigner").fetchall())
        if cases else ())


def _counts(row: tuple[Any, ...]) -> Counts:
    values = dict(zip(STATUSES, (int(v) for v in row[1:]), strict=True))
    known = values["met"] + values["late"] + values["early"] + values["ended_without"]
    return Counts(in_scope=int(row[0]), **values,
                  met_share=values["met"] / known if known else None)


def _spread(log: Log, column: str, unit: str, edges: tuple[int, ...]) -> Spread:
    bins = ", ".join(
        f"count(*) FILTER (WHERE {column} >= {lo}"
        + (f" AND {column} < {edges[i + 1]})" if i + 1 < len(edges) else ")")
        for i, lo in enumerate(edges))
    row = first_row(log.con.execute(f"""
        SELECT count({column}), avg({column}), median({column}),
               quantile_cont({column}, 0.9), max({column}), {bins}
        FROM norm_case WHERE {column} IS NOT NULL"""))
    assert row is not None
    return Spread(
        unit=unit, count=int(row[0]),
        mean=None if row[1] is None else round(float(row[1]), 3),
        median=None if row[2] is None else float(row[2]),
        p90=None if row[3] is None else round(float(row[3]), 3),
        max=None if row[4] is None else int(row[4]),
        bins=tuple(Bin(lo, edges[i + 1] - 1 if i + 1 < len(edges) else None, int(row[5 + i]))
                   for i, lo in enumerate(edges)))
