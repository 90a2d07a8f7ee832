"""Identity linking: which foreigner (vreemdeling) each row of the partners' exports is about.

Terms used here:

*V-nummer*
    The chain-wide key of a foreigner: 10 digits whose weighted sum (weights 10, 9, …, 1) is a
    multiple of 11 (:func:`vnummer_valid`). One mistyped digit or two swapped neighbours always
    break the check, so a typo is detectable without a reference list.
*raw cell*
    The V-nummer cell as exported: it may be empty, padded with spaces, garbage (letters, 9 or 11
    digits) or a 10-digit number that fails the check (a *mistyped* V-nummer).
*partner id*
    The export's own key of the person or case (IND Zaaknummer, Politie registratienummer or
    SF-nummer, COA bewonersnummer, DT&V dossiernummer, KMar KMAR_ZAAK). It is only meaningful within
    its own source; a partner id *carries* the distinct valid V-nummers found on its rows.
*person* / *candidate*
    A person is a valid V-nummer seen on at least one row; its *name variants* are the (date of
    birth, nationality, name) combinations of those rows. The candidates of a row are the persons
    with a variant in the row's *block*: same date of birth and, when both sides have one, the same
    nationality. Persons whose V-nummer is one edit (substitution, swap of neighbours, one digit
    dropped or added) away from the row's raw cell are candidates too, when their date of birth and
    nationality do not contradict the row's.
*score*
    How well a candidate fits a row: the best :func:`rapidfuzz.fuzz.token_sort_ratio` (0-100)
    between the row's :func:`normalise_name` and the candidate's name variants, plus
    ``LinkSettings.vnummer_bonus`` when the row's raw cell is one edit from the candidate's
    V-nummer (a typo of it).

Methods, in order of precedence (:func:`link_identities`):

``vnummer``
    The row's own raw cell is a valid V-nummer.
``partner_id``
    The row's partner id (within the same source) carries exactly one valid V-nummer. A partner id
    carrying two or more is never used.
``fuzzy``
    The best candidate scores at least ``fuzzy_threshold`` and at least ``margin`` more than the
    runner-up.
``unresolved``
    None of the above; ``reason`` says why. Nothing is merged silently.

The work is done in DuckDB SQL; Python only normalises the distinct names involved and scores the
few (row, candidate) pairs of rows that need fuzzy matching. The ingest does not depend on the
simulator.
"""

from __future__ import annotations

import math
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
from rapidfuzz import fuzz, process

METHODS: tuple[str, ...] = ("vnummer", "partner_id", "fuzzy", "unresolved")

# whitespace removed from a raw V-nummer cell (the same set in Python and in SQL): ASCII
# whitespace, no-break spaces (Excel) and the byte-order mark
_WS_CHARS = " \t\n\r\f\v\u00a0\u2007\u202f\ufeff"
_WS_PY = re.compile(f"[{re.escape(_WS_CHARS)}]")
_WS_SQL = r"[ \t\n\r\f\v\x{00A0}\x{2007}\x{202F}\x{FEFF}]"
_TEN_DIGITS = re.compile(r"[0-9]{10}")
_PLACEHOLDER = "0000000000"

# letters without a Unicode decomposition to a plain Latin letter
_FOLD = str.maketrans(
    {"ı": "i", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "ħ": "h", "þ": "th", "æ": "ae", "œ": "oe"}
)
_JOINERS = re.compile(r"[-‐‑–'’`´]")  # hyphens and apostrophes inside a name
_SEPARATORS = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class LinkSettings:
    """Tuning of :func:`link_identities`.

    ``fuzzy_threshold``: the least score (0-100 scale, bonus included) of a fuzzy link.
    ``margin``: how much the best candidate must score above the runner-up.
    ``vnummer_bonus``: added to a candidate's score when the row's raw V-nummer cell is one edit
    from the candidate's V-nummer. ``workers``: rapidfuzz threads (-1: all cores).
    """

    fuzzy_threshold: float = 80.0
    margin: float = 5.0
    vnummer_bonus: float = 10.0
    workers: int = -1

    def __post_init__(self) -> None:
        if not 0.0 <= self.fuzzy_threshold <= 100.0 + self.vnummer_bonus:
            raise ValueError(f"fuzzy_threshold out of range: {self.fuzzy_threshold}")
        if self.margin < 0.0 or self.vnummer_bonus < 0.0:
            raise ValueError("margin and vnummer_bonus must not be negative")


