"""A fast path for reading pretty-printed XES: DuckDB parses the file line by line, in bulk.

Nearly every real XES file has one element per line. For those, the trace part of the file is read
with DuckDB's CSV reader as one text column (one row per line), each line is classified by a regular
expression (``<trace>``, ``</trace>``, ``<event>``, ``</event>``, ``</log>`` or a self-closing
attribute ``<string|date|int|float|boolean|id key="…" value="…"/>``), running counts give each line
its trace and event index, and the canonical tables are built with set-based SQL and staged with
:meth:`TableSink.insert_select`. The header (everything before the first ``<trace>``: extensions,
globals, classifiers, log attributes) is parsed by the lxml reader, so ``log_meta`` is identical.

The result equals :mod:`miner.formats.xes_read`'s exactly (ids, types, times, seq order, provenance,
type declarations, log_meta). Any file that does not fit the shape — several elements on a line,
nested attributes, lists, containers, comments or character references inside traces, CDATA,
unbalanced tags, a missing ``</log>``, values that do not parse, events without concept:name or
time:timestamp, duplicate trace names, ``identity:id`` values that could clash with generated ids,
a non-UTF-8 encoding — is detected *before* anything is staged, and :func:`read_xes_fast` returns
False; the caller then reads the whole file with the lxml reader, which also raises the precise
errors.
"""

from __future__ import annotations

import io
import re
import zlib
from pathlib import Path
from typing import Any

import duckdb

from miner.errors import InputError, UnsafeInputError
from miner.formats._input import check_file, check_xml_prolog, open_binary
from miner.model.loading import TableSink
from miner.progress import Progress

