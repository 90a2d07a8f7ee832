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


@cache
def catalogue(lang: str) -> dict[str, Any]:
    """The message catalogue of ``lang`` (``nl`` or ``en``)."""
    if lang not in LANGUAGES:
        raise UnknownNameError("report language", lang, LANGUAGES)
    return tomllib.loads(_text(f"{lang}.toml"))


def package_file_sha256(*parts: str) -> str:
    """The SHA-256 of a file shipped under ``miner/`` (e.g. ``data``, ``norms.toml``)."""
    node = resources.files("miner")
    for part in parts:
        node = node / part
    return hashlib.sha256(node.read_bytes()).hexdigest()