@dataclass(frozen=True)
class LinkCounts:
    """What :func:`link_identities` did: input ``rows``, rows per method (all four methods, zeros
    included) and the number of ``unresolved`` rows."""

    rows: int
    by_method: dict[str, int] = field(default_factory=dict)
    unresolved: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {"rows": self.rows, "by_method": dict(self.by_method), "unresolved": self.unresolved}


def clean_vnummer(value: str | None) -> str | None:
    """The raw cell without any whitespace (also no-break spaces); ``None`` when nothing is left."""
    if value is None:
        return None
    cleaned = _WS_PY.sub("", str(value))
    return cleaned or None


def vnummer_valid(value: str | None) -> bool:
    """True when ``value`` (whitespace ignored) is a V-nummer: 10 ASCII digits whose weighted sum
    with weights 10..1 is a multiple of 11. ``0000000000`` passes the sum but is a placeholder, so
    it is not valid."""
    cleaned = clean_vnummer(value)
    if cleaned is None or not _TEN_DIGITS.fullmatch(cleaned) or cleaned == _PLACEHOLDER:
        return False
    return sum(int(d) * w for d, w in zip(cleaned, range(10, 0, -1), strict=True)) % 11 == 0


def normalise_name(value: object) -> str:
    """A spelling-insensitive form of a person's name, for comparing names across partners.

    Casefolds; strips accents (Unicode NFKD, combining marks dropped; ``ı``, ``ø``, ``ł`` and the
    like mapped to plain letters); drops ``?`` (a letter the export's encoding, e.g. Windows-1252,
    could not hold); joins the parts of hyphenated and apostrophised names (``Al-Hassan`` =
    ``Alhassan``); turns ``/`` and other punctuation into spaces; sorts the words so that
    ``ACHTERNAAM/VOORNAAM`` and ``Voornaam Achternaam`` agree. ``None`` gives ``""``.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = _JOINERS.sub("", str(value).casefold().replace("?", ""))
    text = unicodedata.normalize("NFKD", text).translate(_FOLD)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(sorted(_SEPARATORS.sub(" ", text).split()))


def _valid_sql(col: str) -> str:
    """SQL twin of :func:`vnummer_valid` for an already cleaned column."""
    total = " + ".join(
        f"{w} * (ascii(substr({col}, {i}, 1)) - 48)" for i, w in enumerate(range(10, 0, -1), 1)
    )
    return (
        f"(regexp_full_match({col}, '[0-9]{{10}}') AND {col} <> '{_PLACEHOLDER}' "
        f"AND ({total}) % 11 = 0)"
    )


def _ident(name: str) -> str:
    """A quoted (optionally schema-qualified, ``schema.table``) SQL identifier."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def _score_pairs(
    con: duckdb.DuckDBPyConnection, names: str, pairs: str, out: str, settings: LinkSettings
) -> None:
    """Normalise the distinct names of ``pairs`` and score each distinct (row name, candidate
    name) pair with rapidfuzz; writes table ``out`` (a, b, score)."""
    raw = con.execute(
        f"SELECT DISTINCT full_name FROM (SELECT q_name AS full_name FROM {pairs} "
        f"UNION ALL SELECT c_name FROM {pairs}) WHERE full_name IS NOT NULL"
    ).fetchall()
    distinct = [r[0] for r in raw]
    con.register(
        f"{names}_arrow",
        pa.table(
            {
                "full_name": pa.array(distinct, pa.string()),
                "norm": pa.array([normalise_name(n) for n in distinct], pa.string()),
            }
        ),
    )
    con.execute(f"CREATE TEMP TABLE {names} AS SELECT * FROM {names}_arrow")
    con.unregister(f"{names}_arrow")
    todo = con.execute(
        f"""SELECT DISTINCT qn.norm, cn.norm FROM {pairs} p
            JOIN {names} qn ON qn.full_name = p.q_name JOIN {names} cn ON cn.full_name = p.c_name
            WHERE qn.norm <> '' AND cn.norm <> ''"""
    ).fetchall()
    left = [r[0] for r in todo]
    right = [r[1] for r in todo]
    scores: list[float] = []
    if todo:
        scores = [
            float(s)
            for s in process.cpdist(
                left, right, scorer=fuzz.token_sort_ratio, workers=settings.workers
            )
        ]
    con.register(
        f"{out}_arrow",
        pa.table(
            {
                "a": pa.array(left, pa.string()),
                "b": pa.array(right, pa.string()),
                "score": pa.array(scores, pa.float64()),
            }
        ),
    )
    con.execute(f"CREATE TEMP TABLE {out} AS SELECT * FROM {out}_arrow")
    con.unregister(f"{out}_arrow")