_P = "_miner_xes_fast_"  # prefix of this module's temporary tables
_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([^"']*)["']""")
_HEADER_LIMIT = 64 << 20  # a header larger than this is not the shape we speed up

# One self-closing XES attribute element per line: tag, then key and value in either order, quoted
# with " or '. Values exclude '<' (illegal in XML) and control characters other than tab.
_Q = r"""("[^"<\x00-\x08\x0A-\x1F\x{FFFE}\x{FFFF}]*"|'[^'<\x00-\x08\x0A-\x1F\x{FFFE}\x{FFFF}]*')"""
_ATTRIBUTE = (
    r"^<(string|date|int|float|boolean|id)[ \t]+(key|value)[ \t]*=[ \t]*"
    + _Q
    + r"[ \t]+(key|value)[ \t]*=[ \t]*"
    + _Q
    + r"[ \t]*/>$"
)
_C = r"""[^"<\x00-\x08\x0A-\x1F\x{FFFE}\x{FFFF}]*"""
_CANONICAL = r'<(string|date|int|float|boolean|id) key="' + _C + r'" value="' + _C + r'"/>'
_INT = r"^[+-]?[0-9]+$"
_FLOAT = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_DATE = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?$"
)
_OFFSET = r"(Z|[+-][0-9]{2}:[0-9]{2})$"


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _unescape(column: str) -> str:
    """SQL for an XML attribute value's text: tabs normalised to spaces, predefined entities decoded."""
    out = f"replace({column}, chr(9), ' ')"
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'")):
        out = f"replace({out}, '{entity}', {_sql_string(char)})"
    out = f"replace({out}, '&amp;', '&')"
    return f"CASE WHEN contains({column}, '&') OR contains({column}, chr(9)) THEN {out} ELSE {column} END"


def _entities_ok(column: str) -> str:
    """SQL: true when every '&' in the raw value starts one of the five predefined entities."""
    stripped = column
    for entity in ("&lt;", "&gt;", "&quot;", "&apos;", "&amp;"):
        stripped = f"replace({stripped}, '{entity}', '')"
    return f"(CASE WHEN contains({column}, '&') THEN NOT contains({stripped}, '&') ELSE true END)"


class _Collector:
    """A stand-in sink that keeps what the lxml reader emits for the header."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[Any, ...]]] = {}

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.rows.setdefault(table, []).append(row)

    def add_many(self, table: str, rows: Any) -> None:
        self.rows.setdefault(table, []).extend(rows)


def _header(path: Path) -> bytes | None:
    """The bytes before the first line that is just ``<trace>``; None when the file has none.

    Runs the XML safety check on the head first (raises :class:`UnsafeInputError`).
    """
    with open_binary(path) as raw:
        stream = io.BufferedReader(raw, 1 << 17)  # type: ignore[type-var]
        head = stream.peek(1 << 16)[: 1 << 16]
        check_xml_prolog(path, head)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4]:
            return None  # UTF-16/32
        declared = _ENCODING.search(head[:1024])
        if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
            return None
        parts: list[bytes] = []
        size = 0
        for line in stream:
            if line.strip(b" \t\r\n") == b"<trace>":
                return b"".join(parts)
            parts.append(line)
            size += len(line)
            if size > _HEADER_LIMIT:
                return None
    return None


def _log_meta(path: Path, header: bytes) -> tuple[str, str] | None:
    """The ``log_meta`` row the lxml reader makes of the header, or None if it holds more."""
    from miner.formats.xes_read import _Reader  # local: xes_read imports this module

    collector = _Collector()
    reader = _Reader(path, collector)  # type: ignore[arg-type]
    try:
        reader.run(io.BytesIO(header + b"</log>\n"))
    except InputError:
        return None
    rows = collector.rows
    if reader.trace_index or reader.event_index or rows.get("events") or rows.get("objects"):
        return None
    meta = rows.get("log_meta", [])
    return meta[0] if len(meta) == 1 else None


_T = 1 << 32  # running counts are packed: opened << 32 | closed


# A line is split at '"' into at most this many fields (more: the read fails and we fall back).
_COLUMNS = 9
_TAGS = ("string", "date", "int", "float", "boolean", "id")
_BAD_CHARS = r"[\x00-\x08\x0A-\x1F<\x{FFFE}\x{FFFF}]"


def _parse_lines(con: duckdb.DuckDBPyConnection, path: Path, skip: int) -> None:
    """``{_P}l``: the non-blank lines of the file, classified and split, with running counts.

    One streaming pass in file order: ``ln`` (line number without blank lines), ``kind`` (1 <trace>,
    2 </trace>, 3 <event>, 4 </event>, 5 </log>, 6 attribute, 9 anything else), the attribute's
    ``tag`` and raw key ``rk`` / value ``rv``, and the running counts ``ct`` (traces opened << 32 |
    closed) and ``ce`` (the same for events) up to and including the line.

    DuckDB's CSV reader splits each line at '"' (no quoting, no escapes), so the common attribute
    form ``<tag key="K" value="V"/>`` arrives as the fields ``<tag key=``, K, `` value=``, V, ``/>``.
    Any other line (value before key, single quotes, extra spaces, trailing whitespace) is glued
    back together and matched by the general regular expression. The first ``skip`` lines (the
    header, parsed by lxml) are not read; DuckDB splits lines at least wherever Python does, so it
    never skips past the first ``<trace>``.
    """
    compression = "gzip" if path.suffix == ".gz" else "none"
    names = [f"c{i}" for i in range(1, _COLUMNS + 1)]
    columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
    source = (
        f"read_csv({_sql_string(str(path.resolve()))}, columns={columns}, header=false, "
        "delim='\"', quote='', escape='', auto_detect=false, null_padding=true, "
        f"nullstr=chr(1) || chr(2), skip={skip}, compression='{compression}')"
    )
    # A NULL field before a non-NULL one is a field that read as the null string: not XML.
    holes = " OR ".join(
        f"({names[i]} IS NULL AND {names[i + 1]} IS NOT NULL)" for i in range(_COLUMNS - 1)
    )
    canonical = " ".join(f"WHEN '<{t} key=' THEN '{t}'" for t in _TAGS)
    line = "concat_ws('\"', " + ", ".join(names) + ")"
    structural = "WHEN '<trace>' THEN 1 WHEN '</trace>' THEN 2 WHEN '<event>' THEN 3 WHEN '</event>' THEN 4 WHEN '</log>' THEN 5"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_P}l AS
        WITH c AS (
            SELECT *, ltrim(c1, ' ' || chr(9)) AS h FROM {source}
        ),
        d AS (
            SELECT c2, c4, CASE WHEN c2 IS NULL THEN CASE h {structural.replace("THEN ", "THEN '").replace(" WHEN", "' WHEN")}' END
                    WHEN c3 = ' value=' AND c5 = '/>' AND c6 IS NULL AND c4 IS NOT NULL
                    THEN CASE h {canonical} END END AS ctag,
                CASE WHEN c2 IS NULL AND h NOT IN ('<trace>', '</trace>', '<event>', '</event>', '</log>')
                    OR c2 IS NOT NULL AND NOT (c3 = ' value=' AND c5 = '/>' AND c6 IS NULL
                        AND c4 IS NOT NULL AND h IN ({", ".join(f"'<{t} key='" for t in _TAGS)}))
                THEN CASE WHEN {holes} THEN '<' ELSE trim({line}, ' ' || chr(9) || chr(13)) END
                END AS u
            FROM c
        ),
        e AS (
            SELECT u, c2, c4, ctag,
                CASE WHEN u IS NOT NULL AND u NOT IN ('', '<trace>', '</trace>', '<event>', '</event>', '</log>')
                THEN regexp_extract(u, {_sql_string(_ATTRIBUTE)}, ['tag', 'n1', 'v1', 'n2', 'v2'])
                END AS x
            FROM d
        ),
        f AS (
            SELECT CASE WHEN u IS NULL THEN
                    CASE WHEN ctag IN ('1', '2', '3', '4', '5') THEN ctag::INT
                        WHEN regexp_matches(c2, {_sql_string(_BAD_CHARS)})
                            OR regexp_matches(c4, {_sql_string(_BAD_CHARS)}) THEN 9
                        ELSE 6 END
                ELSE CASE u WHEN '' THEN 0 {structural}
                    ELSE CASE WHEN x.tag <> '' AND x.n1 <> x.n2 THEN 6 ELSE 9 END END END AS kind,
                CASE WHEN u IS NULL THEN ctag ELSE nullif(x.tag, '') END AS tag,
                CASE WHEN u IS NULL THEN c2
                    WHEN x.n1 = 'key' THEN x.v1[2:-2] ELSE x.v2[2:-2] END AS rk,
                CASE WHEN u IS NULL THEN c4
                    WHEN x.n1 = 'key' THEN x.v2[2:-2] ELSE x.v1[2:-2] END AS rv
            FROM e
        )
        SELECT * FROM (
            SELECT row_number() OVER () AS ln, kind::TINYINT AS kind,
                CASE WHEN kind = 6 THEN tag END AS tag, rk, rv,
                (sum(CASE kind WHEN 1 THEN {_T} WHEN 2 THEN 1 ELSE 0 END) OVER w)::BIGINT AS ct,
                (sum(CASE kind WHEN 3 THEN {_T} WHEN 4 THEN 1 ELSE 0 END) OVER w)::BIGINT AS ce
            FROM f WINDOW w AS (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ) WHERE kind <> 0
        """
    )


