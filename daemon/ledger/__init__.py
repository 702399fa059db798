"""The consent ledger: a hash-chained, signed record of everything that leaves the box.

**The one function other features call**::

    from selfdata import ledger
    await ledger.append(box, "export", {"what": "all", "to": "usb", "summary": "…"})

``append(box, kind, details)`` records one event — a share, an export or backup, an app
permission, an answer, a contribution — and returns its seq (``None`` when the box is
locked: the entry is then sealed to the vault's public key and chained at the next
ledger operation after unlocking). ``kind`` is a short lower-case word (``export``,
``backup``, ``restore``, ``share``, ``permission``, ``answer``, ``contribution``…);
``details`` is a JSON object of at most 64 KiB, encrypted at rest; a ``summary`` string
in it is what the owner sees in plain words (``selfdata audit list``, the web UI).
Bad input raises :class:`~selfdata.errors.InputError`.

Each entry is chained to the one before with BLAKE2b and signed with the box's Ed25519
key (derived from the master key, so it survives a restore); ``selfdata audit verify``
finds any edit, insertion, deletion or reordering. docs/ledger.md has the format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..box import Box
from .chain import Verdict
from .keys import ConsentKeys, key_id, parse_public_key, public_key_text
from .log import Entry, Ledger, parse_witness

__all__ = [
    "ConsentKeys",
    "Entry",
    "Ledger",
    "Verdict",
    "append",
    "key_id",
    "parse_public_key",
    "parse_witness",
    "public_key_text",
]


async def append(box: Box, kind: str, details: Mapping[str, Any]) -> int | None:
    """Record ``kind`` with ``details`` in the box's ledger (see the module's docstring)."""
    return await Ledger(box).append(kind, details)
