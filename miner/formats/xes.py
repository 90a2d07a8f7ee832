"""XES event logs (IEEE 1849, ``.xes`` and ``.xes.gz``): reading into and writing from the canonical
tables.

Reading (:func:`read_xes`, streamed with lxml; memory stays flat whatever the file size):

* Each ``<trace>`` becomes one object of type ``case``; its id is the trace's ``concept:name``, or
  ``trace-<n>`` (n = 1-based trace index) when it has none. Two traces with the same name are an
  :class:`~miner.errors.InputError` naming both (none of the real logs we test on has one).
  The trace's other attributes become object attributes at ``schema.EPOCH``, typed.
* Each ``<event>`` becomes an event. Its id is its ``<id key="identity:id">`` when present and not
  yet used, else ``e<n>`` (n = the event's 1-based index in the file; a displaced ``identity:id``
  is kept as an attribute). ``concept:name`` is the event type, ``time:timestamp`` the time in UTC
  (a date without offset is taken as UTC; digits below the microsecond are dropped). An event
  without either is an InputError naming the line, trace and event index. Every other attribute is
  an event attribute named by its XES key: string, int → integer, float, boolean, date → time,
  id, and list / container as JSON (below). Each event is linked to its case by an E2O row with
  qualifier ``case``. Provenance: source ``xes``, source_file the file name, source_row the index n.
* Nested attributes are JSON lists of nodes ``{"type", "key", "value", "children", "values"}``
  (``value`` is the raw text of the file, ``values`` a list's items). A list's value is its items;
  a container's value its children. An attribute that carries nested meta-attributes of its own
  (the XES ``nested-attributes`` feature) gets a companion attribute ``<key>#children`` of type
  container holding them, which the writer nests back.
* ``<log>``'s own attributes (``xes.version``, ``xes.features``, …), its namespace, and the
  extensions, globals, classifiers and log attributes, in file order, are one ``log_meta`` row
  ``xes`` (JSON). ``event_types`` / ``object_types`` declare every (key, type) seen.

Writing (:func:`write_xes`): the objects of one type that have events are the traces, in read order;
``concept:name`` is the object id and the trace attributes are each attribute's *latest* value(s).
Events linked to the object by any qualifier follow, ordered by (timestamp, read order). An event id
is written as ``identity:id`` unless it equals the ``e<n>`` the reader would assign, so read → write →
read gives the same tables. The header comes from ``log_meta`` ``xes`` when present, else a standard
one (concept, time and, when used, lifecycle, org, identity and cost extensions). Times are UTC with
milliseconds, or microseconds where those are non-zero.

>>> from pathlib import Path
>>> from miner.model.log import connect
>>> from miner.model.loading import TableSink
>>> log = connect(None); sink = TableSink(log.con)
>>> read_xes(Path("../shared/reallogs/running-example.xes"), sink)  # doctest: +SKIP
>>> sink.commit(what="running-example.xes")  # doctest: +SKIP
"""

from __future__ import annotations

from miner.formats.xes_read import read_xes
from miner.formats.xes_write import write_xes

__all__ = ["read_xes", "write_xes"]
