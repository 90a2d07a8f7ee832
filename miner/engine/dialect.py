"""One SQL source, two engines: miner's DuckDB SQL rewritten for Spark SQL with sqlglot.

The analyses are written once, in DuckDB's dialect. :func:`to_spark` parses a statement with sqlglot
(``read="duckdb"``), rewrites the few constructs whose Spark spelling sqlglot does not produce, or
produces with other semantics, and writes it in Spark's dialect. Each rewrite keeps the DuckDB
meaning exactly:

=========================== ===================================================================
DuckDB                      Spark
=========================== ===================================================================
``epoch_us(t)``             ``unix_micros(t)``
``quantile_cont(x, q)``     ``percentile(x, q)`` (exact, linear interpolation; not *_approx)
``any_value(x)``             ``any_value(x, true)`` (NULLs skipped, as DuckDB does)
``hash(a, …)``              ``xxhash64(a, …)`` (64 bits: Spark's ``hash`` has 32 and collides)
``timezone(zone, t)``       ``from_utc_timestamp(t, zone)`` (the local wall time), or for a
                            wall time parsed from text ``to_utc_timestamp(t, zone)``, an
                            ambiguous wall time taken as the later instant as ICU does
``try_strptime(s, f)``      ``try_to_timestamp(s, pattern)`` (the pattern as for ``strftime``)
``epoch(t)``                ``unix_micros(t) / 1e6`` as DOUBLE (``unix_timestamp`` truncates)
``0.25`` (decimal literal)  ``CAST(0.25 AS DOUBLE)``: DuckDB divides decimals as DOUBLE, Spark
                            as DECIMAL rounded to 6 places
``'infinity'::TIMESTAMP``   ``timestamp_micros(±(2^63 - 1))``, Spark's last and first instants
``list(x ORDER BY k)``      the ``x`` of ``array_sort(collect_list(struct(k, x)))``
``GROUPING(a, b)``          ``grouping(a) * 2 + grouping(b)`` (the same bit mask)
``isodow(d)``               ``weekday(d) + 1``
``d + to_months(n)``        ``add_months(d, n)``
``strftime(t, '%Y-%m')``    ``date_format`` with the pattern translated and literals quoted
``strftime(d, '%G-W%V')``   ISO year ``year(date_add(d, 3 - weekday(d)))`` and ISO week
                            ``weekofyear(d)``, zero-padded and concatenated
``range(a, b) t(c)``        ``explode(sequence(a, b - step, step))`` (DuckDB's end is exclusive)
``ORDER BY rowid``          ``ORDER BY monotonically_increasing_id()``: a temp table's
                            insertion order (see :mod:`miner.engine.spark`)
``WITH x AS MATERIALIZED``  ``WITH x AS`` (a planner hint)
``… QUALIFY c``             ``SELECT * EXCEPT (q) FROM (SELECT …, c AS q) WHERE q``
=========================== ===================================================================
"""

from __future__ import annotations

import re
from typing import cast

import sqlglot
from sqlglot import exp

#: strftime directives → Spark datetime pattern letters.
_FORMAT = {"%Y": "yyyy", "%m": "MM", "%d": "dd", "%H": "HH", "%M": "mm", "%S": "ss"}


#: DuckDB's infinite timestamps → Spark's first and last microsecond; as period bounds they
#: compare with every real timestamp as the infinities do.
_INFINITY = {"infinity": 2**63 - 1, "+infinity": 2**63 - 1, "-infinity": -(2**63) + 1}


def _parses_text(node: exp.Expression) -> bool:
    return isinstance(node, exp.StrToTime) or (
        isinstance(node, exp.Anonymous) and str(node.this).lower() in ("try_strptime", "strptime")
    ) or (isinstance(node, exp.Anonymous) and str(node.this).upper() == "TRY_TO_TIMESTAMP")


def parse(sql: str) -> list[exp.Expression]:
    """The statements of ``sql`` (DuckDB dialect)."""
    return [cast(exp.Expression, s) for s in sqlglot.parse(sql, read="duckdb") if s is not None]


def to_spark(statement: exp.Expression) -> str:
    """Spark SQL text for one parsed DuckDB statement (see the module docstring)."""
    # A rewrite may hand back children that still need rewriting: repeat until nothing changes
    # (every rewrite produces a form no rewrite matches again).
    tree = statement.copy()
    text = ""
    for _ in range(8):
        tree = tree.transform(_rewrite)
        previous, text = text, tree.sql(dialect="spark")
        if text == previous:
            break
    return text


