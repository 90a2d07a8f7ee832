"""The canonical object-centric tables of a miner workspace (OCEL 2.0, ARCHITECTURE.md §1).

Every log miner reads, whatever its format, lands in these tables of one DuckDB database:

* ``event_types`` / ``object_types``: the declared types and their typed attributes (one row per
  attribute; a type without attributes has one row with ``attribute`` NULL).
* ``events``: one row per event, with its type (the activity), its UTC timestamp and its provenance
  (``source``, ``source_file``, ``source_row``).
* ``event_attributes``: one row per event attribute value (long form, typed).
* ``objects``: one row per object with its type.
* ``object_attributes``: one row per object attribute value *at a time*; the initial value has
  time 1970-01-01T00:00:00Z (the OCEL 2.0 convention) and later rows are attribute changes.
* ``event_objects`` (E2O) and ``object_objects`` (O2O): links with their qualifier. A pair may occur
  more than once with different qualifiers; every link is kept.
* ``log_meta``: format-level facts that must survive a round trip (XES extensions, globals,
  classifiers and log attributes) as JSON.

Attribute values are typed. ``type`` is one of :data:`VALUE_TYPES`; the value sits in the one
``value_*`` column that type names (``VALUE_COLUMN``), the others are NULL. The OCEL 2.0 types are
string, integer, float, boolean and time; XES adds ``id`` (kept in ``value_string``) and the nested
``list`` and ``container`` (kept as JSON text in ``value_string``).

Every table except the type declarations and ``log_meta`` ends in ``seq``: the order rows were read
in, so writers reproduce the source's order and ties in time are broken the way the file had them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

#: The OCEL 2.0 attribute types plus the XES-only ones; the key is stored in the ``type`` column.
VALUE_TYPES = ("string", "integer", "float", "boolean", "time", "id", "list", "container")
#: The column that carries a value of each type.
VALUE_COLUMN = {
    "string": "value_string",
    "integer": "value_integer",
    "float": "value_float",
    "boolean": "value_boolean",
    "time": "value_time",
    "id": "value_string",
    "list": "value_string",
    "container": "value_string",
}
#: OCEL 2.0's time for an object attribute's initial value.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_TS = pa.timestamp("us", tz="UTC")
_VALUE_FIELDS = [
    pa.field("type", pa.string(), nullable=False),
    pa.field("value_string", pa.string()),
    pa.field("value_integer", pa.int64()),
    pa.field("value_float", pa.float64()),
    pa.field("value_boolean", pa.bool_()),
    pa.field("value_time", _TS),
]

#: Arrow schema of every canonical table, in column order. Readers hand batches of exactly
#: these schemas to :class:`miner.model.loading.TableSink`.
ARROW_SCHEMAS: dict[str, pa.Schema] = {
    "event_types": pa.schema(
        [
            pa.field("event_type", pa.string(), nullable=False),
            pa.field("attribute", pa.string()),
            pa.field("type", pa.string()),
        ]
    ),
    "object_types": pa.schema(
        [
            pa.field("object_type", pa.string(), nullable=False),
            pa.field("attribute", pa.string()),
            pa.field("type", pa.string()),
        ]
    ),
    "events": pa.schema(
        [
            pa.field("event_id", pa.string(), nullable=False),
            pa.field("event_type", pa.string(), nullable=False),
            pa.field("timestamp", _TS, nullable=False),
            pa.field("source", pa.string()),
            pa.field("source_file", pa.string()),
            pa.field("source_row", pa.int64()),
            pa.field("seq", pa.int64(), nullable=False),
        ]
    ),
    "event_attributes": pa.schema(
        [pa.field("event_id", pa.string(), nullable=False), pa.field("name", pa.string(), nullable=False)]
        + _VALUE_FIELDS
        + [pa.field("seq", pa.int64(), nullable=False)]
    ),
    "objects": pa.schema(
        [
            pa.field("object_id", pa.string(), nullable=False),
            pa.field("object_type", pa.string(), nullable=False),
            pa.field("seq", pa.int64(), nullable=False),
        ]
    ),
    "object_attributes": pa.schema(
        [
            pa.field("object_id", pa.string(), nullable=False),
            pa.field("name", pa.string(), nullable=False),
            pa.field("time", _TS, nullable=False),
        ]
        + _VALUE_FIELDS
        + [pa.field("seq", pa.int64(), nullable=False)]
    ),
    "event_objects": pa.schema(
        [
            pa.field("event_id", pa.string(), nullable=False),
            pa.field("object_id", pa.string(), nullable=False),
            pa.field("qualifier", pa.string(), nullable=False),
            pa.field("seq", pa.int64(), nullable=False),
        ]
    ),
    "object_objects": pa.schema(
        [
            pa.field("source_id", pa.string(), nullable=False),
            pa.field("target_id", pa.string(), nullable=False),
            pa.field("qualifier", pa.string(), nullable=False),
            pa.field("seq", pa.int64(), nullable=False),
        ]
    ),
    "log_meta": pa.schema(
        [pa.field("key", pa.string(), nullable=False), pa.field("value", pa.string(), nullable=False)]
    ),
}

CANONICAL_TABLES = tuple(ARROW_SCHEMAS)

_DUCK_TYPES = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    _TS: "TIMESTAMPTZ",
}


def create_table_sql(table: str) -> str:
    """The DuckDB ``CREATE TABLE IF NOT EXISTS`` statement of one canonical table."""
    columns = ", ".join(
        f'"{f.name}" {_DUCK_TYPES[f.type]}{"" if f.nullable else " NOT NULL"}'
        for f in ARROW_SCHEMAS[table]
    )
    return f"CREATE TABLE IF NOT EXISTS {table} ({columns})"
