"""Keyed pseudonyms for identifying fields (ARCHITECTURE.md §7).

Scheme (documented in docs/ingest.md so an authorised auditor holding the key can re-identify):

    pseudonym(kind, value) = hex(HMAC-SHA256(key, kind + "\\x1f" + value))[:20]

``kind`` is the field (``v_nummer``) or the partner-id type (``IND-zaak``); ``value`` the value as
linked: a V-nummer as its 10 digits, a partner id stripped of surrounding spaces. Twenty hex digits
are 80 bits: no collision is to be expected below about 10^12 values. The key is read from a file
(``--key-file``) or the environment variable ``MINER_PSEUDONYM_KEY``; miner never writes it
anywhere. The workspace keeps only ``key_check`` (the pseudonym of a fixed text) so that a later
ingest with another key is refused instead of silently splitting every person in two.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from pathlib import Path

from miner.errors import InputError

KEY_ENV = "MINER_PSEUDONYM_KEY"
_MIN_KEY_BYTES = 16
_LENGTH = 20


class PseudonymKey:
    """A secret pseudonymisation key (its bytes are never shown or stored)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < _MIN_KEY_BYTES:
            raise InputError(
                f"the pseudonymisation key has {len(secret)} bytes; at least {_MIN_KEY_BYTES} are "
                "needed (32 random bytes recommended: `head -c 32 /dev/urandom | base64 > key`)."
            )
        self._secret = secret

    def __repr__(self) -> str:
        return "PseudonymKey(<secret>)"

    @classmethod
    def load(cls, key_file: str | Path | None = None) -> PseudonymKey:
        """The key from ``key_file`` (its bytes, one trailing newline removed) or, without a file,
        from the environment variable ``MINER_PSEUDONYM_KEY`` (UTF-8)."""
        if key_file is not None:
            path = Path(key_file)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise InputError(f"{path}: cannot read the key file ({exc.strerror}).") from exc
            return cls(data.removesuffix(b"\n").removesuffix(b"\r"))
        value = os.environ.get(KEY_ENV)
        if not value:
            raise InputError(
                f"ingest needs a pseudonymisation key: pass --key-file FILE or set {KEY_ENV}. "
                "Keep the key apart from the workspace; the same key gives the same pseudonyms "
                "across partners and months."
            )
        return cls(value.encode("utf-8"))

    def pseudonym(self, kind: str, value: str) -> str:
        """The pseudonym of one value (see the module docstring for the exact scheme)."""
        message = f"{kind}\x1f{value}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:_LENGTH]

    def pseudonyms(self, kind: str, values: Iterable[str]) -> dict[str, str]:
        """Pseudonyms of many values at once, by value."""
        return {v: self.pseudonym(kind, v) for v in values}

    @property
    def key_check(self) -> str:
        """A fingerprint of the key, stored in the workspace to refuse a different key later."""
        return self.pseudonym("miner-key-check", "miner")

    @property
    def row_salt(self) -> str:
        """A secret salt for row fingerprints (exact-duplicate detection across deliveries)."""
        return self.pseudonym("miner-row-fingerprint", "miner")