def _func(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous):
        name = str(node.this).lower()
        args = list(node.expressions)
        if name == "epoch_us":
            return _func("UNIX_MICROS", *args)
        if name == "hash":
            return _func("XXHASH64", *args)
        if name == "timezone" and len(args) == 2:
            if _parses_text(args[1]):
                return _wall_to_instant(args[1], args[0])
            return _func("FROM_UTC_TIMESTAMP", args[1], args[0])
        if name == "try_strptime" and len(args) == 2 and args[1].is_string:
            return _func("TRY_TO_TIMESTAMP", args[0], exp.Literal.string(_pattern(
                re.findall(r"%.|[^%]+", args[1].name))))
    if (isinstance(node, exp.Literal) and not node.is_string and not node.is_int
            and not isinstance(node.parent, exp.Cast)):
        # DuckDB computes with a decimal literal as DECIMAL and divides as DOUBLE; Spark keeps
        # DECIMAL and rounds quotients to 6 decimals (a squared share of 1e-4 becomes 0).
        return exp.Cast(this=node.copy(), to=exp.DataType.build("double"))
    if isinstance(node, exp.TimeToUnix):
        # DuckDB's epoch(t) is DOUBLE seconds with the microseconds; Spark's unix_timestamp
        # truncates to whole seconds.
        micros = exp.Cast(this=_func("UNIX_MICROS", node.this), to=exp.DataType.build("double"))
        return exp.Paren(this=exp.Div(this=micros, expression=exp.Literal.number(1_000_000)))
    if isinstance(node, exp.Cast) and node.this.is_string and node.to.is_type(
            "timestamp", "timestamptz", "timestampntz") and node.this.name.lower() in _INFINITY:
        return _func("TIMESTAMP_MICROS", exp.Literal.number(_INFINITY[node.this.name.lower()]))
    if isinstance(node, exp.Column) and not node.table and node.name.lower() == "rowid":
        # The adapter's temp tables are materialised frames whose partitions keep insertion
        # order (INSERT appends a partition), so this id increases as DuckDB's rowid does.
        return _func("MONOTONICALLY_INCREASING_ID")
    if isinstance(node, exp.Select) and node.args.get("qualify") is not None:
        return _unqualify(node)
    if isinstance(node, exp.IgnoreNulls) and isinstance(node.this, exp.AnyValue):
        return _func("ANY_VALUE", node.this.this, exp.true())
    if isinstance(node, exp.AnyValue):
        # DuckDB's any_value skips NULLs; Spark's does when asked to.
        return _func("ANY_VALUE", node.this, exp.true())
    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        return _func("PERCENTILE", node.this, node.expression)
    if isinstance(node, exp.Add) and isinstance(node.expression, exp.Anonymous) and (
        str(node.expression.this).lower() == "to_months"
    ):
        return _func("ADD_MONTHS", node.this, *node.expression.expressions)
    if isinstance(node, exp.DayOfWeekIso):
        return exp.Add(this=_func("WEEKDAY", node.this), expression=exp.Literal.number(1))
    if isinstance(node, exp.Grouping) and len(node.expressions) > 1:
        # Spark's grouping_id needs every grouping column; the sum of single bits does not.
        n = len(node.expressions)
        bits = [exp.Mul(this=exp.Grouping(expressions=[e.copy()]),
                        expression=exp.Literal.number(2 ** (n - 1 - i)))
                for i, e in enumerate(node.expressions)]
        total: exp.Expression = bits[0]
        for bit in bits[1:]:
            total = exp.Add(this=total, expression=bit)
        return exp.Paren(this=total)
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        return _ordered_list(node.this)
    if isinstance(node, exp.TimeToStr):
        return _strftime(node.this, node.text("format"))
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)
        return node
    if isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries):
        return _series(node)
    return node


#: ``timezone(zone, wall)`` for a wall time parsed from text. Spark's ``to_utc_timestamp`` takes
#: an ambiguous wall time (the hour repeated when summer time ends) as the earlier instant,
#: DuckDB (ICU) as the later one: when the zone's offset three hours on (after the transition)
#: maps the wall time back to itself at a later instant, that instant is taken. Wall times in the
#: hour skipped when summer time starts get the same instant on both.
_WALL_TO_INSTANT = """
CASE WHEN timestamp_micros(unix_micros(_w) - (unix_micros(from_utc_timestamp(_p, _z))
                                              - unix_micros(_p))) > _c
      AND from_utc_timestamp(timestamp_micros(unix_micros(_w) - (
            unix_micros(from_utc_timestamp(_p, _z)) - unix_micros(_p))), _z) = _w
     THEN timestamp_micros(unix_micros(_w) - (unix_micros(from_utc_timestamp(_p, _z))
                                              - unix_micros(_p)))
     ELSE _c END"""


