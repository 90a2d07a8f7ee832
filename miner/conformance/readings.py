"""Readings of the reference model: documented interpretations the check accepts by default.

Where the seed documents leave the chain's process open (the conflicts of the reference extract's
section 1.7, the lanes it marks "low"), ``miner/data/reference/readings.toml`` names each reading.
Three kinds:

* **order**: ``step`` may occur anywhere among the steps ``among``. A phase trace *follows* the
  reading when the step occurs once and stands in one unbroken run of ``among`` steps that has it
  elsewhere than its model ``place`` (``first``: before the first of them; ``last``: after the last;
  ``after:ID``: right after that step). The trace is then *read* with the step moved back to its
  model place (:func:`read_trace`), and the check aligns the read trace; deviations map back to
  the events they concern.
* **lane**: the organisations of the lanes ``lanes`` may also perform ``step``: the model is checked
  with those lanes added to the step's task (:func:`widen_lanes`).
* **note**: a caution that changes no finding (documented so every conflict has its place).

A deviation that appears only when a reading is *rejected* holds only under the other reading: it
names the reading (``Deviation.reading``). Each reading is judged alone: its deviations are those
of the check with every reading accepted but that one. An accepted reading's deviations are
listed apart and do not count against the conformance rate; a rejected reading's count as
findings. Order readings apply to the shipped reference model only; an own model carries its own
interpretation.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from miner.catalogue import chain_catalogue
from miner.conformance.swimlane import SwimlaneModel
from miner.errors import SchemaError, UnknownNameError

Kind = Literal["order", "lane", "note"]
KINDS: tuple[str, ...] = ("order", "lane", "note")
_KEYS = {"id", "conflict", "kind", "seed", "nl", "en", "step", "among", "place", "lanes"}


@dataclass(frozen=True)
class Reading:
    """One named reading. ``step``/``among`` are activity labels (the file names catalogue ids);
    ``place`` is ``first``, ``last`` or ``after:LABEL``; ``lanes`` are lane names of the model."""

    id: str
    conflict: str
    kind: str
    seed: str
    nl: str
    en: str
    step: str | None = None
    among: tuple[str, ...] = ()
    place: str | None = None
    lanes: tuple[str, ...] = ()

    def title(self, lang: str) -> str:
        return self.nl if lang == "nl" else self.en


def readings_path() -> Path:
    return Path(str(resources.files("miner") / "data" / "reference" / "readings.toml"))


@cache
def load_readings(path: str | Path | None = None) -> tuple[Reading, ...]:
    """The readings of ``path`` (default: the shipped file), checked: known keys and kinds, unique
    ids, catalogue ids for the steps, a place for an order reading, lanes for a lane reading."""
    source = Path(path) if path is not None else readings_path()
    data = tomllib.loads(source.read_text(encoding="utf-8"))
    label_of = {a.id: a.label for a in chain_catalogue().values()}
    found: list[Reading] = []
    for i, raw in enumerate(data.get("reading", []), start=1):
        where = f"{source}: reading {i} ([[reading]] number {i})"
        unknown = set(raw) - _KEYS
        if unknown:
            raise SchemaError(f"{where} has unknown key(s) {sorted(unknown)}; known: "
                              f"{sorted(_KEYS)}")
        missing = {"id", "conflict", "kind", "seed", "nl", "en"} - set(raw)
        if missing:
            raise SchemaError(f"{where} lacks {sorted(missing)}")
        if raw["kind"] not in KINDS:
            raise UnknownNameError(f"reading kind in {where}", raw["kind"], KINDS)

        def label(activity: str, key: str, where: str = where) -> str:
            if activity not in label_of:
                raise UnknownNameError(f"activity id in {key} of {where}", activity, label_of)
            return label_of[activity]

        step = label(raw["step"], "step") if "step" in raw else None
        among = tuple(label(a, "among") for a in raw.get("among", ()))
        place = raw.get("place")
        if raw["kind"] == "order":
            if step is None or not among or place is None:
                raise SchemaError(f"{where}: an order reading needs step, among and place")
            if place.startswith("after:"):
                place = "after:" + label(place.removeprefix("after:"), "place")
            elif place not in ("first", "last"):
                raise SchemaError(f"{where}: place {place!r} is not 'first', 'last' or 'after:ID'")
        if raw["kind"] == "lane" and (step is None or not raw.get("lanes")):
            raise SchemaError(f"{where}: a lane reading needs step and lanes")
        found.append(Reading(raw["id"], raw["conflict"], raw["kind"], raw["seed"], raw["nl"],
                             raw["en"], step, among, place, tuple(raw.get("lanes", ()))))
    ids = [r.id for r in found]
    doubled = sorted({x for x in ids if ids.count(x) > 1})
    if doubled:
        raise SchemaError(f"{source}: reading id(s) {doubled} given twice")
    return tuple(found)


def check_names(rejected: Iterable[str], readings: Sequence[Reading]) -> frozenset[str]:
    """``rejected`` as a set, every name a reading id (an unknown one raises with the closest)."""
    ids = [r.id for r in readings]
    for name in rejected:
        if name not in ids:
            raise UnknownNameError("reading", name, ids)
    return frozenset(rejected)


def _read_once(trace: list[tuple[str, int]], reading: Reading) -> list[tuple[str, int]] | None:
    """One order reading applied to a trace of (label, original position); None when the trace does
    not follow it."""
    at = [i for i, (a, _) in enumerate(trace) if a == reading.step]
    if len(at) != 1:
        return None
    i = at[0]
    members = set(reading.among)
    lo, hi = i, i
    while lo > 0 and trace[lo - 1][0] in members:
        lo -= 1
    while hi + 1 < len(trace) and trace[hi + 1][0] in members:
        hi += 1
    run = trace[lo:i] + trace[i + 1:hi + 1]
    if not run:
        return None
    place = reading.place or "last"
    if place == "first":
        to = 0
    elif place == "last":
        to = len(run)
    else:
        anchor = place.removeprefix("after:")
        hits = [k for k, (a, _) in enumerate(run) if a == anchor]
        if not hits:
            return None
        to = hits[-1] + 1
    moved = run[:to] + [trace[i]] + run[to:]
    if moved == trace[lo:hi + 1]:
        return None
    return trace[:lo] + moved + trace[hi + 1:]


def read_trace(variant: Sequence[str], readings: Sequence[Reading]
               ) -> tuple[tuple[str, ...], tuple[int, ...], frozenset[str]]:
    """The trace as read under the order ``readings`` (applied in order, repeated until nothing
    moves): the read trace, for each of its positions the 1-based position in ``variant`` of the
    same event, and the ids of the readings it follows."""
    trace = [(a, k) for k, a in enumerate(variant, start=1)]
    followed: set[str] = set()
    for _ in range(len(readings) + 1):
        changed = False
        for reading in readings:
            if reading.kind != "order":
                continue
            moved = _read_once(trace, reading)
            if moved is not None:
                trace, changed = moved, True
                followed.add(reading.id)
        if not changed:
            break
    return tuple(a for a, _ in trace), tuple(k for _, k in trace), frozenset(followed)


def widen_lanes(model: SwimlaneModel, readings: Iterable[Reading]) -> SwimlaneModel:
    """The model with each lane reading's lanes added to its step's tasks (by lane name; a lane the
    model does not have raises)."""
    by_name = {lane.name: lane_id for lane_id, lane in model.lanes.items()}
    tasks = dict(model.tasks)
    for reading in readings:
        if reading.kind != "lane":
            continue
        for name in reading.lanes:
            if name not in by_name:
                raise UnknownNameError(f"lane of reading {reading.id!r}", name, by_name)
        extra = tuple(by_name[n] for n in reading.lanes)
        for task_id, task in tasks.items():
            if task.label == reading.step:
                tasks[task_id] = replace(task, lanes=task.lanes + tuple(
                    x for x in extra if x not in task.lanes))
    return replace(model, tasks=tasks)


def lane_reading_of(readings: Sequence[Reading]) -> Mapping[str, str]:
    """Activity label → the id of the lane reading about it."""
    return {r.step: r.id for r in readings if r.kind == "lane" and r.step is not None}


@dataclass(frozen=True)
class ReadVariant:
    """A phase variant as the check reads it: the foreigner's own ``variant``, the ``read`` trace
    with every order reading accepted and the ``positions`` that map it back, the readings it
    ``follows``, and for each of them the read trace (and positions) with that one rejected."""

    variant: tuple[str, ...]
    read: tuple[str, ...]
    positions: tuple[int, ...]
    follows: frozenset[str]
    without: Mapping[str, tuple[tuple[str, ...], tuple[int, ...]]]


def read_variants(variants: Iterable[tuple[str, ...]], readings: Sequence[Reading]
                  ) -> list[ReadVariant]:
    """Every variant read under the order ``readings`` (:func:`read_trace`), with the trace read
    under all readings but one for each reading it follows."""
    out = []
    for variant in variants:
        read, positions, follows = read_trace(variant, readings)
        without = {}
        for rid in sorted(follows):
            other, where, _ = read_trace(variant, [r for r in readings if r.id != rid])
            if other != read:
                without[rid] = (other, where)
        out.append(ReadVariant(tuple(variant), read, positions, follows, without))
    return out


@dataclass(frozen=True)
class ReadingUse:
    """One reading in a check: whether it was ``accepted``; the ``followers`` (foreigners whose
    trace follows it: an order reading's step elsewhere in its run, a lane reading's step done by
    one of its organisations); the ``deviations`` that hold only when it is rejected and the
    ``foreigners`` with one (rated categories); and the conformance rate with it accepted and with
    it rejected, the other readings as chosen (None for a note)."""

    id: str
    conflict: str
    kind: str
    accepted: bool
    followers: int
    deviations: int
    foreigners: int
    rate_accepted: float | None
    rate_rejected: float | None
