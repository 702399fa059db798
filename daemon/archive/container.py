"""The passphrase-encrypted envelope of an export: Argon2id, then secretstream.

::

    "selfdata/export-encrypted/v1\\n"        29 bytes, the magic
    N                                        4 bytes, big-endian: length of the header
    header                                   N bytes of JSON (UTF-8), in clear:
        {"kdf": {"alg": "argon2id13", "opslimit": 2, "memlimit": 67108864, "salt": "<hex>"},
         "cipher": "secretstream-xchacha20poly1305", "chunk": 65536,
         "check": "<hex of BLAKE2b-128(key, 'selfdata/export/v1/check')>",
         "payload": "application/x-tar+gzip"}
    secretstream header                      24 bytes
    messages                                 65536 + 17 bytes each; the last one, shorter or
                                             not, carries TAG_FINAL

The key is Argon2id(passphrase, salt) with the parameters of the header (floors and
ceilings enforced as for the vault, so a forged header cannot weaken the KDF or exhaust
a Pi's memory). The first message's associated data is the magic, the length and the
header bytes, so a header edited in any way fails authentication. ``check`` tells a
wrong passphrase from a damaged file (it gives an attacker nothing the first message
would not: both need an Argon2id computation per guess).
"""

from __future__ import annotations

import io
import json
import struct
from typing import BinaryIO

from .. import crypto
from ..errors import InputError, IntegrityError, VaultError, WrongPassphrase
from ..vault import check_passphrase

__all__ = [
    "MAGIC",
    "DecryptingReader",
    "Sealer",
    "is_encrypted",
    "open_encrypted",
]

MAGIC = b"selfdata/export-encrypted/v1\n"
_CHECK = b"selfdata/export/v1/check"
_PAYLOAD = "application/x-tar+gzip"
_MAX_HEADER = 4096
_CHUNK = crypto.STREAM_CHUNK


def is_encrypted(head: bytes) -> bool:
    return head.startswith(MAGIC)


def _key(passphrase: str, kdf: crypto.KdfParams) -> bytes:
    import unicodedata  # noqa: PLC0415 - once per export

    return crypto.passphrase_key(unicodedata.normalize("NFC", passphrase), kdf)


class Sealer:
    """Encrypt a byte stream under a passphrase: ``update`` … ``close``, push-style."""

    def __init__(self, passphrase: str, kdf: crypto.KdfParams) -> None:
        check_passphrase(passphrase)
        key = _key(passphrase, kdf)
        header = json.dumps(
            {
                "kdf": kdf.to_json(),
                "cipher": "secretstream-xchacha20poly1305",
                "chunk": _CHUNK,
                "check": crypto.keyed_hash(key, _CHECK, 16).hex(),
                "payload": _PAYLOAD,
            },
            sort_keys=True,
        ).encode()
        self._prefix = MAGIC + struct.pack(">I", len(header)) + header
        self._stream = crypto.StreamEncryptor(key, self._prefix)

    def update(self, data: bytes) -> bytes:
        out = self._stream.update(data)
        prefix, self._prefix = self._prefix, b""
        return prefix + out

    def close(self) -> bytes:
        prefix, self._prefix = self._prefix, b""
        return prefix + self._stream.close()


def open_encrypted(
    file: BinaryIO, passphrase: str, *, key: bytes | None = None
) -> tuple[DecryptingReader, bytes]:
    """A reader of the plaintext of an encrypted export, and its key (to open it again
    without a second Argon2id run); raises :class:`WrongPassphrase` on a wrong one."""
    magic = file.read(len(MAGIC))
    if magic != MAGIC:
        raise InputError("this is not an encrypted selfdata export")
    raw_len = file.read(4)
    if len(raw_len) != 4:
        raise IntegrityError("the encrypted export is truncated")
    (length,) = struct.unpack(">I", raw_len)
    if length > _MAX_HEADER:
        raise IntegrityError("the encrypted export's header is damaged")
    header_bytes = file.read(length)
    if len(header_bytes) != length:
        raise IntegrityError("the encrypted export is truncated")
    try:
        header = json.loads(header_bytes)
        kdf = crypto.KdfParams.from_json(header["kdf"])
        check = bytes.fromhex(header["check"])
        if (
            header.get("cipher") != "secretstream-xchacha20poly1305"
            or header.get("chunk") != _CHUNK
        ):
            raise IntegrityError("the encrypted export uses an unknown cipher or chunk size")
    except (ValueError, KeyError, TypeError) as err:
        raise IntegrityError("the encrypted export's header is damaged") from err
    except VaultError as err:  # KDF parameters out of bounds: refused, never run
        raise IntegrityError(f"the encrypted export's header is refused: {err}") from err
    if key is None:
        key = _key(passphrase, kdf)
    if crypto.keyed_hash(key, _CHECK, 16) != check:
        raise WrongPassphrase("wrong passphrase for this export")
    prefix = magic + raw_len + header_bytes
    return DecryptingReader(file, crypto.StreamDecryptor(key, prefix)), key


class DecryptingReader(io.RawIOBase):
    """The decrypted bytes of a secretstream, read on demand (a file-like object)."""

    def __init__(self, file: BinaryIO, opener: crypto.StreamDecryptor) -> None:
        self._file = file
        self._opener = opener
        self._buffer = bytearray()
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._buffer and not self._done:
            data = self._file.read(_CHUNK + 17)
            if data:
                self._buffer += self._opener.update(data)
            else:
                self._buffer += self._opener.close()  # raises if truncated
                self._done = True
        n = min(len(buffer), len(self._buffer))
        buffer[:n] = self._buffer[:n]
        del self._buffer[:n]
        return n
