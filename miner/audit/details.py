"""The detail texts of findings in the audit's language.

The conformance check (:mod:`miner.conformance`) writes each deviation's ``detail`` in English, and
so it stays in every stored result (``conformance.json``, ``deviations.parquet``, the CSV annex,
``FILE.results.json``): those are the canonical evidence. The audit HTML shows it in the page's
language, translated when the page is rendered with the pattern table ``[[audit.details]]`` of the
message catalogue (``miner/data/report/nl.toml``); a catalogue with an empty table (``en.toml``:
``details = []``) or none shows the texts as they are.

Terms:

- **pattern**: one entry of the table: ``en``, an English detail with named placeholders
  (``"event {at} of {n}; the model has it before event {expected}"``), and its translation with
  the same placeholders. A placeholder stands for any non-empty text (a number, a date, an
  organisation); the translation puts it back unchanged (dates stay ISO, YYYY-MM-DD).
- **nested detail**: the placeholder ``{detail}`` stands for another detail text, translated itself
  by the same table (the before-data suffix: ``"{detail}, before the data of this step begins
  ({start})"`` combines with the detail it follows). It is translated only when that text is.
- **order**: the patterns are tried in table order and the first that matches the *whole* text
  wins, so a more specific pattern goes before a more general one (``"{a} -> {b} stayed with
  {org}"`` before ``"{source} -> {target}"``).
- **unknown text**: one that no pattern matches (an unexpected alignment reason, a text a newer
  check writes) is shown unchanged, never half translated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from miner.errors import InputError
from miner.report.datafiles import catalogue

#: The placeholder whose text is itself a detail, translated by the same table.
NESTED = "detail"
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class DetailPattern:
    """One compiled entry of the table: the English text as a regex and its translation."""

    english: str
    regex: re.Pattern[str]
    translation: str


def compile_patterns(entries: Sequence[Mapping[str, Any]], lang: str) -> tuple[DetailPattern, ...]:
    """The entries (each ``en`` and ``lang``) compiled, in order.

    Raises:
        InputError: an entry lacks a text, repeats a placeholder in ``en``, or its translation
            uses a placeholder that ``en`` does not have.
    """
    compiled = []
    for i, entry in enumerate(entries, 1):
        english, translation = entry.get("en"), entry.get(lang)
        if not isinstance(english, str) or not english or not isinstance(translation, str):
            raise InputError(f"[[audit.details]] entry {i}: needs the texts 'en' and '{lang}'")
        names = _PLACEHOLDER.findall(english)
        if len(set(names)) != len(names):
            raise InputError(f"[[audit.details]] entry {i} ({english!r}): a placeholder twice")
        unknown = set(_PLACEHOLDER.findall(translation)) - set(names)
        if unknown:
            raise InputError(f"[[audit.details]] entry {i} ({english!r}): the translation uses "
                             f"{', '.join(sorted(unknown))}, which the English text does not have")
        parts = _PLACEHOLDER.split(english)  # literal, name, literal, name, ..., literal
        source = "".join(re.escape(p) if k % 2 == 0 else f"(?P<{p}>.+?)"
                         for k, p in enumerate(parts))
        compiled.append(DetailPattern(english, re.compile(source, re.DOTALL), translation))
    return tuple(compiled)


@cache
def patterns(lang: str) -> tuple[DetailPattern, ...]:
    """The compiled table of ``lang``'s catalogue (empty when it has none: English). Compiled once
    per process."""
    return compile_patterns(catalogue(lang).get("audit", {}).get("details", ()), lang)


def translated(text: str, table: Sequence[DetailPattern]) -> str | None:
    """``text`` translated by the first pattern of ``table`` that matches it whole, or None when
    none does (nor, for a nested detail, the text inside)."""
    for p in table:
        match = p.regex.fullmatch(text)
        if match is None:
            continue
        values = match.groupdict()
        if NESTED in values:
            inner = translated(values[NESTED], table)
            if inner is None:
                continue
            values[NESTED] = inner
        return _fill(p.translation, values)
    return None


def _fill(template: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def detail_text(text: str | None, lang: str) -> str | None:
    """``text`` (a finding's English detail) as the audit in ``lang`` shows it: translated by
    ``lang``'s table, or unchanged when the table has no pattern for it (or ``lang`` no table)."""
    if text is None:
        return None
    table = patterns(lang)
    if not table:
        return text
    found = translated(text, table)
    return text if found is None else found


def untranslated(texts: Sequence[str | None], lang: str) -> list[str]:
    """The distinct ``texts`` that ``lang``'s table does not translate, sorted (for checking that
    the table covers what a conformance result holds)."""
    table = patterns(lang)
    return sorted({t for t in texts if t is not None and translated(t, table) is None})
