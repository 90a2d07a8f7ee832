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
``timezone(zone, t)``       ``from_utc_timestamp(t, zone)`` (the local wall time)
``list(x ORDER BY k)``      the ``x`` of ``array_sort(collect_list(struct(k, x)))``
``GROUPING(a, b)``          ``grouping(a) * 2 + grouping(b)`` (the same bit mask)
``isodow(d)``               ``weekday(d) + 1``
``d + to_months(n)``        ``add_months(d, n)``
``strftime(t, '%Y-%m')``    ``date_format`` with the pattern translated and literals quoted
``range(a, b) t(c)``        ``explode(sequence(a, b - step, step))`` (DuckDB's end is exclusive)
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
            return _func("FROM_UTC_TIMESTAMP", args[1], args[0])
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
        return _func("DATE_FORMAT", node.this, exp.Literal.string(_pattern(node.text("format"))))
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)
        return node
    if isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries):
        return _series(node)
    return node


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


def _pattern(strftime: str) -> str:
    """A strftime format as a Spark pattern; other characters become quoted literals."""
    out: list[str] = []
    for token in re.findall(r"%.|[^%]+", strftime):
        if token in _FORMAT:
            out.append(_FORMAT[token])
        elif token.startswith("%"):
            raise NotImplementedError(f"strftime directive {token} has no Spark rewrite yet")
        else:
            out.append("'" + token.replace("'", "''") + "'")
    return "".join(out)


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
