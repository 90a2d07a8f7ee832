"""Partner times to UTC, flagging what cannot be converted without guessing.

Partners write local wall-clock times (Europe/Amsterdam) or times with an offset. A local time
inside a daylight-saving *gap* (e.g. 02:30 on the last Sunday of March) never happened; one inside
an *ambiguous* hour (02:00-03:00 on the last Sunday of October) happened twice. miner does not pick
one: such rows are quarantined with rule ``dst_gap`` or ``dst_ambiguous``. The DST transitions come
from the IANA time-zone database (Python's ``zoneinfo``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from miner.errors import SchemaError


def check_timezone(name: str, where: str) -> ZoneInfo:
    """The zone called ``name``, or a :class:`SchemaError` naming the mapping key."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SchemaError(f"{where}: key 'source.timezone' is {name!r}, not an IANA time zone. "
                          "Use a name such as Europe/Amsterdam.") from exc


@cache
def dst_windows(zone: str, first_year: int, last_year: int) -> pa.Table:
    """The local wall-clock windows of ``zone`` that are a gap or ambiguous, in the given years.

    Columns: ``local_start`` and ``local_end`` (naive local times, end exclusive) and ``kind``
    (``dst_gap`` or ``dst_ambiguous``).
    """
    tz = ZoneInfo(zone)
    starts: list[datetime] = []
    ends: list[datetime] = []
    kinds: list[str] = []
    day = datetime(first_year, 1, 1, tzinfo=UTC)
    stop = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    while day < stop:
        nxt = day + timedelta(days=1)
        before, after = day.astimezone(tz).utcoffset(), nxt.astimezone(tz).utcoffset()
        if before != after and before is not None and after is not None:
            instant = _transition(tz, day, nxt)
            low, high = sorted((before, after))
            starts.append((instant + low).replace(tzinfo=None))
            ends.append((instant + high).replace(tzinfo=None))
            kinds.append("dst_gap" if after > before else "dst_ambiguous")
        day = nxt
    return pa.table({
        "local_start": pa.array(starts, pa.timestamp("us")),
        "local_end": pa.array(ends, pa.timestamp("us")),
        "kind": pa.array(kinds, pa.string()),
    })


def _transition(tz: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The UTC instant (to the minute) at which the offset changes between ``low`` and ``high``."""
    offset = low.astimezone(tz).utcoffset()
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        middle = middle.replace(second=0, microsecond=0)
        if middle.astimezone(tz).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return high


def time_sql(columns: list[str], formats: list[str], zone: str) -> tuple[str, str, bool]:
    """SQL for the text of a time, its parsed value and whether the formats carry an offset.

    Returns ``(text, parsed, with_offset)``: ``text`` joins the columns with a space (NULL when all
    are empty); ``parsed`` is TIMESTAMPTZ for formats with ``%z`` and local TIMESTAMP otherwise
    (NULL when the text does not fit the formats or names a date that does not exist).
    """
    if len(columns) == 1:
        text = columns[0]
    else:
        text = (f"CASE WHEN {' AND '.join(c + ' IS NULL' for c in columns)} THEN NULL "
                f"ELSE concat_ws(' ', {', '.join(columns)}) END")
    # One try_strptime per format: DuckDB 2.0's list form rolls 31 April over to 1 May with %z.
    tries = [f"try_strptime({text}, '{f.replace(chr(39), chr(39) * 2)}')" for f in formats]
    with_offset = any("%z" in f for f in formats)
    if with_offset and not all("%z" in f for f in formats):
        raise SchemaError(f"time formats {formats} mix times with and without an offset; split them.")
    parsed = tries[0] if len(tries) == 1 else f"coalesce({', '.join(tries)})"
    return text, parsed, with_offset


__all__ = ["check_timezone", "dst_windows", "time_sql", "zone_literal"]


def zone_literal(zone: str) -> str:
    return "'" + zone.replace("'", "''") + "'"
