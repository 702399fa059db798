"""The backup key and the envelope of every object a backup writes.

The store is already ciphertext; a backup seals each object once more, for transport and
rest, under a key derived from the master key::

    backup key = crypto_kdf(master key, id 1, context "sdbackup")

so whoever holds the recovery key (which unwraps the master key) can restore, and no one
else. An object is ``"SDBKUP1\\n"`` followed by a libsodium secretstream (XChaCha20-Poly1305,
64 KiB messages, TAG_FINAL on the last) whose first message's associated data is that
magic and the object's name in the repository: an object renamed, truncated, extended or
edited fails authentication.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator

from .. import crypto
from ..errors import IntegrityError
from ..vault import Keys

__all__ = ["MAGIC", "backup_key", "key_check", "open_object", "seal_object"]

MAGIC = b"SDBKUP1\n"
_CONTEXT = b"sdbackup"


def backup_key(keys: Keys) -> bytes:
    return crypto.derive_subkey(bytes(keys.master), 1, _CONTEXT)


def key_check(key: bytes) -> str:
    """A public fingerprint of the backup key: which box a repository belongs to."""
    return hashlib.blake2b(b"selfdata/backup/v1/check", key=key, digest_size=16).hexdigest()


async def seal_object(key: bytes, name: str, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    sealer = crypto.StreamEncryptor(key, MAGIC + name.encode())
    yield MAGIC
    async for chunk in chunks:
        if out := sealer.update(chunk):
            yield out
    yield sealer.close()


async def open_object(key: bytes, name: str, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    opener = crypto.StreamDecryptor(key, MAGIC + name.encode())
    magic = b""
    try:
        async for data in chunks:
            body = data
            if len(magic) < len(MAGIC):
                need = len(MAGIC) - len(magic)
                magic += body[:need]
                body = body[need:]
                if len(magic) == len(MAGIC) and magic != MAGIC:
                    raise IntegrityError("not a selfdata backup object")
            if body and (out := opener.update(body)):
                yield out
        if magic != MAGIC:
            raise IntegrityError("truncated")
        yield opener.close()
    except IntegrityError as err:
        raise IntegrityError(f"backup object {name} is damaged or was changed ({err})") from None