def link_identities(
    con: duckdb.DuckDBPyConnection,
    rows: str,
    out: str,
    settings: LinkSettings = LinkSettings(),
) -> LinkCounts:
    """Link every row of table/view ``rows`` to a V-nummer; write table ``out`` (replaced).

    ``rows`` has columns ``source`` (export name), ``row`` (row number in that source),
    ``partner_id``, ``v_nummer`` (raw cell), ``full_name`` (any word order and case),
    ``date_of_birth`` (DATE) and ``nationality`` (ISO-3); all but ``source`` and ``row`` may be
    NULL. ``out`` gets one row per input row, ordered by source and row: ``source``, ``row``,
    ``v_nummer`` (the valid V-nummer the row is linked to; NULL when unresolved), ``method``
    (``vnummer``, ``partner_id``, ``fuzzy``, ``unresolved``; see the module docstring),
    ``confidence`` (1.0 for ``vnummer`` and ``partner_id``; for ``fuzzy`` the score divided by the
    highest possible score, 100 + ``vnummer_bonus``; 0.0 when unresolved), ``reason``
    (human-readable) and ``candidates`` (1 for ``vnummer``/``partner_id``; otherwise the number of
    candidate persons scored).
    """
    tag = uuid.uuid4().hex[:10]
    t = {
        k: f"_lk_{k}_{tag}"
        for k in (
            "base",
            "pid",
            "step",
            "fz",
            "q",
            "var",
            "nb",
            "pairs",
            "names",
            "sim",
            "score",
            "dec",
        )
    }
    s = settings
    try:
        con.execute(
            f"""CREATE TEMP TABLE {t["base"]} AS
            SELECT *, coalesce({_valid_sql("v")}, false) AS valid FROM (
              SELECT CAST(source AS VARCHAR) AS source, CAST("row" AS BIGINT) AS "row",
                     nullif(trim(CAST(partner_id AS VARCHAR)), '') AS partner_id,
                     CAST(date_of_birth AS DATE) AS dob,
                     nullif(upper(trim(CAST(nationality AS VARCHAR))), '') AS nat,
                     nullif(trim(CAST(full_name AS VARCHAR)), '') AS full_name,
                     nullif(regexp_replace(CAST(v_nummer AS VARCHAR), '{_WS_SQL}', '', 'g'), '')
                       AS v
              FROM {_ident(rows)})"""
        )
        con.execute(
            f"""CREATE TEMP TABLE {t["pid"]} AS
            SELECT source, partner_id, count(DISTINCT v) FILTER (WHERE valid) AS n,
                   min(v) FILTER (WHERE valid) AS v
            FROM {t["base"]} WHERE partner_id IS NOT NULL GROUP BY source, partner_id"""
        )
        # the deterministic methods; what is left needs fuzzy matching
        con.execute(
            f"""CREATE TEMP TABLE {t["step"]} AS
            SELECT b.source, b."row", b.dob, b.nat, b.full_name, b.v, b.valid,
                   b.partner_id IS NOT NULL AS has_pid, coalesce(p.n, 0) AS pid_n,
                   CASE WHEN b.valid THEN 'vnummer' WHEN p.n = 1 THEN 'partner_id' END AS method,
                   CASE WHEN b.valid THEN b.v WHEN p.n = 1 THEN p.v END AS linked
            FROM {t["base"]} b LEFT JOIN {t["pid"]} p
              ON p.source = b.source AND p.partner_id = b.partner_id"""
        )
        con.execute(
            f"""CREATE TEMP TABLE {t["fz"]} AS
            SELECT source, "row", has_pid, pid_n, v,
                   dense_rank() OVER (ORDER BY dob, nat, full_name, v) AS qid,
                   dob, nat, full_name
            FROM {t["step"]} WHERE method IS NULL"""
        )
        con.execute(
            f"""CREATE TEMP TABLE {t["q"]} AS
            SELECT qid, any_value(dob) AS dob, any_value(nat) AS nat,
                   any_value(full_name) AS full_name, any_value(v) AS v
            FROM {t["fz"]} GROUP BY qid"""
        )
        # person name variants
        con.execute(
            f"""CREATE TEMP TABLE {t["var"]} AS
            SELECT DISTINCT v, dob, nat, full_name FROM {t["base"]} WHERE valid"""
        )
        # valid V-nummers one edit away from a row's raw cell of 9 to 11 digits
        con.execute(
            f"""CREATE TEMP TABLE {t["nb"]} AS
            WITH d AS (SELECT qid, v FROM {t["q"]} WHERE regexp_full_match(v, '[0-9]{{9,11}}')),
                 pos AS (SELECT range AS i FROM range(1, 12)),
                 dig AS (SELECT CAST(range AS VARCHAR) AS c FROM range(10)),
                 e AS (
                   SELECT qid, substr(v, 1, i - 1) || c || substr(v, i + 1) AS cand
                   FROM d, pos, dig WHERE length(v) = 10 AND i <= 10
                   UNION ALL
                   SELECT qid, substr(v, 1, i - 1) || substr(v, i + 1, 1) || substr(v, i, 1)
                               || substr(v, i + 2)
                   FROM d, pos WHERE length(v) = 10 AND i <= 9
                   UNION ALL
                   SELECT qid, substr(v, 1, i - 1) || substr(v, i + 1)
                   FROM d, pos WHERE length(v) = 11
                   UNION ALL
                   SELECT qid, substr(v, 1, i - 1) || c || substr(v, i)
                   FROM d, pos, dig WHERE length(v) = 9 AND i <= 10)
            SELECT DISTINCT qid, cand FROM e WHERE {_valid_sql("cand")}"""
        )
        con.execute(
            f"""CREATE TEMP TABLE {t["pairs"]} AS
            SELECT DISTINCT qid, c_v, q_name, c_name FROM (
              SELECT q.qid, c.v AS c_v, q.full_name AS q_name, c.full_name AS c_name
              FROM {t["q"]} q JOIN {t["var"]} c
                ON c.dob = q.dob AND (q.nat IS NULL OR c.nat IS NULL OR c.nat = q.nat)
              UNION ALL
              SELECT q.qid, c.v, q.full_name, c.full_name
              FROM {t["q"]} q JOIN {t["nb"]} n ON n.qid = q.qid JOIN {t["var"]} c
                ON c.v = n.cand AND (q.dob IS NULL OR c.dob IS NULL OR c.dob = q.dob)
                AND (q.nat IS NULL OR c.nat IS NULL OR c.nat = q.nat))"""
        )
        _score_pairs(con, t["names"], t["pairs"], t["sim"], s)
        con.execute(
            f"""CREATE TEMP TABLE {t["score"]} AS
            SELECT *, row_number() OVER (PARTITION BY qid ORDER BY score DESC, v) AS rank
            FROM (
              SELECT *, name_score + CASE WHEN near THEN {float(s.vnummer_bonus)!r} ELSE 0.0 END
                        AS score
              FROM (
              SELECT p.qid, p.c_v AS v, coalesce(max(sim.score), 0.0) AS name_score,
                     coalesce(damerau_levenshtein(any_value(q.v), p.c_v) = 1, false) AS near
              FROM {t["pairs"]} p
                JOIN {t["q"]} q ON q.qid = p.qid
                LEFT JOIN {t["names"]} qn ON qn.full_name = p.q_name
                LEFT JOIN {t["names"]} cn ON cn.full_name = p.c_name
                LEFT JOIN {t["sim"]} sim ON sim.a = qn.norm AND sim.b = cn.norm
              GROUP BY p.qid, p.c_v))"""
        )
        th = f"{float(s.fuzzy_threshold)!r}::DOUBLE"
        bonus = f"{float(s.vnummer_bonus)!r}::DOUBLE"
        within = f"second IS NOT NULL AND (best - second < {float(s.margin)!r} OR best = second)"
        con.execute(
            f"""CREATE TEMP TABLE {t["dec"]} AS
            WITH r AS (
              SELECT qid, count(*) AS n,
                     max(score) FILTER (WHERE rank = 1) AS best,
                     max(score) FILTER (WHERE rank = 2) AS second,
                     any_value(v) FILTER (WHERE rank = 1) AS best_v,
                     bool_or(near) FILTER (WHERE rank = 1) AS best_near
              FROM {t["score"]} GROUP BY qid)
            SELECT q.qid, coalesce(r.n, 0) AS n,
              CASE WHEN r.n IS NULL OR best < {th} OR {within} THEN NULL
                   ELSE best_v END AS linked,
              CASE
                WHEN r.n IS NULL AND q.dob IS NULL
                  THEN 'no date of birth to block on and no known V-nummer one edit away'
                WHEN r.n IS NULL AND q.nat IS NULL
                  THEN 'no candidate with this date of birth'
                WHEN r.n IS NULL THEN 'no candidate with this date of birth and nationality'
                WHEN best < {th}
                  THEN printf('best of %d candidate(s) scores %.1f, below the threshold %.1f',
                              r.n, best, {th})
                WHEN {within}
                  THEN printf('two candidates within margin: scores %.1f and %.1f', best, second)
                WHEN second IS NULL THEN printf('one candidate, score %.1f', best)
                ELSE printf('best of %d candidates scores %.1f, runner-up %.1f', r.n, best, second)
              END || CASE WHEN best_near AND r.n IS NOT NULL AND best >= {th} AND NOT ({within})
                          THEN printf(' (+%.0f: the mistyped V-nummer is one edit from the '
                                      || 'candidate''s)', {bonus})
                          ELSE '' END AS why,
              best
            FROM {t["q"]} q LEFT JOIN r ON r.qid = q.qid"""
        )
        problem = """CASE WHEN {v} IS NULL THEN 'V-nummer missing'
                          WHEN regexp_full_match({v}, '[0-9]{{10}}')
                            THEN 'V-nummer fails the mod-11 check'
                          ELSE 'V-nummer is not 10 digits' END"""
        pid_note = """CASE WHEN NOT f.has_pid THEN 'no partner id'
                           WHEN f.pid_n = 0 THEN 'partner id carries no valid V-nummer'
                           ELSE printf('partner id carries %d different V-nummers', f.pid_n)
                      END"""
        top = 100.0 + float(s.vnummer_bonus)
        con.execute(
            f"""CREATE OR REPLACE TABLE {_ident(out)} AS
            SELECT source, "row", v_nummer, method, confidence, reason, candidates FROM (
              SELECT source, "row", linked AS v_nummer, method, 1.0::DOUBLE AS confidence,
                     CASE WHEN method = 'vnummer' THEN 'own V-nummer passes the mod-11 check'
                          ELSE {problem.format(v="v")}
                               || '; partner id carries one V-nummer' END AS reason,
                     1 AS candidates
              FROM {t["step"]} WHERE method IS NOT NULL
              UNION ALL
              SELECT f.source, f."row", d.linked,
                     CASE WHEN d.linked IS NULL THEN 'unresolved' ELSE 'fuzzy' END,
                     CASE WHEN d.linked IS NULL THEN 0.0
                          ELSE least(1.0, d.best / {top}) END::DOUBLE,
                     {problem.format(v="f.v")} || '; ' || {pid_note} || '; ' || d.why,
                     d.n::INTEGER
              FROM {t["fz"]} f JOIN {t["dec"]} d ON d.qid = f.qid)
            ORDER BY source, "row" """
        )
        counts = dict.fromkeys(METHODS, 0)
        total = 0
        for method, n in con.execute(
            f"SELECT method, count(*) FROM {_ident(out)} GROUP BY method"
        ).fetchall():
            counts[str(method)] = int(n)
            total += int(n)
        return LinkCounts(rows=total, by_method=counts, unresolved=counts["unresolved"])
    finally:
        for name in t.values():
            con.execute(f"DROP TABLE IF EXISTS {name}")