def _structure(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the lines from the first ``<trace>`` on have the plain shape.

    Balanced traces and events, attributes only inside traces, nothing but ``</log>`` (once, last)
    outside traces, no unknown lines, no stray trace/event tags before the first trace.
    """
    t, e = "(ct >> 32)", "(ce >> 32)"
    tc, ec = f"(ct & {_T - 1})", f"(ce & {_T - 1})"
    row = con.execute(
        f"""
        WITH b AS (SELECT * FROM {_P}l WHERE ln >= (SELECT min(ln) FROM {_P}l WHERE kind = 1))
        SELECT count(*) FILTER (WHERE NOT CASE kind
                WHEN 1 THEN {t} - 1 = {tc} AND {e} = {ec}
                WHEN 2 THEN {t} = {tc} AND {e} = {ec}
                WHEN 3 THEN {t} = {tc} + 1 AND {e} - 1 = {ec}
                WHEN 4 THEN {t} = {tc} + 1 AND {e} = {ec}
                WHEN 6 THEN {t} = {tc} + 1
                WHEN 5 THEN {t} = {tc} AND {e} = {ec}
                ELSE false END),
            count(*) FILTER (WHERE kind = 5),
            max(ln) FILTER (WHERE kind = 5) = max(ln),
            count(*) FILTER (WHERE kind = 1),
            min(ct) FILTER (WHERE kind = 1) = {_T} AND min(ce) FILTER (WHERE kind = 1) = 0
        FROM b
        """
    ).fetchone()
    return (
        row is not None
        and row[0] == 0
        and row[1] == 1
        and bool(row[2])
        and row[3] > 0
        and bool(row[4])
    )


def _build(con: duckdb.DuckDBPyConnection) -> bool:
    """``{_P}a`` (typed attributes), ``{_P}t`` (traces), ``{_P}e`` (events); True when all is valid."""
    k, v = _unescape("rk"), _unescape("rv")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_P}a AS
        WITH a AS (
            SELECT ln, ct >> 32 AS tr, CASE WHEN ce >> 32 > ce & {_T - 1} THEN ce >> 32 END AS ev,
                tag, {k} AS k, {v} AS v, {_entities_ok("rk")} AND {_entities_ok("rv")} AS ents
            FROM {_P}l WHERE kind = 6 AND ct > 0
        )
        SELECT ln, tr, ev, tag, k,
            CASE tag WHEN 'string' THEN 'string' WHEN 'id' THEN 'id' WHEN 'int' THEN 'integer'
                WHEN 'float' THEN 'float' WHEN 'boolean' THEN 'boolean' ELSE 'time' END AS type,
            CASE WHEN tag IN ('string', 'id') THEN v END AS value_string,
            CASE tag WHEN 'int' THEN CASE WHEN regexp_matches(v, {_sql_string(_INT)})
                THEN try_cast(v AS BIGINT) END END AS value_integer,
            CASE tag WHEN 'float' THEN CASE WHEN regexp_matches(v, {_sql_string(_FLOAT)})
                THEN try_cast(v AS DOUBLE) END END AS value_float,
            CASE tag WHEN 'boolean' THEN CASE lower(v) WHEN 'true' THEN true WHEN '1' THEN true
                WHEN 'false' THEN false WHEN '0' THEN false END END AS value_boolean,
            CASE tag WHEN 'date' THEN CASE WHEN regexp_matches(v, {_sql_string(_DATE)})
                AND NOT starts_with(v, '0000')
                THEN try_cast(CASE WHEN regexp_matches(v, {_sql_string(_OFFSET)}) THEN v
                    ELSE v || '+00:00' END AS TIMESTAMPTZ) END END AS value_time,
            ents
        FROM a
        """
    )
    bad = con.execute(
        f"""
        SELECT count(*) FROM {_P}a WHERE NOT ents OR CASE tag
            WHEN 'int' THEN value_integer IS NULL WHEN 'float' THEN value_float IS NULL
            WHEN 'boolean' THEN value_boolean IS NULL WHEN 'date' THEN value_time IS NULL
            ELSE false END
        """
    ).fetchone()
    if bad is None or bad[0]:
        return False
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_P}t AS
        WITH named AS (
            SELECT tr, arg_min(value_string, ln) AS name, min(ln) AS name_ln FROM {_P}a
            WHERE ev IS NULL AND tag = 'string' AND k = 'concept:name' GROUP BY tr
        )
        SELECT b.tr, coalesce(n.name, 'trace-' || b.tr) AS case_id, coalesce(n.name_ln, -1) AS name_ln
        FROM (SELECT ct >> 32 AS tr FROM {_P}l WHERE kind = 1) b LEFT JOIN named n USING (tr)
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_P}e AS
        WITH x AS (
            SELECT ev,
                arg_min(value_string, ln) FILTER (WHERE tag = 'string' AND k = 'concept:name') AS activity,
                min(ln) FILTER (WHERE tag = 'string' AND k = 'concept:name') AS activity_ln,
                arg_min(value_time, ln) FILTER (WHERE tag = 'date' AND k = 'time:timestamp') AS stamp,
                min(ln) FILTER (WHERE tag = 'date' AND k = 'time:timestamp') AS stamp_ln,
                arg_min(value_string, ln) FILTER (WHERE tag = 'id' AND k = 'identity:id') AS identity,
                min(ln) FILTER (WHERE tag = 'id' AND k = 'identity:id') AS identity_ln
            FROM {_P}a WHERE ev IS NOT NULL GROUP BY ev
        )
        SELECT b.ev, t.case_id, coalesce(x.identity, 'e' || b.ev) AS event_id,
            x.identity, x.activity, x.stamp,
            coalesce(x.activity_ln, -1) AS activity_ln, coalesce(x.stamp_ln, -1) AS stamp_ln,
            coalesce(x.identity_ln, -1) AS identity_ln
        FROM (SELECT ce >> 32 AS ev, ct >> 32 AS tr FROM {_P}l WHERE kind = 3) b
        JOIN {_P}t t USING (tr) LEFT JOIN x USING (ev)
        """
    )
    row = con.execute(
        f"""
        SELECT
            (SELECT count(*) - count(DISTINCT case_id) FROM {_P}t),
            (SELECT count(*) FILTER (WHERE activity IS NULL OR stamp IS NULL)
                + count(identity) - count(DISTINCT identity)
                + count(*) FILTER (WHERE regexp_matches(identity, '^e[0-9]'))
             FROM {_P}e)
        """
    ).fetchone()
    return row is not None and row[0] == 0 and row[1] == 0


def _stage(
    con: duckdb.DuckDBPyConnection, sink: TableSink, name: str, log_meta: tuple[str, str]
) -> None:
    values = "type, value_string, value_integer, value_float, value_boolean, value_time"
    file_name = _sql_string(name)
    sink.insert_select("objects", f"SELECT case_id, 'case', tr FROM {_P}t", order_by="tr")
    sink.insert_select(
        "object_attributes",
        f"SELECT t.case_id, a.k, TIMESTAMPTZ '1970-01-01 00:00:00+00', {values}, a.ln "
        f"FROM {_P}a a JOIN {_P}t t USING (tr) WHERE a.ev IS NULL AND a.ln <> t.name_ln",
        order_by="ln",
    )
    sink.insert_select(
        "events",
        f"SELECT event_id, activity, stamp, 'xes', {file_name}, ev AS source_row FROM {_P}e",
        order_by="source_row",
    )
    sink.insert_select(
        "event_attributes",
        f"SELECT e.event_id, a.k, {values}, a.ln FROM {_P}a a JOIN {_P}e e USING (ev) "
        "WHERE a.ln NOT IN (e.activity_ln, e.stamp_ln, e.identity_ln)",
        order_by="ln",
    )
    sink.insert_select(
        "event_objects", f"SELECT event_id, case_id, 'case', ev FROM {_P}e", order_by="ev"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_P}d AS
        SELECT DISTINCT e.activity, a.k, a.type FROM {_P}a a JOIN {_P}e e USING (ev)
        WHERE a.ln NOT IN (e.activity_ln, e.stamp_ln, e.identity_ln)
        """
    )
    sink.insert_select(
        "event_types",
        f"SELECT activity AS event_type, k AS attribute, type FROM {_P}d UNION ALL "
        f"SELECT DISTINCT activity, NULL, NULL FROM {_P}e "
        f"WHERE activity NOT IN (SELECT activity FROM {_P}d)",
        order_by="event_type",
    )
    sink.insert_select(
        "object_types",
        f"SELECT DISTINCT 'case' AS object_type, a.k, a.type FROM {_P}a a JOIN {_P}t t USING (tr) "
        "WHERE a.ev IS NULL AND a.ln <> t.name_ln "
        f"UNION ALL SELECT 'case', NULL, NULL WHERE NOT EXISTS (SELECT 1 FROM {_P}a a JOIN {_P}t t "
        "USING (tr) WHERE a.ev IS NULL AND a.ln <> t.name_ln)",
        order_by="object_type",
    )
    sink.add("log_meta", log_meta)


