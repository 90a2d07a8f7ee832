"""The report's data files (``miner/data/report/``): the message catalogues ``nl.toml`` and
``en.toml`` (every text the report shows, and the definition of every metric) and ``layout.toml``
(lane colours, how many rows a chart shows). Read once per process."""

from __future__ import annotations

import hashlib
import tomllib
from functools import cache
from importlib import resources
from typing import Any

from miner.errors import UnknownNameError

LANGUAGES = ("en", "nl")


def _text(name: str) -> str:
    return (resources.files("miner") / "data" / "report" / name).read_text("utf-8")


@cache
def layout() -> dict[str, Any]:
    """``layout.toml`` as a dict."""
    return tomllib.loads(_text("layout.toml"))


SUBJECTS = ("foreigners", "cases")


@cache
def catalogue(lang: str, subject: str = "foreigners") -> dict[str, Any]:
    """The message catalogue of ``lang`` (``nl`` or ``en``). For ``subject = "cases"`` (a log
    without the chain catalogue, whose cases are no foreigners) every text is rewritten with the
    catalogue's own ``[subject] cases`` replacements (pairs of old and new text), in order."""
    if lang not in LANGUAGES:
        raise UnknownNameError("report language", lang, LANGUAGES)
    if subject not in SUBJECTS:
        raise UnknownNameError("report subject", subject, SUBJECTS)
    texts: dict[str, Any] = tomllib.loads(_text(f"{lang}.toml"))
    replacements = texts.pop("subject", {}).get(subject, [])
    return _rewritten(texts, tuple((old, new) for old, new in replacements)) \
        if subject != "foreigners" else texts


def _rewritten(value: Any, replacements: tuple[tuple[str, str], ...]) -> Any:
    if isinstance(value, dict):
        return {k: _rewritten(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewritten(v, replacements) for v in value]
    if isinstance(value, str):
        for old, new in replacements:
            value = value.replace(old, new)
    return value


def package_file_sha256(*parts: str) -> str:
    """The SHA-256 of a file shipped under ``miner/`` (e.g. ``data``, ``norms.toml``)."""
    node = resources.files("miner")
    for part in parts:
        node = node / part
    return hashlib.sha256(node.read_bytes()).hexdigest()
