"""miner's exceptions. Every error a user can cause is a :class:`MinerError` whose message names the
file, the position (row, line, column or byte offset), what was found and the fix.

Exception hierarchy::

    MinerError
    ├── InputError          a file or database cannot be read as the format it claims
    │   └── UnsafeInputError    XML with entity declarations or external entities
    ├── SchemaError         a mapping names columns the source does not have (also a ValueError)
    ├── WorkspaceError      a workspace cannot take the data (e.g. ids already present)
    ├── CaseNotionError     a case-centric figure was asked of a log with several object types
    ├── ModelError          a swimlane reference model (BPMN) is malformed (also a ValueError)
    └── UnknownNameError    an unknown option, format or object type; suggests the closest
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class MinerError(Exception):
    """Base class of every error miner raises on purpose."""


class InputError(MinerError):
    """A file cannot be read: missing, empty, truncated, malformed or of an unknown version."""


class UnsafeInputError(InputError):
    """An XML file declares entities or refers to external ones (billion laughs, XXE)."""


class SchemaError(MinerError, ValueError):
    """A source lacks the columns its mapping needs, or a value has the wrong type."""


class WorkspaceError(MinerError):
    """A workspace cannot take the data offered (colliding ids, an unreadable database file)."""


class CaseNotionError(MinerError):
    """A case-centric figure needs one object type as case notion and none was chosen."""


class UnknownNameError(MinerError, ValueError):
    """A name (format, object type, option) is not one miner knows."""

    def __init__(self, what: str, found: str, known: Iterable[str]) -> None:
        known = sorted(set(known))
        close = difflib.get_close_matches(found, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        shown = ", ".join(repr(k) for k in known[:20]) + (" …" if len(known) > 20 else "")
        super().__init__(f"unknown {what} {found!r}. Known: {shown}.{hint}")
        self.found = found
        self.known = known


class ModelError(MinerError, ValueError):
    """A process model (BPMN swimlane model) is malformed; the message names the element id."""