def read_xes_fast(path: Path, sink: TableSink, *, progress: Progress | None = None) -> bool:
    """Read ``path`` into ``sink`` by the DuckDB fast path; False (nothing staged) if it does not fit.

    Raises:
        UnsafeInputError: the file declares XML entities (checked before anything else is read).
    """
    path = Path(path)
    try:
        check_file(path)
    except InputError:
        return False
    if any(c in str(path) for c in "*?[]{}"):
        return False  # DuckDB would read the path as a glob
    try:
        header = _header(path)
    except UnsafeInputError:
        raise
    except (InputError, OSError, EOFError, zlib.error):
        return False
    if header is None:
        return False
    log_meta = _log_meta(path, header)
    if log_meta is None:
        return False
    con = sink.connection
    try:
        try:
            _parse_lines(con, path, header.count(b"\n"))
        except duckdb.Error:
            return False  # invalid UTF-8, an over-long line, a stray delimiter byte, a bad gzip
        if not _structure(con) or not _build(con):
            return False
        _stage(con, sink, path.name, log_meta)
    finally:
        for table in "late" + "d":
            con.execute(f"DROP TABLE IF EXISTS {_P}{table}")
    if progress is not None:
        progress(path.stat().st_size)
    return True


def fits_fast_path(path: Path) -> bool:
    """Whether :func:`read_xes_fast` takes ``path`` (read into a throwaway in-memory database)."""
    con = duckdb.connect()
    try:
        return read_xes_fast(Path(path), TableSink(con))
    finally:
        con.close()
