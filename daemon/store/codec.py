"""How a record becomes ciphertext: canonical JSON, and associated data binding it.

The associated data is the record's clear coordinates (keyed hashes and version), so a
ciphertext copied to another row, doctype or version fails authentication.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from .. import crypto
from ..errors import IntegrityError

__all__ = ["ad_for", "dumps", "open_json", "seal_json"]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def dumps(value: Any) -> bytes:
    return _dumps(value).encode("utf-8")


def ad_for(kind: bytes, *coordinates: bytes | int) -> bytes:
    parts = [kind]
    for c in coordinates:
        if isinstance(c, bytes):
            parts.append(c)
        elif isinstance(c, int) and -(2**63) <= c < 2**63:
            parts.append(struct.pack("<q", c))
        else:  # SQLite columns are dynamically typed: a row rewritten with another type
            raise IntegrityError("a stored record has a malformed column")
    return b"\0".join(parts)


def seal_json(key: bytes, value: Any, ad: bytes) -> bytes:
    return crypto.aead_encrypt(key, dumps(value), ad)


def open_json(key: bytes, blob: bytes, ad: bytes) -> Any:
    plain = crypto.aead_decrypt(key, blob, ad)
    try:
        return json.loads(plain)
    except ValueError as err:  # authentic but unparsable: a bug, not tampering
        raise IntegrityError("a stored record is not valid JSON") from err
