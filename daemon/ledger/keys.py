"""The box's identity and the ledger's keys, all derived from the master key.

::

    master key ──crypto_kdf(8 = AUDIT, "selfdata")──► audit subkey
    audit subkey ──crypto_kdf(id, "sdconsnt")──► 1 Ed25519 seed (the box's signing key)
                                                2 ledger entries (XChaCha20-Poly1305)
                                                3 answers and contribution state
                                                4 names (keyed hashes) of that state

Nothing here is stored: the signing key comes back from the master key, so it survives a
restore with the recovery key, and its public key (published by ``selfdata audit key``)
never changes for the life of the vault.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing

from .. import crypto
from ..errors import InputError
from ..vault import Keys, Purpose

__all__ = ["ConsentKeys", "key_id", "parse_public_key", "public_key_text", "verify_signature"]

_CONTEXT = b"sdconsnt"
_SIGNING, _ENTRIES, _STATE, _NAMES = 1, 2, 3, 4


@dataclass(frozen=True)
class ConsentKeys:
    """The unlocked box's signing key and the keys of the ledger and its companions."""

    signing: nacl.signing.SigningKey
    entries: bytes
    state: bytes
    names: bytes

    def __repr__(self) -> str:  # never print key material
        return "ConsentKeys(<unlocked>)"

    @classmethod
    def of(cls, keys: Keys) -> ConsentKeys:
        audit = keys.subkey(Purpose.AUDIT)
        return cls(
            signing=nacl.signing.SigningKey(crypto.derive_subkey(audit, _SIGNING, _CONTEXT)),
            entries=crypto.derive_subkey(audit, _ENTRIES, _CONTEXT),
            state=crypto.derive_subkey(audit, _STATE, _CONTEXT),
            names=crypto.derive_subkey(audit, _NAMES, _CONTEXT),
        )

    @property
    def public_key(self) -> bytes:
        return bytes(self.signing.verify_key)

    def sign(self, message: bytes) -> bytes:
        return bytes(self.signing.sign(message).signature)

    def name(self, *parts: str | bytes) -> bytes:
        data = b"\0".join(p.encode() if isinstance(p, str) else p for p in parts)
        return crypto.keyed_hash(self.names, data, 16)


def public_key_text(public_key: bytes) -> str:
    """How the public key is published: standard base64 of its 32 bytes."""
    return base64.b64encode(public_key).decode()


def key_id(public_key: bytes) -> str:
    """A short name for a public key: the first 8 bytes of its SHA-256, in hex."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def parse_public_key(text: str) -> bytes:
    """A published key (base64, or 64 hex digits) back to its 32 bytes."""
    cleaned = "".join(str(text).split())
    raw: bytes | None = None
    try:
        if len(cleaned) == 64:
            raw = bytes.fromhex(cleaned)
        elif len(cleaned) in (43, 44):
            raw = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except ValueError:
        raw = None
    if raw is None or len(raw) != 32:
        raise InputError("that is not a box public key: expected 44 base64 characters")
    return raw


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    if not isinstance(signature, bytes) or len(signature) != 64 or len(public_key) != 32:
        return False
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        return False
    return True
