"""How a record becomes ciphertext: canonical JSON, and associated data binding it.

The associated data is the record's clear coordinates (keyed hashes and version), so a
ciphertext copied to another row, doctype or version fails authentication.
"""

from __future__ import annotations

import json
import struct
import threading
from collections.abc import Sequence
from typing import Any

import orjson
import zstandard

from .. import crypto
from ..errors import IntegrityError

__all__ = [
    "ad_for",
    "dumps",
    "encode_parsed",
    "open_document",
    "open_json",
    "pack_documents",
    "seal_document",
    "seal_json",
    "seal_packed",
]

_MAX_DOCUMENT = 64 * 1024 * 1024

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def dumps(value: Any) -> bytes:
    """Compact JSON; refuses NaN and infinities, which JSON cannot hold."""
    return _dumps(value).encode("utf-8")


def encode_parsed(value: Any) -> bytes:
    """Compact JSON of a value that came out of a JSON or CSV parser, 20 times faster.

    orjson would write NaN or an infinity as ``null``: callers guarantee there is none
    (orjson's parser refuses them; the CSV coercion keeps non-finite numbers as text).
    """
    return orjson.dumps(value)


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


#: Documents at least this long are stored zstd-compressed (then encrypted) when that
#: makes them smaller: a bank operation shrinks by a third, and so do the bytes written.
COMPRESS_FROM = 128
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # a JSON object starts with "{", never with this
_compressor = threading.local()


def seal_document(key: bytes, plain: bytes, ad: bytes) -> bytes:
    """Encrypt a document's JSON, compressed first when that is shorter."""
    return crypto.aead_encrypt(key, pack_documents([plain])[0], ad)


def pack_documents(plains: Sequence[bytes]) -> list[bytes]:
    """What :func:`seal_document` encrypts, for many documents: zstd in one call.

    That call releases the GIL for the whole batch, so run in a thread it overlaps with
    whatever the event loop does meanwhile (an import parses its next batch); per
    document, each ``compress`` released and retook the GIL, and with SQLite's thread
    busy, retaking it cost more than compressing. Same frames, byte for byte.
    """
    out = list(plains)
    big = [i for i, plain in enumerate(plains) if len(plain) >= COMPRESS_FROM]
    if not big:
        return out
    compressor = _zstd()
    inputs: list[bytes | bytearray | memoryview] = [plains[i] for i in big]
    try:
        if len(inputs) == 1:
            raise NotImplementedError  # one document: no batch to amortise
        frames = compressor.multi_compress_to_buffer(inputs, threads=1)
        packed = [frames[n].tobytes() for n in range(len(frames))]
    except (AttributeError, NotImplementedError):  # zstandard's CFFI backend lacks it
        packed = [compressor.compress(plain) for plain in inputs]
    for i, frame in zip(big, packed, strict=True):
        if len(frame) < len(out[i]):
            out[i] = frame
    return out


def seal_packed(key: bytes, packed: Sequence[bytes], ads: Sequence[bytes]) -> list[bytes]:
    """Encrypt what :func:`pack_documents` made, each bound to its associated data."""
    return crypto.aead_encrypt_many(key, packed, ads)


def open_document(key: bytes, blob: bytes, ad: bytes) -> bytes:
    """A document's JSON bytes (authenticated, decompressed if it was compressed)."""
    plain = crypto.aead_decrypt(key, blob, ad)
    if plain[:4] == _ZSTD_MAGIC:
        try:
            return zstandard.ZstdDecompressor().decompress(plain, max_output_size=_MAX_DOCUMENT)
        except zstandard.ZstdError as err:  # authentic but broken: a bug, not tampering
            raise IntegrityError("a stored document does not decompress") from err
    return plain


def _zstd() -> zstandard.ZstdCompressor:
    compressor: zstandard.ZstdCompressor | None = getattr(_compressor, "value", None)
    if compressor is None:
        compressor = _compressor.value = zstandard.ZstdCompressor(level=1, write_checksum=False)
    return compressor


def seal_json(key: bytes, value: Any, ad: bytes) -> bytes:
    return crypto.aead_encrypt(key, dumps(value), ad)


def open_json(key: bytes, blob: bytes, ad: bytes) -> Any:
    plain = crypto.aead_decrypt(key, blob, ad)
    try:
        return json.loads(plain)
    except ValueError as err:  # authentic but unparsable: a bug, not tampering
        raise IntegrityError("a stored record is not valid JSON") from err
