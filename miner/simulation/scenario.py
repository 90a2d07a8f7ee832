"""Scenario files: every capacity, opening hour, duration and routing share of the simulated chain.

A *scenario* is a TOML file in ``miner/data/scenarios/`` (or anywhere on disk). It may name a
``base`` scenario whose values it overrides, so the 2023 inflow scenarios only state what differs
from the 2021 default. The file is validated strictly against :data:`SCHEMA`: an unknown key, a
negative capacity, a probability outside [0, 1] or shares that do not sum to 1 raise
:class:`ScenarioError` naming the key, the allowed values and the closest known key.
"""

from __future__ import annotations

import difflib
import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from miner.errors import MinerError
from miner.simulation._schema import DISTS, NAME_GROUPS, NATIONALITY, SCHEMA, SITES, TOP


class ScenarioError(MinerError, ValueError):
    """A scenario file is malformed: unknown key, wrong type, negative capacity or bad shares."""


def _fail(where: str, key: str, problem: str, allowed: Any) -> ScenarioError:
    known = sorted(allowed) if isinstance(allowed, (dict, set, list, tuple)) else []
    close = difflib.get_close_matches(key, [str(k) for k in known], n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(repr(k) for k in known) if known else str(allowed)
    return ScenarioError(f"{where}: key {key!r} {problem}. Allowed: {shown}.{hint}")


@dataclass(frozen=True)
class Dist:
    """A duration distribution: ``kind`` is one of fixed, uniform, triangular, lognormal, exponential."""

    kind: str
    params: tuple[float, ...]


@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated scenario. ``data`` holds the merged sections; use the typed accessors."""

    name: str
    source: str
    data: Mapping[str, Any]

    @functools.cache  # noqa: B019 - scenarios are few and live for the run
    def num(self, section: str, key: str) -> float:
        return float(self.data[section][key])

    @functools.cache  # noqa: B019 - scenarios are few and live for the run
    def count(self, section: str, key: str) -> int:
        return int(self.data[section][key])

    @functools.cache  # noqa: B019 - scenarios are few and live for the run
    def prob(self, section: str, key: str) -> float:
        return float(self.data[section][key])

    @functools.cache  # noqa: B019 - scenarios are few and live for the run
    def table(self, section: str, key: str) -> dict[str, float]:
        return {str(k): float(v) for k, v in self.data[section][key].items()}

    @functools.cache  # noqa: B019 - scenarios are few and live for the run
    def weights(self, section: str, key: str) -> list[float]:
        return [float(v) for v in self.data[section][key]]

    @functools.cache  # noqa: B019 - scenarios are few and live for the run
    def hours(self, section: str, key: str) -> float:
        hh, mm = str(self.data[section][key]).split(":")
        return int(hh) + int(mm) / 60

    @functools.cache  # noqa: B019 - scenarios are few and live for the run
    def day(self, section: str, key: str) -> date:
        value = self.data[section][key]
        return value if isinstance(value, date) else date.fromisoformat(str(value))

    @functools.cache  # noqa: B019 - scenarios are few and live for the run
    def dist(self, section: str, key: str) -> Dist:
        spec = self.data[section][key]
        return Dist(str(spec["dist"]), tuple(float(spec[p]) for p in DISTS[str(spec["dist"])]))

    @functools.cache  # noqa: B019 - scenarios are few and live for the run
    def text(self, section: str, key: str) -> str:
        return str(self.data[section][key])

    @property
    def start(self) -> date:
        value = self.data["start"]
        return value if isinstance(value, date) else date.fromisoformat(str(value))

    @property
    def years(self) -> float:
        return float(self.data["years"])

    @property
    def nationalities(self) -> list[dict[str, Any]]:
        return list(self.data["nationality"])


def scenario_names() -> list[str]:
    """The names of the scenarios shipped in ``miner/data/scenarios``."""
    folder = resources.files("miner") / "data" / "scenarios"
    return sorted(
        p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml") and p.name != "chain.toml"
    )


def _read(ref: str | Path) -> tuple[dict[str, Any], str]:
    path = Path(ref)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ScenarioError(f"{path}: no such scenario file")
        text, source = path.read_text(encoding="utf-8"), str(path)
    else:
        names = scenario_names()
        if str(ref) not in names:
            raise _fail("scenario", str(ref), "is not a shipped scenario", names)
        res = resources.files("miner") / "data" / "scenarios" / f"{ref}.toml"
        text, source = res.read_text(encoding="utf-8"), f"{ref}.toml"
    try:
        return tomllib.loads(text), source
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from exc


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and "dist" not in value:
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_scenario(ref: str | Path = "default") -> Scenario:
    """Read and validate a scenario by shipped name (``"default"``, ``"2023-medio"``) or file path.

    Raises:
        ScenarioError: the file is unknown, not TOML, or breaks :data:`SCHEMA`; the message names the
            key and the allowed values.
    """
    raw, source = _read(ref)
    seen = {source}
    data = raw
    while "base" in data:
        base_ref = str(data["base"])
        base_raw, base_source = _read(base_ref)
        if base_source in seen:
            raise ScenarioError(f"{source}: base chain loops at {base_ref!r}")
        seen.add(base_source)
        rest = {k: v for k, v in data.items() if k != "base"}
        _check_keys(rest, source)
        data = _merge(base_raw, rest)
    _validate(data, source)
    return Scenario(name=str(data.get("name", Path(str(ref)).stem)), source=source, data=data)


def _check_keys(data: Mapping[str, Any], source: str) -> None:
    allowed = set(TOP) | set(SCHEMA) | {"nationality"}
    for key, value in data.items():
        if key not in allowed:
            raise _fail(source, key, "is unknown", allowed)
        if key in SCHEMA:
            if not isinstance(value, dict):
                raise _fail(source, key, "must be a table", SCHEMA[key])
            for sub in value:
                if sub not in SCHEMA[key]:
                    raise _fail(
                        source, f"{key}.{sub}", "is unknown", [f"{key}.{k}" for k in SCHEMA[key]]
                    )


def _validate(data: Mapping[str, Any], source: str) -> None:
    _check_keys(data, source)
    for key, kind in TOP.items():
        if key in data and key != "base":
            _check_value(source, key, data[key], kind)
    for key in ("start", "years"):
        if key not in data:
            raise _fail(source, key, "is missing", list(TOP))
    for section, keys in SCHEMA.items():
        if section not in data:
            raise _fail(source, section, "is missing", list(SCHEMA))
        for key, kind in keys.items():
            if key not in data[section]:
                raise _fail(
                    source, f"{section}.{key}", "is missing", [f"{section}.{k}" for k in keys]
                )
            _check_value(source, f"{section}.{key}", data[section][key], kind)
    nats = data.get("nationality")
    if not isinstance(nats, list) or not nats:
        raise _fail(source, "nationality", "must be a non-empty array of tables", list(NATIONALITY))
    for i, nat in enumerate(nats):
        for key, value in nat.items():
            if key not in NATIONALITY:
                raise _fail(source, f"nationality[{i}].{key}", "is unknown", list(NATIONALITY))
            _check_value(source, f"nationality[{i}].{key}", value, NATIONALITY[key])
        for key in NATIONALITY:
            if key not in nat:
                raise _fail(source, f"nationality[{i}].{key}", "is missing", list(NATIONALITY))
        if nat["names"] not in NAME_GROUPS:
            raise _fail(
                source, f"nationality[{i}].names", f"has value {nat['names']!r}", NAME_GROUPS
            )


def _number(
    source: str, key: str, value: Any, *, low: float = 0.0, high: float | None = None
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError(f"{source}: key {key!r} must be a number, found {value!r}")
    if value < low or (high is not None and value > high):
        span = f"[{low:g}, {high:g}]" if high is not None else f"a number >= {low:g}"
        raise ScenarioError(f"{source}: key {key!r} is {value!r}. Allowed: {span}.")
    return float(value)


def _check_value(source: str, key: str, value: Any, kind: str) -> None:
    if kind in ("nonneg", "count"):
        _number(source, key, value)
        if kind == "count" and int(value) != value:
            raise ScenarioError(
                f"{source}: key {key!r} is {value!r}. Allowed: a whole number >= 0."
            )
    elif kind == "prob":
        _number(source, key, value, high=1.0)
    elif kind == "bool":
        if not isinstance(value, bool):
            raise ScenarioError(f"{source}: key {key!r} must be true or false, found {value!r}")
    elif kind == "str":
        if not isinstance(value, str):
            raise ScenarioError(f"{source}: key {key!r} must be a string, found {value!r}")
    elif kind == "site":
        if value not in SITES:
            raise _fail(source, key, f"has value {value!r}", SITES)
    elif kind == "date":
        if not isinstance(value, date):
            try:
                date.fromisoformat(str(value))
            except ValueError:
                raise ScenarioError(
                    f"{source}: key {key!r} is {value!r}. Allowed: a date YYYY-MM-DD."
                ) from None
    elif kind == "time":
        parts = str(value).split(":")
        ok = len(parts) == 2 and all(p.isdigit() for p in parts)
        if not ok or not (0 <= int(parts[0]) <= 24 and 0 <= int(parts[1]) < 60):
            raise ScenarioError(f"{source}: key {key!r} is {value!r}. Allowed: a clock time HH:MM.")
    elif kind.startswith("weights:"):
        size = int(kind.split(":")[1])
        if not isinstance(value, list) or len(value) != size:
            raise ScenarioError(f"{source}: key {key!r} must be a list of {size} weights >= 0")
        for i, v in enumerate(value):
            _number(source, f"{key}[{i}]", v)
    elif kind in ("sitecounts", "siteprobs") or kind.startswith(("shares:", "counts:")):
        names = SITES if kind.startswith("site") else tuple(kind.split(":")[1].split(","))
        _check_table(source, key, value, names, kind)
    elif kind == "dist":
        _check_dist(source, key, value)


def _check_table(source: str, key: str, value: Any, names: tuple[str, ...], kind: str) -> None:
    if not isinstance(value, dict):
        raise _fail(source, key, "must be a table", names)
    for sub in value:
        if sub not in names:
            raise _fail(source, f"{key}.{sub}", "is unknown", [f"{key}.{n}" for n in names])
    for sub in names:
        if sub not in value:
            raise _fail(source, f"{key}.{sub}", "is missing", [f"{key}.{n}" for n in names])
        high = 1.0 if kind in ("siteprobs",) or kind.startswith("shares:") else None
        _number(source, f"{key}.{sub}", value[sub], high=high)
        if kind in ("sitecounts",) and int(value[sub]) != value[sub]:
            raise ScenarioError(
                f"{source}: key {key}.{sub!r} is {value[sub]!r}. Allowed: a whole number >= 0."
            )
    if kind.startswith("shares:"):
        total = sum(float(v) for v in value.values())
        if abs(total - 1.0) > 1e-6:
            raise ScenarioError(
                f"{source}: shares of key {key!r} sum to {total:g}, not 1. "
                f"Allowed: shares >= 0 over {', '.join(repr(n) for n in names)} summing to 1."
            )


def _check_dist(source: str, key: str, value: Any) -> None:
    if not isinstance(value, dict) or "dist" not in value:
        raise _fail(source, key, "must be a table with 'dist'", DISTS)
    kind = value["dist"]
    if kind not in DISTS:
        raise _fail(source, f"{key}.dist", f"has value {kind!r}", DISTS)
    allowed = ("dist", *DISTS[kind])
    for sub in value:
        if sub not in allowed:
            raise _fail(
                source,
                f"{key}.{sub}",
                f"is unknown for dist {kind!r}",
                [f"{key}.{a}" for a in allowed],
            )
    for sub in DISTS[kind]:
        if sub not in value:
            raise _fail(
                source,
                f"{key}.{sub}",
                f"is missing for dist {kind!r}",
                [f"{key}.{a}" for a in allowed],
            )
        _number(source, f"{key}.{sub}", value[sub])
    params = [float(value[p]) for p in DISTS[kind]]
    if kind in ("uniform", "triangular") and not params == sorted(params):
        raise ScenarioError(
            f"{source}: key {key!r}: need low <= {'mode <= ' if kind == 'triangular' else ''}high"
        )
    if kind == "lognormal" and not 0 < params[0] < params[1]:
        raise ScenarioError(f"{source}: key {key!r}: lognormal needs 0 < median < p90")