def _wall_to_instant(wall: exp.Expression, zone: exp.Expression) -> exp.Expression:
    template = sqlglot.parse_one(_WALL_TO_INSTANT, read="spark")
    instant = _func("TO_UTC_TIMESTAMP", wall.copy(), zone.copy())
    probe = _func("TIMESTAMP_MICROS", exp.Add(this=_func("UNIX_MICROS", instant.copy()),
                                              expression=exp.Literal.number(3 * 3600 * 10**6)))
    parts = {"_w": wall, "_z": zone, "_c": instant, "_p": probe}

    def fill(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name in parts:
            return parts[node.name].copy()
        return node

    return exp.Paren(this=template.transform(fill))


def _unqualify(select: exp.Select) -> exp.Expression:
    """``SELECT … QUALIFY c ORDER BY o`` as a filter on ``c`` computed as an extra column, which
    is then left out (sqlglot's own rewrite leaves that column in ``SELECT *`` results)."""
    qualify = select.args["qualify"]
    inner = select.copy()
    inner.set("qualify", None)
    order = inner.args.get("order")
    inner.set("order", None)
    inner = inner.select(exp.alias_(qualify.this.copy(), "_miner_q"), append=True)
    text = (f"SELECT * EXCLUDE (_miner_q) FROM ({inner.sql('duckdb')}) AS _miner_t WHERE _miner_q"
            + (f" {order.sql('duckdb')}" if order is not None else ""))
    return cast(exp.Expression, sqlglot.parse_one(text, read="duckdb"))


def _ordered_list(order: exp.Order) -> exp.Expression:
    """``list(x ORDER BY k1, k2)`` as a sort of ``struct(k1, k2, x)`` values, then their ``x``."""
    keys = [o.this for o in order.expressions]
    if any(o.args.get("desc") for o in order.expressions):
        raise NotImplementedError("list(... ORDER BY ... DESC) has no Spark rewrite yet")
    fields = [exp.PropertyEQ(this=exp.to_identifier(f"k{i}"), expression=k)
              for i, k in enumerate(keys)]
    fields.append(exp.PropertyEQ(this=exp.to_identifier("v"), expression=order.this))
    packed = exp.Struct(expressions=fields)
    sorted_ = _func("ARRAY_SORT", _func("COLLECT_LIST", packed))
    text = f"TRANSFORM({sorted_.sql('spark')}, s -> s.v)"
    return cast(exp.Expression, sqlglot.parse_one(text, read="spark"))


def _pattern(tokens: list[str]) -> str:
    """strftime tokens as a Spark pattern; other characters become quoted literals."""
    out: list[str] = []
    for token in tokens:
        if token in _FORMAT:
            out.append(_FORMAT[token])
        elif token.startswith("%"):
            raise NotImplementedError(f"strftime directive {token} has no Spark rewrite yet")
        else:
            out.append("'" + token.replace("'", "''") + "'")
    return "".join(out)


def _padded(number: exp.Expression, width: int) -> exp.Expression:
    text = exp.Cast(this=number, to=exp.DataType.build("string"))
    return _func("LPAD", text, exp.Literal.number(width), exp.Literal.string("0"))


def _iso(directive: str, value: exp.Expression) -> exp.Expression:
    """``%G`` (ISO year: the year of the week's Thursday) and ``%V`` (ISO week, 01-53)."""
    day = exp.Cast(this=value.copy(), to=exp.DataType.build("date"))
    if directive == "%V":
        return _padded(_func("WEEKOFYEAR", day), 2)
    thursday = _func("DATE_ADD", day, exp.Sub(this=exp.Literal.number(3),
                                               expression=_func("WEEKDAY", day.copy())))
    return _padded(_func("YEAR", thursday), 4)


def _strftime(value: exp.Expression, strftime: str) -> exp.Expression:
    """``strftime(t, f)``: ``date_format`` for the directives Spark's patterns have; the ISO
    week-date directives (``%G``, ``%V``), which Spark 3 no longer formats, computed and
    concatenated."""
    parts: list[exp.Expression] = []
    run: list[str] = []

    def flush() -> None:
        if any(t.startswith("%") for t in run):
            parts.append(_func("DATE_FORMAT", value.copy(), exp.Literal.string(_pattern(run))))
        elif run:
            parts.append(exp.Literal.string("".join(run)))
        run.clear()

    for token in re.findall(r"%.|[^%]+", strftime):
        if token in ("%G", "%V"):
            flush()
            parts.append(_iso(token, value))
        else:
            run.append(token)
    flush()
    return parts[0] if len(parts) == 1 else _func("CONCAT", *parts)


def _series(table: exp.Table) -> exp.Expression:
    """DuckDB's ``range(start, end[, step])`` (end exclusive) as a Spark subquery."""
    series = table.this
    assert isinstance(series, exp.GenerateSeries)
    start, end, step = series.args["start"], series.args["end"], series.args.get("step")
    alias = table.args.get("alias")
    column = "range"
    name = "range"
    if alias is not None:
        name = alias.name or name
        if alias.columns:
            column = alias.columns[0].name
    if series.args.get("is_end_exclusive"):
        end = exp.Sub(this=end, expression=step.copy() if step is not None
                      else exp.Literal.number(1))
    args = [start, end] + ([step] if step is not None else [])
    select = exp.select(exp.alias_(_func("EXPLODE", _func("SEQUENCE", *args)), column))
    return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(name)))
